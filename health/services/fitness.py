"""Fitness and weight suggestions computed in the background and kept per model version and
day (FitnessSnapshot), so the model page reads a row instead of scanning the history."""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import transaction
from django.utils import timezone

from csplatform.celery import enqueue_on_commit
from orgs.models import Organization
from orgs.tenancy import org_context

from ..models import FitnessKind, FitnessSnapshot, HealthModel, RunState

logger = logging.getLogger(__name__)

# A running snapshot not updated for this long is taken for dead and may be asked again.
STALE_AFTER = dt.timedelta(minutes=15)


def fitness_snapshot_request(
    *, model: HealthModel, day: dt.date, kind: str = FitnessKind.FITNESS, lead: int = 0
) -> FitnessSnapshot:
    """The snapshot of `model`'s current version for `day`: the existing one, or a new one
    queued for the background (a failed or stale one is queued again)."""
    with transaction.atomic():
        snapshot, created = FitnessSnapshot.objects.select_for_update().get_or_create(
            model=model,
            model_version=model.version,
            day=day,
            kind=kind,
            lead=lead,
            defaults={"organization_id": model.organization_id},
        )
        stale = snapshot.state == RunState.RUNNING and (
            timezone.now() - snapshot.updated_at > STALE_AFTER
        )
        if created or snapshot.state == RunState.FAILED or stale:
            if not created:
                snapshot.state, snapshot.progress, snapshot.note = RunState.RUNNING, 0.0, ""
                snapshot.save(update_fields=["state", "progress", "note", "updated_at"])
            enqueue_on_commit("health.fitness_compute", snapshot.pk)
    return snapshot


def fitness_snapshot_compute(*, snapshot_id: int) -> FitnessSnapshot:
    """Compute one snapshot (the task's body): the strict fitness per indicator, or the
    weight suggestion, with progress written as it goes."""
    from ..selectors import model_fitness, model_weight_suggestion

    snapshot = FitnessSnapshot.all_objects.select_related("organization").get(pk=snapshot_id)
    org: Organization = snapshot.organization
    started = time.perf_counter()
    with org_context(org):
        model = HealthModel.objects.prefetch_related("indicators").get(pk=snapshot.model_id)

        def progress(share: float, note: str) -> None:
            FitnessSnapshot.objects.filter(pk=snapshot.pk).update(
                progress=round(share, 2), note=note, updated_at=timezone.now()
            )

        try:
            if snapshot.kind == FitnessKind.SUGGESTION:
                payload = model_weight_suggestion(
                    org=org, model=model, lead=snapshot.lead, today=snapshot.day, progress=progress
                )
            else:
                payload = model_fitness(org=org, model=model, today=snapshot.day)
        except Exception as exc:
            logger.exception("fitness snapshot %s failed", snapshot.pk)
            # kept as the row's state, not raised: the page says it failed and may ask again
            FitnessSnapshot.objects.filter(pk=snapshot.pk).update(
                state=RunState.FAILED, note=str(exc)[:120], updated_at=timezone.now()
            )
            snapshot.refresh_from_db()
            return snapshot
        snapshot.payload = payload
        snapshot.state = RunState.DONE
        snapshot.progress = 1.0
        snapshot.note = ""
        snapshot.seconds = round(time.perf_counter() - started, 3)
        snapshot.save(
            update_fields=["payload", "state", "progress", "note", "seconds", "updated_at"]
        )
    return snapshot
