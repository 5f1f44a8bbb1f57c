"""Reports connects trigger_run_completed (triggers: the night's trigger stage is done) to
refresh the day's facts, in this process when the chain ran in the foreground, else as a
task; and demo_org_seeded (accounts) to give a demo organization its report goals. Nothing
imports reports; it reads every layer below."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self):
        from accounts.signals import demo_org_seeded
        from triggers.signals import trigger_run_completed

        trigger_run_completed.connect(_after_triggers, dispatch_uid="reports-facts-refresh")
        demo_org_seeded.connect(_demo_goals, dispatch_uid="reports-demo-goals")


def _after_triggers(sender, organization_id, date, inline=False, **kwargs):
    if inline:
        from .services import facts_refresh

        facts_refresh(org=organization_id, day=date)
        return
    from csplatform.celery import enqueue

    enqueue("reports.facts_refresh", organization_id, date.isoformat())


def _demo_goals(sender, organization, **kwargs):
    from .demo import demo_report_settings_create

    made = demo_report_settings_create(org=organization)
    return f"report goals and {made - 1} coverage goals per persona" if made else ""
