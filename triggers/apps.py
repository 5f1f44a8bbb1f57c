from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"

    def ready(self):
        from health.signals import health_run_completed

        health_run_completed.connect(_after_scoring, dispatch_uid="triggers-after-scoring")


def _after_scoring(sender, organization_id, date, state, **kwargs):
    """Health offers the hook; triggers take the next stage of the nightly chain."""
    from .tasks import triggers_run_nightly

    triggers_run_nightly.delay(organization_id, date.isoformat())
