"""Celery entry points of the nightly health pipeline: thin, ids in, one service call each.
Reliability options and why: csplatform/celery.py; a poison chunk is stopped by its attempt counter
(health/services/pipeline.py); the nightly start expires after 6 h, so a night that could not
start by morning is skipped rather than run in the middle of the day.
"""

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from accounts.services import usage_partitions_maintain
from csplatform.celery import NIGHTLY_TASK_OPTIONS
from csplatform.db.partitions import monthly_partitions_ensure
from orgs.models import Organization

from . import services
from .models import HealthScore
from .selectors import org_today

logger = logging.getLogger(__name__)


@shared_task(name="health.start_run", **NIGHTLY_TASK_OPTIONS)
def health_start_run(org_id: int, day: str, replace: bool = False) -> int:
    org = Organization.objects.get(pk=org_id)
    try:
        run, chunk_ids = services.health_run_start(
            org=org, day=dt.date.fromisoformat(day), replace=replace
        )
    except services.NightRunning as exc:
        logger.warning("%s", exc)
        return 0
    return len(chunk_ids)


@shared_task(name="health.score_chunk", **NIGHTLY_TASK_OPTIONS)
def health_score_chunk(chunk_id: int) -> str:
    state, _ = services.health_chunk_process(chunk_id=chunk_id)
    return state


@shared_task(name="health.finish_run", **NIGHTLY_TASK_OPTIONS)
def health_finish_run(run_id: int) -> str:
    return services.health_run_finish(run_id=run_id).state


@shared_task(name="health.nightly", acks_late=True, time_limit=300, expires=6 * 3600)
def health_nightly() -> int:
    """Beat's entry: the usage and score tables' coming months first (DDL, so no chunk waits on it;
    a no-op when accounts.usage_partitions_maintain ran before the night as scheduled), then
    today's run for every organization (its own local date)."""
    try:
        usage_partitions_maintain(
            today=timezone.now().date(),
            months_ahead=settings.USAGE_PARTITION_MONTHS_AHEAD,
            retention_days=None,  # the roll-up is the scheduled task's: it may take minutes
        )
        monthly_partitions_ensure(
            table=HealthScore._meta.db_table,
            column="date",
            today=timezone.now().date(),
            months_ahead=settings.USAGE_PARTITION_MONTHS_AHEAD,
        )
    except DatabaseError:
        # Scoring does not need it (DEFAULT takes a month without its partition): log, go on.
        logger.exception("monthly partitions: creating ahead failed; scoring anyway")
    orgs = list(Organization.objects.all())
    for org in orgs:
        health_start_run.delay(org.pk, org_today(org).isoformat())
    return len(orgs)


@shared_task(name="health.fitness_compute", acks_late=True, soft_time_limit=300, time_limit=360)
def health_fitness_compute(snapshot_id: int) -> str:
    """A model's fitness or weight suggestion for one day, in the background (the model page
    reads the row it writes)."""
    return services.fitness_snapshot_compute(snapshot_id=snapshot_id).state
