"""Playbooks connects: account_owner_changed (accounts: the open playbooks and steps follow the
account to its new owner) and accounts_churned (accounts: cancel the churned accounts' open
playbooks)."""

from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "playbooks"

    def ready(self):
        from accounts.signals import account_owner_changed, accounts_churned

        account_owner_changed.connect(_handover, dispatch_uid="playbooks-handover")
        accounts_churned.connect(_churned, dispatch_uid="playbooks-cancel-for-churn")
        from health.events import chart_event_source

        chart_event_source(_chart_events)


def _handover(sender, account, previous_owner_id, acting_user, **kwargs):
    """Accounts offers the hook; the playbooks layer moves what was open."""
    from .services import playbooks_handover

    playbooks_handover(
        account_id=account.pk,
        previous_owner_id=previous_owner_id,
        owner_id=account.owner_id,
        acting_user_id=getattr(acting_user, "pk", None),
    )


def _churned(sender, organization_id, churns, acting_user, **kwargs):
    """Accounts offers the hook; the playbooks layer cancels what the churned accounts had open."""
    from .services import playbooks_cancel_for_churn

    playbooks_cancel_for_churn(
        organization_id=organization_id, churns=churns, acting_user=acting_user
    )


def _chart_events(account, first, last) -> list[dict]:
    """Health offers the chart's hook; playbooks says when the account's opened and closed."""
    from .selectors import playbook_chart_events

    return playbook_chart_events(account=account, first=first, last=last)
