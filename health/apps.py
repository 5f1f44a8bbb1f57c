"""Health connects: demo_org_seeded (accounts: give a demo organization its health models),
and its own health_run_completed (tonight's run done: compute each model's fitness for the
model page in the background). It offers health_run_completed (health/signals.py), which
triggers takes."""

from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"

    def ready(self):
        from accounts.signals import demo_org_seeded

        from .signals import health_run_completed

        demo_org_seeded.connect(_demo_models, dispatch_uid="health-demo-models")
        health_run_completed.connect(_fitness_after_run, dispatch_uid="health-fitness-after-run")


def _demo_models(sender, organization, **kwargs):
    """A demo organization gets a default health model and one per persona."""
    from .demo import health_models_create_defaults

    created = health_models_create_defaults(org=organization)
    return f"{len(created)} health models"


def _fitness_after_run(sender, organization_id, date, state, **kwargs):
    """After tonight's run (not a backfill's past days), queue each model's fitness snapshot
    for the day, so the model page reads it instead of computing it."""
    from orgs.models import Organization
    from orgs.tenancy import org_context
    from orgs.timezones import org_today

    from .selectors import health_models
    from .services import fitness_snapshot_request

    org = Organization.objects.filter(pk=organization_id).first()
    if org is None or date != org_today(org):
        return
    with org_context(org):
        for model in health_models():
            fitness_snapshot_request(model=model, day=date)
