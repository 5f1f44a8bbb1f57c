"""Celery entry points of surveys: thin, ids in, one service call each."""

from celery import shared_task

from csplatform.celery import NIGHTLY_TASK_OPTIONS
from orgs.models import Organization

from . import services


@shared_task(name="surveys.send", **NIGHTLY_TASK_OPTIONS)
def surveys_send(org_id: int, campaign_id: int | None = None) -> int:
    """Send what an organization's campaigns are due (beat's daily entry queues one per
    organization)."""
    org = Organization.objects.get(pk=org_id)
    return services.surveys_send(org=org, campaign_id=campaign_id).sent


@shared_task(name="surveys.send_all", acks_late=True, time_limit=300, expires=6 * 3600)
def surveys_send_all() -> int:
    """Beat's entry: one surveys.send per organization."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in ids:
        surveys_send.delay(org_id)
    return len(ids)


@shared_task(name="surveys.rescore_account", **NIGHTLY_TASK_OPTIONS)
def surveys_rescore_account(org_id: int, account_id: int) -> int:
    """An answer came in: the account's health for today again."""
    return services.account_rescore(org_id=org_id, account_id=account_id)
