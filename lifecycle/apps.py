"""Lifecycle connects: trigger_run_starting (triggers: the night's scores are in and the
triggers come next, so the stages and activation are brought up to date in between, and the
triggers read them) and demo_org_seeded (accounts: the demo's journey triggers)."""

from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "lifecycle"

    def ready(self):
        from accounts.signals import demo_org_seeded
        from triggers.signals import trigger_run_starting

        trigger_run_starting.connect(_before_triggers, dispatch_uid="lifecycle-before-triggers")
        demo_org_seeded.connect(_demo_journey, dispatch_uid="lifecycle-demo-journey")


def _before_triggers(sender, organization_id, date, is_demo=False, **kwargs):
    from .services import lifecycle_night_run

    lifecycle_night_run(org_id=organization_id, day=date, is_demo=is_demo)


def _demo_journey(sender, organization, **kwargs):
    from .services import lifecycle_demo_create

    made = lifecycle_demo_create(org=organization)
    return f"{made['triggers']} lifecycle triggers"
