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


@shared_task(name="accounts.usage_partitions_maintain", acks_late=True, time_limit=3000)
def usage_partitions_maintain() -> dict:
    """Before the night: the usage table's partitions ahead, and the raw usage retention's
    roll-up of whole old months (accounts.services.usage_partitions_maintain)."""
    from django.conf import settings
    from django.utils import timezone

    from . import services

    return services.usage_partitions_maintain(
        today=timezone.now().date(),
        months_ahead=settings.USAGE_PARTITION_MONTHS_AHEAD,
        retention_days=settings.USAGE_RAW_RETENTION_DAYS,
    ).as_dict()
