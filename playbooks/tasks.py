"""Celery entry points of playbooks: thin, ids in, one service call each."""

from celery import shared_task

from csplatform.celery import NIGHTLY_TASK_OPTIONS
from orgs.models import Organization

from . import services


@shared_task(name="playbooks.send_digest", **NIGHTLY_TASK_OPTIONS)
def playbooks_send_digest(org_id: int) -> int:
    """The email digest of an organization's unsent notifications (after the night's
    triggers, which queue it)."""
    return services.notifications_send_digest(org=Organization.objects.get(pk=org_id))
