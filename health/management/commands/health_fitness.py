"""Print each health model's fitness against the last 12 months of churn, as JSON."""

import json

from health.selectors import health_models, model_fitness
from orgs.cli import ProjectCommand, org_by_slug
from orgs.tenancy import org_context


class Command(ProjectCommand):
    help = "Fitness of every health model of an organization (AUC, churn per band) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        with org_context(org):
            out = {
                "organization": org.slug,
                "overall": model_fitness(org=org),
                "models": {
                    model.name: model_fitness(org=org, model=model) for model in health_models()
                },
            }
        self.stdout.write(json.dumps(out, indent=2, default=str))
