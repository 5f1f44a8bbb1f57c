"""Celery entry points of the nightly health pipeline: thin, ids in, one service call each.

Reliability settings, and why:
- acks_late + reject_on_worker_lost: a chunk whose worker dies mid-way is not acknowledged, so
  Redis redelivers it (after the broker's visibility timeout, 1 h) to another worker.
- the chunk's attempt counter (health/services.py) stops a poison chunk from looping forever.
- time limits (soft 10 min, hard 12 min) stay well under the visibility timeout, so a slow
  chunk is killed and retried rather than redelivered while still running elsewhere.
- retries only for transient database errors (OperationalError), with backoff.
- the nightly start expires after 6 h: a night that could not start by morning is skipped,
  not run in the middle of the day.
"""

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from orgs.models import Organization

_CHUNK_OPTIONS = dict(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=600,
    time_limit=720,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)


@shared_task(name="health.start_run", **_CHUNK_OPTIONS)
def health_start_run(org_id: int, day: str, replace: bool = False) -> int:
    from . import services

    org = Organization.objects.get(pk=org_id)
    run, chunk_ids = services.health_run_start(
        org=org, day=dt.date.fromisoformat(day), replace=replace
    )
    return len(chunk_ids)


@shared_task(name="health.score_chunk", **_CHUNK_OPTIONS)
def health_score_chunk(chunk_id: int) -> str:
    from . import services

    state, _ = services.health_chunk_process(chunk_id=chunk_id)
    return state


@shared_task(name="health.finish_run", **_CHUNK_OPTIONS)
def health_finish_run(run_id: int) -> str:
    from . import services

    return services.health_run_finish(run_id=run_id).state


@shared_task(name="health.nightly", acks_late=True, time_limit=300, expires=6 * 3600)
def health_nightly() -> int:
    """Beat's entry: start today's run for every organization (its own local date)."""
    from .selectors import org_today

    orgs = list(Organization.objects.all())
    for org in orgs:
        health_start_run.delay(org.pk, org_today(org).isoformat())
    return len(orgs)
