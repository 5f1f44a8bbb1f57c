"""The nightly chain after scoring: fan the trigger evaluation out over chunks of accounts,
count the chunks done on a TriggerRun row, and let the last one queue what comes next."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from health.models import HealthRun, HealthRunChunk
from orgs.models import Organization
from orgs.tenancy import org_context

from . import services
from .models import TriggerRun

logger = logging.getLogger(__name__)


def nightly_fan_out(*, org_id: int, day: dt.date) -> int:
    """Create the day's trigger run (once) and queue a chunk task per account range."""
    from .tasks import triggers_evaluate_chunk

    org = Organization.objects.get(pk=org_id)
    with org_context(org), transaction.atomic():
        health_run = HealthRun.objects.filter(date=day).first()
        bounds = (
            list(
                HealthRunChunk.objects.filter(run=health_run)
                .order_by("index")
                .values_list("index", "first_account_id", "last_account_id")
            )
            if health_run
            else []
        )
        if not bounds:
            bounds = [(0, 0, 2**62)]
        run, created = TriggerRun.objects.get_or_create(
            organization=org, date=day, defaults={"chunks_total": len(bounds)}
        )
        if not created:
            return 0
        run_id = run.pk
        transaction.on_commit(
            lambda: [triggers_evaluate_chunk.delay(run_id, i, lo, hi) for i, lo, hi in bounds]
        )
    return len(bounds)


def nightly_chunk(*, run_id: int, index: int, first_id: int, last_id: int) -> int:
    from .tasks import playbooks_send_digest, triggers_monthly

    run = TriggerRun.all_objects.get(pk=run_id)
    org = Organization.objects.get(pk=run.organization_id)
    stats = services.triggers_evaluate(org=org, day=run.date, first_id=first_id, last_id=last_id)
    with transaction.atomic():
        run = TriggerRun.all_objects.select_for_update().get(pk=run_id)
        if index not in run.chunks_done:
            run.chunks_done = sorted([*run.chunks_done, index])
            run.fired += stats.fired
            run.save(update_fields=["chunks_done", "fired"])
            if len(run.chunks_done) == run.chunks_total:
                org_id, day = org.pk, run.date
                transaction.on_commit(lambda: playbooks_send_digest.delay(org_id))
                if day.day == 1:
                    transaction.on_commit(lambda: triggers_monthly.delay(org_id, day.isoformat()))
    return stats.fired


def run_day_inline(*, org: Organization, day: dt.date, is_demo: bool = False, dense=None) -> dict:
    """The whole chain for one day in this process (run_nightly, backfills): score, nightly
    triggers, playbooks and alerts, on day 1 the monthly run; notifications stay queued for
    the digest (sent only when asked)."""
    from health.services import health_score_day

    health = health_score_day(org=org, day=day, dense=dense)
    stats = services.triggers_evaluate(org=org, day=day, is_demo=is_demo)
    monthly = services.monthly_run(org=org, day=day, is_demo=is_demo) if day.day == 1 else None
    return {
        "day": day.isoformat(),
        "scored": health.accounts_scored,
        "fired": stats.fired,
        "playbooks": stats.playbooks + (monthly.playbooks if monthly else 0),
        "alerts": stats.alerts + (monthly.alerts if monthly else 0),
        "monthly_fired": monthly.fired if monthly else 0,
        "seconds": stats.seconds,
    }
