"""Celery entry points of the portfolio: thin, they take ids and call one service."""

from celery import shared_task

from orgs.models import Organization


@shared_task(
    name="accounts.portfolio_refresh",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=600,
    time_limit=900,
)
def portfolio_refresh(org_id: int) -> dict:
    """Recompute account rollups (MRR, renewal date) and persona membership for one org; a
    persona whose rules fail is skipped and listed under "problems"."""
    from . import services

    org = Organization.objects.get(pk=org_id)
    updated = services.account_rollups_refresh(org=org)
    personas = services.persona_assign_all(org=org)
    return {
        "org": org.slug,
        "accounts": updated,
        "personas": personas.counts,
        "problems": personas.problems,
    }


@shared_task(name="accounts.portfolio_refresh_all", acks_late=True, time_limit=300)
def portfolio_refresh_all() -> int:
    """Fan out one portfolio_refresh per organization."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in ids:
        portfolio_refresh.delay(org_id)
    return len(ids)
