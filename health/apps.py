"""Health connects: demo_org_seeded (accounts: give a demo organization its health models).
It offers health_run_completed (health/signals.py), which triggers takes."""

from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"

    def ready(self):
        from accounts.signals import demo_org_seeded

        demo_org_seeded.connect(_demo_models, dispatch_uid="health-demo-models")


def _demo_models(sender, organization, **kwargs):
    """A demo organization gets a default health model and one per persona."""
    from .demo import health_models_create_defaults

    created = health_models_create_defaults(org=organization)
    return f"{len(created)} health models"
