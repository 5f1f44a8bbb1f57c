"""The lease every nightly chunk works under (health's scoring chunks, triggers' evaluation
chunks: the same fields, the same rules), and the sweep that finds the chunks whose hand-off
was lost or whose worker died.

A chunk row is open (state running) until a worker closes it done or failed:
- queued: `queued_at` set, `started_at` empty. Its task was sent (or was to be sent once the
  transaction committed: a broker down at that moment loses the message, the row stays);
- started: a worker counted an attempt and took a lease of `lease_seconds()` (the task's hard
  time limit, so Celery has killed a task that outlives it). A scoring chunk's worker then
  holds the chunk's row lock (SELECT ... FOR UPDATE) in the transaction that does the work and
  closes it; a trigger chunk evaluates outside it (each trigger commits on its own) and
  relies on the lease alone.

The sweep re-sends a chunk queued longer than `older_than` and not started, and re-queues a
started chunk whose lease expired and whose row no transaction holds (the sweep takes rows
with SKIP LOCKED: a live worker that runs long holds the lock, which is its renewal, so nothing
is taken from a worker that still works). A chunk that has used MAX_CHUNK_ATTEMPTS is failed
with the reason instead. Every chunk task locks its row and checks its state before the work,
so a late original message and the sweeper's copy do no harm."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from csplatform.celery import enqueue_on_commit

from ..models import RunState

logger = logging.getLogger(__name__)

MAX_CHUNK_ATTEMPTS = 3
# Runs older than this are history: the sweep neither re-queues nor finishes them.
SWEEP_WINDOW = dt.timedelta(days=2)
# The repairs a run keeps (the newest), for the status page.
REPAIRS_KEPT = 50


def lease_seconds() -> int:
    return settings.NIGHTLY_CHUNK_LEASE_SECONDS


def chunk_begin(model: type[models.Model], chunk_id: int) -> tuple[models.Model | None, str]:
    """Count a delivery of the chunk and give it a lease, in a transaction of its own (so the
    attempt survives a crash during the work). Returns (chunk, status): "started", the closed
    chunk's state ("done"/"failed": this copy is a duplicate) or "gone" (re-planned).

    The row is locked waiting (not SKIP LOCKED): a duplicate delivered while another worker
    works the chunk waits for that worker's commit and then finds it closed. (SKIP LOCKED
    here would let two copies arriving together each take the other for the holder and both
    leave the chunk, which PostgreSQL allows while a concurrent update is in flight.)"""
    with transaction.atomic():
        chunk = model.all_objects.select_for_update().filter(pk=chunk_id).first()
        if chunk is None:
            return None, "gone"
        if chunk.state != RunState.RUNNING:
            return chunk, chunk.state
        now = timezone.now()
        chunk.attempts += 1
        chunk.started_at = now
        chunk.lease_expires_at = now + dt.timedelta(seconds=lease_seconds())
        chunk.save(update_fields=["attempts", "started_at", "lease_expires_at"])
    return chunk, "started"


def chunk_lock(model: type[models.Model], chunk_id: int) -> tuple[models.Model | None, str]:
    """The open chunk locked for its work (inside the caller's transaction, waiting like
    chunk_begin), or None and why not."""
    chunk = model.all_objects.select_for_update().filter(pk=chunk_id).first()
    if chunk is None:
        return None, "gone"
    if chunk.state != RunState.RUNNING:
        return None, chunk.state
    return chunk, "locked"


def run_is_live(run, chunk_model: type[models.Model], *, now: dt.datetime) -> bool:
    """Whether a running run may still be worked on, so re-planning it would pull its chunks
    from under its workers: a chained run (the sweeper completes it) of the last SWEEP_WINDOW,
    or a foreground run planned, or with a chunk started or closed, within one lease (its
    process runs the chunks one after the other). A foreground run whose process died is not
    live after a lease, and may be run again."""
    if run.state != RunState.RUNNING:
        return False
    if run.chained:
        return run.started_at >= now - SWEEP_WINDOW
    recent = now - dt.timedelta(seconds=lease_seconds())
    if run.started_at >= recent:
        return True
    return (
        chunk_model.all_objects.filter(run_id=run.pk)
        .filter(
            Q(state=RunState.RUNNING, lease_expires_at__gt=now)
            | Q(started_at__gte=recent)
            | Q(finished_at__gte=recent)
        )
        .exists()
    )


def repair_record(
    run_model: type[models.Model], *, run_id: int, action: str, detail: str, now: dt.datetime
) -> None:
    """Append what the sweeper did to the run (inside the caller's transaction, or its own)."""
    with transaction.atomic():
        run = run_model.all_objects.select_for_update().get(pk=run_id)
        entry = {"at": now.isoformat(), "action": action, "detail": detail}
        run.repairs = [*run.repairs, entry][-REPAIRS_KEPT:]
        run.save(update_fields=["repairs"])


def chunks_sweep(
    model: type[models.Model],
    *,
    task: str,
    close_failed: Callable[[int, str], object],
    older_than: int,
    now: dt.datetime,
) -> list[dict]:
    """Re-send the lost and re-queue the dead open chunks of `model` (see the module); returns
    what was done, one dict per chunk. The task `task` takes the chunk's id."""
    run_model = model._meta.get_field("run").related_model
    stage = model._meta.app_label
    lost_before = now - dt.timedelta(seconds=older_than)
    done: list[dict] = []
    with transaction.atomic():
        stale = list(
            model.all_objects.select_for_update(skip_locked=True, of=("self",))
            # a foreground run's chunks belong to its process (it runs them one by one)
            .filter(state=RunState.RUNNING, run__chained=True)
            .filter(run__started_at__gte=now - SWEEP_WINDOW)
            .filter(
                Q(started_at__isnull=True, queued_at__lt=lost_before)
                | Q(started_at__isnull=False, lease_expires_at__lt=now)
            )
            .select_related("run")
            .order_by("pk")
        )
        for chunk in stale:
            entry = {
                "stage": stage,
                "organization_id": chunk.organization_id,
                "date": chunk.run.date.isoformat(),
                "run": chunk.run_id,
                "chunk": chunk.index,
                "attempts": chunk.attempts,
            }
            if chunk.started_at is None:
                entry["action"] = "chunk_resent"
                detail = (
                    f"chunk {chunk.index} queued at {_when(chunk.queued_at)} was never "
                    f"started: sent again"
                )
            elif chunk.attempts >= MAX_CHUNK_ATTEMPTS:
                entry["action"] = "chunk_failed"
                detail = (
                    f"chunk {chunk.index}: its worker was lost {chunk.attempts} times "
                    f"(lease expired at {_when(chunk.lease_expires_at)}): given up"
                )
            else:
                entry["action"] = "chunk_requeued"
                detail = (
                    f"chunk {chunk.index}: its worker was lost (lease expired at "
                    f"{_when(chunk.lease_expires_at)}, attempt {chunk.attempts}): queued again"
                )
            if entry["action"] == "chunk_failed":
                close_failed(chunk.pk, detail)
            else:
                chunk.queued_at = now
                chunk.started_at = chunk.lease_expires_at = None
                chunk.save(update_fields=["queued_at", "started_at", "lease_expires_at"])
                enqueue_on_commit(task, chunk.pk)
            repair_record(
                run_model, run_id=chunk.run_id, action=entry["action"], detail=detail, now=now
            )
            logger.warning(
                "nightly sweep: %s run org=%s day=%s %s",
                stage,
                chunk.organization_id,
                entry["date"],
                detail,
            )
            entry["detail"] = detail
            done.append(entry)
    return done


def _when(value: dt.datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "an unknown time"
