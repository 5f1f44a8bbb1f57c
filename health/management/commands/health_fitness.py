"""Print each health model's fitness against the last 12 months of churn, as JSON: the model's
AUC and churn per band, each indicator's own AUC and coverage, with sample sizes, and suggested
weights; `overall` is every model's scores together. One rule (health.selectors.model_fitness,
the same as the model page's and the API's): only churn after the scored day, only accounts
with at least the lead of history."""

import json
import time

from health.selectors import (
    health_models,
    model_fitness,
    model_weight_suggestion,
)
from orgs.cli import ProjectCommand, org_by_slug, whole_number
from orgs.tenancy import org_context


class Command(ProjectCommand):
    help = (
        "Fitness of every health model of an organization (AUC, churn per band, each "
        "indicator's AUC and coverage, suggested weights) as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument(
            "--lead", default="90", help="lead time in days of the weight suggestion (30-365)"
        )
        parser.add_argument(
            "--no-suggest", action="store_true", help="leave the weight suggestion out"
        )

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        lead = whole_number("--lead", opts["lead"], 30, 365)
        with org_context(org):
            models = {}
            for model in health_models():
                started = time.perf_counter()
                entry = {"version": model.version, **model_fitness(org=org, model=model)}
                if not opts["no_suggest"]:
                    entry["suggestion"] = model_weight_suggestion(org=org, model=model, lead=lead)
                entry["seconds"] = round(time.perf_counter() - started, 3)
                models[model.name] = entry
            out = {"organization": org.slug, "overall": model_fitness(org=org), "models": models}
        self.stdout.write(json.dumps(out, indent=2, default=str))
