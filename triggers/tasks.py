"""Celery entry points of triggers: thin, ids in, one service call each.

The nightly chain: health's last chunk finishes the run and sends health_run_completed; the
receiver (triggers/apps.py) queues `triggers.run_nightly` for that organization and day, which
queues one `triggers.evaluate_run_chunk` per TriggerRunChunk row (the health run's account
ranges); the chunk that closes the run queues the digest (`triggers.send_digest`) and, on day
1, the monthly run. Every step is idempotent (chunk rows taken with SKIP LOCKED, unique
firings, locked materialization), so a redelivery, the sweeper's copy or a second start of the
same night creates nothing twice. `triggers.nightly_sweep` (beat, csplatform/schedules.py)
sends whatever the rows say is owed and was lost.
"""

import datetime as dt

from celery import shared_task
from django.conf import settings

from csplatform.celery import NIGHTLY_TASK_OPTIONS

from . import services


@shared_task(name="triggers.run_nightly", **NIGHTLY_TASK_OPTIONS)
def triggers_run_nightly(org_id: int, day: str) -> int:
    return services.trigger_run_start(org_id=org_id, day=dt.date.fromisoformat(day))


@shared_task(name="triggers.evaluate_run_chunk", **NIGHTLY_TASK_OPTIONS)
def triggers_evaluate_run_chunk(chunk_id: int) -> int:
    return services.trigger_run_chunk(chunk_id=chunk_id)


@shared_task(name="triggers.send_digest", **NIGHTLY_TASK_OPTIONS)
def triggers_send_digest(org_id: int, day: str) -> int:
    return services.trigger_run_digest(org_id=org_id, day=dt.date.fromisoformat(day))


@shared_task(name="triggers.monthly", **NIGHTLY_TASK_OPTIONS)
def triggers_monthly(org_id: int, day: str) -> int:
    return services.trigger_run_monthly(org_id=org_id, day=dt.date.fromisoformat(day))


# Not retried and short-lived: the next sweep comes in NIGHTLY_SWEEP_SECONDS anyway.
@shared_task(
    name="triggers.nightly_sweep",
    acks_late=True,
    soft_time_limit=840,
    time_limit=900,
    expires=settings.NIGHTLY_SWEEP_SECONDS,
)
def triggers_nightly_sweep() -> int:
    return len(services.nightly_sweep(older_than=settings.NIGHTLY_SWEEP_OLDER_THAN)["actions"])
