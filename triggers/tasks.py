"""Celery entry points of triggers: thin, ids in, one service call each.

The nightly chain: health's last chunk finishes the run and sends health_run_completed; the
receiver (triggers/apps.py) queues `triggers.run_nightly` for that organization and day, which
queues one `triggers.evaluate_chunk` per range of account ids (the health run's chunks); the
chunk that completes the set queues the notification digest (`playbooks.send_digest`) and, on
day 1, the monthly run. Every step is idempotent (unique firings, locked materialization), so a
redelivery or a second start of the same night creates nothing twice.
"""

import datetime as dt

from celery import shared_task

from csplatform.celery import NIGHTLY_TASK_OPTIONS

from . import services


@shared_task(name="triggers.run_nightly", **NIGHTLY_TASK_OPTIONS)
def triggers_run_nightly(org_id: int, day: str) -> int:
    return services.trigger_run_start(org_id=org_id, day=dt.date.fromisoformat(day))


@shared_task(name="triggers.evaluate_chunk", **NIGHTLY_TASK_OPTIONS)
def triggers_evaluate_chunk(run_id: int, index: int, first_id: int, last_id: int) -> int:
    return services.trigger_run_chunk(
        run_id=run_id, index=index, first_id=first_id, last_id=last_id
    )


@shared_task(name="triggers.monthly", **NIGHTLY_TASK_OPTIONS)
def triggers_monthly(org_id: int, day: str) -> int:
    return services.trigger_run_monthly(org_id=org_id, day=dt.date.fromisoformat(day))
