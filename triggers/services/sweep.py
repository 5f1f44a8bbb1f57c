"""The nightly sweeper: whatever the rows of the last nights say is owed and not done, it does
or sends again. Beat runs it every NIGHTLY_SWEEP_SECONDS (`triggers.nightly_sweep`), and
`manage.py nightly_sweep` runs it once. It lives in triggers, the top of the chain it repairs.

In order: health's chunks and runs (health.services.health_runs_sweep: lost chunk messages
sent again, dead workers' chunks queued again or given up, runs left running finished); the
same for the trigger chunks and runs; the trigger stage of a DONE chained scoring run that has
none; the digest and the day-1 monthly run a finished chained trigger run is still owed; the
night of an organization that beat should have started and did not; and a notification to the
admins of a night that failed or is late. Each repair is a warning in the log and an entry in
the run's `repairs`. Everything it sends or runs is idempotent, so a late original message
and the sweeper's copy do no harm; a hand-off is only taken for lost once it is `older_than`
seconds old, so a sweep does not race the message it would repeat."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from health.models import HealthRun, RunState
from health.services import (
    SWEEP_WINDOW,
    chunks_sweep,
    health_run_start,
    health_runs_sweep,
    repair_record,
)
from orgs.models import Membership, Organization, Role
from orgs.timezones import org_zone
from playbooks.models import Notification, NotificationKind
from playbooks.services import notification_phrase

from .. import selectors
from ..models import TriggerRun, TriggerRunChunk
from ..nights import TROUBLE
from .nightly import (
    CHUNK_TASK,
    trigger_chunk_close,
    trigger_run_digest,
    trigger_run_finish_locked,
    trigger_run_monthly,
    trigger_run_start,
)

logger = logging.getLogger(__name__)

# Beat's nightly start expires after this long (health/tasks.py): a night not started by then
# is skipped, not started in the middle of the day; the sweeper keeps the same rule.
START_WINDOW = dt.timedelta(hours=6)


def nightly_sweep(
    *, older_than: int, now: dt.datetime | None = None, start_nights: bool | None = None
) -> dict:
    """One sweep (see the module). Returns {"at", "older_than", "actions": [...], "troubled":
    [...]} with one action per repair."""
    now = now or timezone.now()
    start_nights = settings.NIGHTLY_SWEEP_STARTS_NIGHTS if start_nights is None else start_nights
    actions = health_runs_sweep(older_than=older_than, now=now)
    actions += chunks_sweep(
        TriggerRunChunk,
        task=CHUNK_TASK,
        close_failed=lambda chunk_id, error: trigger_chunk_close(
            chunk_id=chunk_id, state=RunState.FAILED, error=error
        ),
        older_than=older_than,
        now=now,
    )
    actions += _trigger_runs_finish(now=now)
    cutoff = now - dt.timedelta(seconds=older_than)
    actions += _trigger_stages_start(now=now, cutoff=cutoff)
    actions += _owed_after_triggers(now=now, cutoff=cutoff)
    if start_nights:
        actions += _nights_start(now=now, cutoff=cutoff)
    troubled = _troubled_nights_notify(now=now)
    return {
        "at": now.isoformat(timespec="seconds"),
        "older_than": older_than,
        "actions": actions,
        "troubled": troubled,
    }


def _act(*, stage, action, org_id, day, run_model, run_id, detail, now) -> dict:
    if run_model is not None:
        repair_record(run_model, run_id=run_id, action=action, detail=detail, now=now)
    logger.warning("nightly sweep: %s org=%s day=%s %s: %s", stage, org_id, day, action, detail)
    return {
        "stage": stage,
        "action": action,
        "organization_id": org_id,
        "date": day.isoformat(),
        "run": run_id,
        "detail": detail,
    }


def _trigger_runs_finish(*, now) -> list[dict]:
    done = []
    stuck = TriggerRun.all_objects.filter(
        state=RunState.RUNNING, started_at__gte=now - SWEEP_WINDOW, chunks_total__gt=0
    ).values_list("pk", flat=True)
    for run_id in list(stuck):
        with transaction.atomic():
            run = TriggerRun.all_objects.select_for_update(skip_locked=True).filter(pk=run_id)
            run = run.first()
            if run is None or run.state != RunState.RUNNING:
                continue
            if len(run.chunks_done) + run.chunks_failed < run.chunks_total:
                continue
            trigger_run_finish_locked(run)
            detail = f"every chunk was closed but the run was still running: finished {run.state}"
            done.append(
                _act(
                    stage="triggers",
                    action="run_finished",
                    org_id=run.organization_id,
                    day=run.date,
                    run_model=TriggerRun,
                    run_id=run.pk,
                    detail=detail,
                    now=now,
                )
            )
    return done


def _trigger_stages_start(*, now, cutoff) -> list[dict]:
    """The DONE chained scoring runs whose trigger stage was never started (its hand-off, the
    health_run_completed hook's message, was lost)."""
    owed = (
        HealthRun.all_objects.filter(
            state=RunState.DONE,
            chained=True,
            started_at__gte=now - SWEEP_WINDOW,
            finished_at__lt=cutoff,
        )
        .exclude(
            Exists(
                TriggerRun.all_objects.filter(
                    organization_id=OuterRef("organization_id"), date=OuterRef("date")
                )
            )
        )
        .values_list("pk", "organization_id", "date")
    )
    done = []
    for run_id, org_id, day in list(owed):
        chunks = trigger_run_start(org_id=org_id, day=day)
        if not chunks:
            continue
        done.append(
            _act(
                stage="triggers",
                action="trigger_stage_started",
                org_id=org_id,
                day=day,
                run_model=HealthRun,
                run_id=run_id,
                detail=f"scoring was done but the trigger stage never started: started "
                f"({chunks} chunks)",
                now=now,
            )
        )
    return done


def _owed_after_triggers(*, now, cutoff) -> list[dict]:
    """The monthly run (day 1) and the digest of the finished chained trigger runs, still not
    done: the monthly run first (it queues the digest itself), the digest once it is owed
    (after the monthly run on day 1) for longer than `older_than`."""
    runs = TriggerRun.all_objects.filter(
        chained=True,
        state__in=[RunState.DONE, RunState.FAILED],
        started_at__gte=now - SWEEP_WINDOW,
        finished_at__lt=cutoff,
        digest_done_at__isnull=True,
    )
    done = []
    for run in list(runs):
        if run.monthly_owed and run.monthly_done_at is None:
            fired = trigger_run_monthly(org_id=run.organization_id, day=run.date)
            done.append(
                _act(
                    stage="monthly",
                    action="monthly_run",
                    org_id=run.organization_id,
                    day=run.date,
                    run_model=TriggerRun,
                    run_id=run.pk,
                    detail=f"the monthly run was owed: run ({fired} fired), the digest queued",
                    now=now,
                )
            )
            continue
        owed_since = run.monthly_done_at if run.monthly_owed else run.finished_at
        if owed_since >= cutoff:
            continue
        sent = trigger_run_digest(org_id=run.organization_id, day=run.date)
        done.append(
            _act(
                stage="digest",
                action="digest_sent",
                org_id=run.organization_id,
                day=run.date,
                run_model=TriggerRun,
                run_id=run.pk,
                detail=f"the night's digest was owed: sent ({sent} users mailed)",
                now=now,
            )
        )
    return done


def scheduled_night(now: dt.datetime) -> dt.datetime:
    """When beat last started the nightly chain (NIGHTLY_HOUR:NIGHTLY_MINUTE in Celery's
    time zone), at or before `now`."""
    zone = ZoneInfo(settings.CELERY_TIMEZONE)
    local = now.astimezone(zone)
    fired = local.replace(
        hour=settings.NIGHTLY_HOUR, minute=settings.NIGHTLY_MINUTE, second=0, microsecond=0
    )
    if fired > local:
        fired -= dt.timedelta(days=1)
    return fired


def _nights_start(*, now, cutoff) -> list[dict]:
    """Beat's start of the night, for each organization that has no run for the day it would
    have started (the organization's date when beat fired), once the start is `older_than`
    late and while it is not yet START_WINDOW late."""
    fired = scheduled_night(now)
    if not (fired < cutoff and now - fired < START_WINDOW):
        return []
    done = []
    for org in Organization.objects.order_by("pk"):
        day = fired.astimezone(org_zone(org)).date()
        if HealthRun.all_objects.filter(organization=org, date=day).exists():
            continue
        run, chunk_ids = health_run_start(org=org, day=day)
        done.append(
            _act(
                stage="scoring",
                action="night_started",
                org_id=org.pk,
                day=day,
                run_model=HealthRun,
                run_id=run.pk,
                detail=f"the night scheduled at {fired.isoformat(timespec='minutes')} never "
                f"started: started ({len(chunk_ids)} chunks)",
                now=now,
            )
        )
    return done


def _troubled_nights_notify(*, now) -> list[dict]:
    """Each admin of an organization whose night started in the last two days failed or is
    late gets one notification for it (once per night: unique per admin, kind and run)."""
    recent = list(
        HealthRun.all_objects.filter(started_at__gte=now - SWEEP_WINDOW)
        .values_list("organization_id", "date")
        .distinct()
    )
    if not recent:
        return []
    org_ids = sorted({org_id for org_id, _ in recent})
    days = sorted({day for _, day in recent})
    nights = [
        n
        for n in selectors.nights_status(org_ids=org_ids, days=days, now=now)
        if n["state"] in TROUBLE
        and (n["organization_id"], dt.date.fromisoformat(n["date"])) in recent
    ]
    if not nights:
        return []
    admins: dict[int, list[int]] = {}
    for org_id, user_id in Membership.objects.filter(
        organization_id__in={n["organization_id"] for n in nights},
        role=Role.ADMIN,
        user__is_active=True,
    ).values_list("organization_id", "user_id"):
        admins.setdefault(org_id, []).append(user_id)
    notifications = []
    for night in nights:
        text, phrase = notification_phrase(
            gettext_lazy("The night of %(day)s failed: see the nightly status page.")
            if night["state"] == "failed"
            else gettext_lazy("The night of %(day)s is late: see the nightly status page."),
            {"day": str(night["date"])},
        )
        url = f"{reverse('operations:nightly')}?date={night['date']}"
        notifications += [
            Notification(
                organization_id=night["organization_id"],
                user_id=user_id,
                kind=NotificationKind.NIGHT_PROBLEM,
                ref=night["health_run_id"],
                text=text,
                phrase=phrase,
                url=url,
            )
            for user_id in admins.get(night["organization_id"], [])
        ]
    Notification.all_objects.bulk_create(notifications, ignore_conflicts=True)
    return [
        {"organization_id": n["organization_id"], "date": n["date"], "state": n["state"]}
        for n in nights
    ]
