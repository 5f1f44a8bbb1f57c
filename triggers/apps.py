"""Triggers connects: health_run_completed (health: the night's scores are in, evaluate the
triggers), demo_org_seeded (accounts: give a demo organization templates and triggers),
accounts_churned (accounts: close the churned accounts' pending alerts) and
account_owner_changed (accounts: the account's pending alerts follow it to its new owner). It offers
trigger_run_completed (triggers/signals.py), which reports takes."""

from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"

    def ready(self):
        from accounts.signals import account_owner_changed, accounts_churned, demo_org_seeded
        from health.signals import health_run_completed

        health_run_completed.connect(_after_scoring, dispatch_uid="triggers-after-scoring")
        demo_org_seeded.connect(_demo_triggers, dispatch_uid="triggers-demo-configuration")
        accounts_churned.connect(_churned, dispatch_uid="triggers-close-alerts-for-churn")
        account_owner_changed.connect(_handover, dispatch_uid="triggers-alerts-handover")


def _after_scoring(sender, organization_id, date, state, **kwargs):
    """Health offers the hook; triggers take the next stage of the nightly chain, for a day
    scored in full. A broker down now loses nothing: the sweeper finds the DONE chained health
    run without its trigger run and starts it."""
    from csplatform.celery import enqueue_or_log
    from health.models import RunState

    if state == RunState.DONE:
        enqueue_or_log("triggers.run_nightly", organization_id, date.isoformat())


def _demo_triggers(sender, organization, **kwargs):
    """A demo organization gets playbook templates and triggers for its personas."""
    from .demo import demo_configuration_create

    made = demo_configuration_create(org=organization)
    return f"{made['templates']} playbook templates, {made['triggers']} triggers"


def _churned(sender, organization_id, churns, acting_user, **kwargs):
    """Accounts offers the hook; triggers close the churned accounts' pending alerts."""
    from .services import alerts_close_for_churn

    alerts_close_for_churn(organization_id=organization_id, churns=churns, acting_user=acting_user)


def _handover(sender, account, previous_owner_id, acting_user, **kwargs):
    """Accounts offers the hook; triggers hand the account's pending alerts over."""
    from .services import alerts_handover

    alerts_handover(
        account_id=account.pk, previous_owner_id=previous_owner_id, owner_id=account.owner_id
    )
