from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"

    def ready(self):
        from accounts.signals import demo_org_seeded
        from health.signals import health_run_completed

        health_run_completed.connect(_after_scoring, dispatch_uid="triggers-after-scoring")
        demo_org_seeded.connect(_demo_triggers, dispatch_uid="triggers-demo-configuration")


def _after_scoring(sender, organization_id, date, state, **kwargs):
    """Health offers the hook; triggers take the next stage of the nightly chain."""
    from .tasks import triggers_run_nightly

    triggers_run_nightly.delay(organization_id, date.isoformat())


def _demo_triggers(sender, organization, **kwargs):
    """A demo organization gets playbook templates and triggers for its personas."""
    from .demo import demo_configuration_create

    made = demo_configuration_create(org=organization)
    return f"{made['templates']} playbook templates, {made['triggers']} triggers"
