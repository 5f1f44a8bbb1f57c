"""The nightly chain after scoring: fan the trigger evaluation out over chunks of accounts
(TriggerRunChunk rows under the same lease as health's chunks, health/services/chunks.py),
count the chunks closed on the TriggerRun row, and let the last one queue what comes next (the
digest; on day 1 the monthly run, which then queues the digest), each marked done on the run
when it is. Tasks are queued
by name after commit (csplatform.celery.enqueue_on_commit), so this module never imports the
tasks; what a lost message leaves undone, the rows say, and the sweeper (sweep.py) sends.

What the night skips (a trigger that cannot be evaluated, a persona whose rules fail) is
listed once on the night's TriggerRun (`problems`), and each admin of the organization gets an
in-app notification for it that links to the trigger's or persona's admin page."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.personas import persona_rule_problems
from csplatform.celery import enqueue_on_commit
from health.models import HealthRun, HealthRunChunk, RunState
from health.services import (
    MAX_CHUNK_ATTEMPTS,
    NightRunning,
    chunk_begin,
    health_score_day,
    run_is_live,
)
from orgs.models import Organization
from orgs.tenancy import org_context
from playbooks.models import NotificationKind
from playbooks.services import notifications_notify_admins

from ..models import TriggerRun, TriggerRunChunk
from ..signals import trigger_run_completed, trigger_run_starting
from .caps import firings_release
from .evaluation import TriggerStats, triggers_evaluate
from .monthly import triggers_run_monthly

logger = logging.getLogger(__name__)

CHUNK_TASK = "triggers.evaluate_run_chunk"


def trigger_run_start(*, org_id: int, day: dt.date) -> int:
    """Create the day's chained trigger run (once) with a chunk row per account range (the
    health run's), and queue a task per chunk. Only once the day's health run is DONE, by
    its row, whoever started it: a day still being scored (or a failed one) is not evaluated.
    Returns the chunks planned (0: not started, or started before)."""
    org = Organization.objects.get(pk=org_id)
    with org_context(org), transaction.atomic():
        health_run = HealthRun.objects.filter(date=day).first()
        if health_run is None or health_run.state != RunState.DONE:
            logger.warning(
                "trigger run not started org=%s day=%s: the health run is %s",
                org.slug,
                day,
                health_run.state if health_run else "missing",
            )
            return 0
        bounds = list(
            HealthRunChunk.objects.filter(run=health_run)
            .order_by("index")
            .values_list("index", "first_account_id", "last_account_id")
        ) or [(0, 0, 2**62)]
        run, created = TriggerRun.objects.get_or_create(
            organization=org, date=day, defaults={"chunks_total": len(bounds), "chained": True}
        )
        if not created:
            return 0
        trigger_run_starting.send(
            sender=TriggerRun, organization_id=org.pk, date=day, is_demo=False
        )
        now = timezone.now()
        chunks = TriggerRunChunk.objects.bulk_create(
            [
                TriggerRunChunk(
                    organization=org,
                    run=run,
                    index=index,
                    first_account_id=first_id,
                    last_account_id=last_id,
                    queued_at=now,
                )
                for index, first_id, last_id in bounds
            ]
        )
        # Personas were refreshed before scoring; one whose rules fail kept its old accounts.
        _problems_add(org=org, run=run, problems=persona_rule_problems())
        for chunk in chunks:
            enqueue_on_commit(CHUNK_TASK, chunk.pk)
    return len(bounds)


def trigger_run_chunk(*, chunk_id: int) -> int:
    """Evaluate one chunk of the night's run and close it (once, however often it is
    delivered: its row is locked and its state checked at the start and at the close); the
    chunk that closes the run queues the digest and, on day 1, the monthly run. Returns the
    firings."""
    chunk, status = chunk_begin(TriggerRunChunk, chunk_id)
    if status != "started":
        return 0
    if chunk.attempts > MAX_CHUNK_ATTEMPTS:
        logger.error("trigger chunk %s given up after %s attempts", chunk_id, chunk.attempts - 1)
        trigger_chunk_close(
            chunk_id=chunk_id,
            state=RunState.FAILED,
            error=f"given up after {chunk.attempts - 1} attempts",
        )
        return 0
    org = Organization.objects.get(pk=chunk.organization_id)
    run = TriggerRun.all_objects.get(pk=chunk.run_id)
    # The evaluation runs outside a transaction of the chunk's: each trigger's writes commit
    # on their own, and a trigger whose evaluation fails in the database is skipped without
    # aborting the others (it is idempotent, so a duplicate copy running at the same time
    # writes nothing twice). The chunk's lease covers it meanwhile; the close counts once.
    stats = triggers_evaluate(
        org=org, day=run.date, first_id=chunk.first_account_id, last_id=chunk.last_account_id
    )
    trigger_chunk_close(chunk_id=chunk_id, state=RunState.DONE, stats=stats)
    return stats.fired


def trigger_chunk_close(
    *, chunk_id: int, state: str, stats: TriggerStats | None = None, error: str = ""
) -> bool:
    """Close the chunk, count it on the run (with its problems), and if it was the last,
    finish the run and queue what it is owed. Returns whether it closed the run."""
    with transaction.atomic():
        chunk = TriggerRunChunk.all_objects.select_for_update().get(pk=chunk_id)
        if chunk.state != RunState.RUNNING:
            return False
        fired = stats.fired if stats else 0
        chunk.state = state
        chunk.fired = fired
        chunk.error = error
        chunk.finished_at = timezone.now()
        chunk.save(update_fields=["state", "fired", "error", "finished_at"])
        run = TriggerRun.all_objects.select_for_update().get(pk=chunk.run_id)
        org = Organization.objects.get(pk=run.organization_id)
        if state == RunState.DONE:
            run.chunks_done = sorted({*run.chunks_done, chunk.index})
        else:
            run.chunks_failed = F("chunks_failed") + 1
        run.fired = F("fired") + fired
        run.save(update_fields=["chunks_done", "chunks_failed", "fired"])
        run.refresh_from_db()
        if stats is not None:
            _problems_add(org=org, run=run, problems=stats.problems)
        last = len(run.chunks_done) + run.chunks_failed >= run.chunks_total
        if last and run.state == RunState.RUNNING:
            trigger_run_finish_locked(run)
    return last


def trigger_run_finish_locked(run: TriggerRun) -> None:
    """Finish the (locked) run whose chunks are all closed, and queue the digest and on day 1
    the monthly run after commit; their done-marks on the run say whether they happened.
    First the cap's queue is released, once for the whole night (a failed chunk's firings
    were not matched tonight, so they wait)."""
    org = Organization.objects.get(pk=run.organization_id)
    firings_release(
        org=org,
        day=run.date,
        skip_triggers=[p["trigger"] for p in run.problems if "trigger" in p],
        skip_ranges=list(
            TriggerRunChunk.all_objects.filter(run=run, state=RunState.FAILED).values_list(
                "first_account_id", "last_account_id"
            )
        ),
    )
    run.state = RunState.FAILED if run.chunks_failed else RunState.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "finished_at"])
    _completed_on_commit(org_id=run.organization_id, day=run.date, inline=False)
    if run.chained:
        # On day 1 the monthly run goes first and queues the digest itself, so the morning's
        # digest lists the month's retention alerts too.
        day = run.date.isoformat()
        if run.monthly_owed:
            enqueue_on_commit("triggers.monthly", run.organization_id, day)
        else:
            enqueue_on_commit("triggers.send_digest", run.organization_id, day)
    logger.info(
        "trigger run finished org=%s day=%s state=%s fired=%s",
        run.organization_id,
        run.date,
        run.state,
        run.fired,
    )


def _completed_on_commit(*, org_id: int, day: dt.date, inline: bool) -> None:
    """The night's trigger stage is done: tell the layers above (reports refresh their
    facts) once the transaction commits. A receiver's failure (its broker down) is logged,
    never raised into the chain, which has committed."""

    def send():
        for receiver, result in trigger_run_completed.send_robust(
            sender=TriggerRun, organization_id=org_id, date=day, inline=inline
        ):
            if isinstance(result, Exception):
                logger.warning(
                    "trigger_run_completed receiver %s failed org=%s day=%s: %s",
                    getattr(receiver, "__qualname__", receiver),
                    org_id,
                    day,
                    result,
                )

    transaction.on_commit(send)


def trigger_run_digest(*, org_id: int, day: dt.date) -> int:
    """The digest a finished night owes (idempotent: each notification is emailed once), then
    marked done on the night's run. Returns the users mailed."""
    from playbooks.services import notifications_send_digest

    org = Organization.objects.get(pk=org_id)
    sent = notifications_send_digest(org=org)
    TriggerRun.all_objects.filter(organization=org, date=day, digest_done_at__isnull=True).update(
        digest_done_at=timezone.now()
    )
    return sent


def trigger_run_monthly(*, org_id: int, day: dt.date) -> int:
    """Day 1, once the night's triggers are done: the monthly run, once (the run's row is
    locked, SKIP LOCKED, while it runs, and marked done in the same transaction); what it
    skips goes on the night's run too. A night run in the foreground has no row to mark."""
    org = Organization.objects.get(pk=org_id)
    with transaction.atomic():
        run = (
            TriggerRun.all_objects.select_for_update(skip_locked=True)
            .filter(organization=org, date=day)
            .first()
        )
        if run is not None and run.monthly_done_at is not None:
            return 0
        if run is None and TriggerRun.all_objects.filter(organization=org, date=day).exists():
            return 0  # another copy is running it
        stats = triggers_run_monthly(org=org, day=day)
        run = problems_record(org=org, day=day, problems=stats.problems)
        run.monthly_done_at = timezone.now()
        run.save(update_fields=["monthly_done_at"])
        if run.chained:
            enqueue_on_commit("triggers.send_digest", org.pk, day.isoformat())
    return stats.fired


def problems_record(
    *, org: Organization, day: dt.date, problems: list[dict], fired: int = 0
) -> TriggerRun:
    """Put `problems` on the day's run (created if the night ran in the foreground, with the
    one chunk it was), notifying the admins of those not listed yet."""
    with transaction.atomic():
        run, _ = TriggerRun.all_objects.get_or_create(
            organization=org,
            date=day,
            defaults={
                "chunks_total": 1,
                "chunks_done": [0],
                "fired": fired,
                "state": RunState.DONE,
                "finished_at": timezone.now(),
            },
        )
        run = TriggerRun.all_objects.select_for_update().get(pk=run.pk)
        _problems_add(org=org, run=run, problems=problems)
    return run


def _problem_key(problem: dict) -> tuple[str, int]:
    return (
        ("trigger", problem["trigger"]) if "trigger" in problem else ("persona", problem["persona"])
    )


def _problems_add(*, org: Organization, run: TriggerRun, problems: list[dict]) -> list[dict]:
    """Add to the run (locked by the caller, or new in its transaction) the problems it does
    not list yet and notify the admins of those; returns them. So each problem is reported
    once a night, however many chunks or re-runs meet it."""
    known = {_problem_key(p) for p in run.problems}
    new = []
    for problem in problems:
        key = _problem_key(problem)
        if key not in known:
            known.add(key)
            new.append(problem)
    if not new:
        return []
    run.problems = [*run.problems, *new]
    run.save(update_fields=["problems"])
    problems_notify_admins(org=org, day=run.date, problems=new)
    for problem in new:
        logger.warning(
            "nightly problem org=%s day=%s %s=%s name=%r: %s",
            org.slug,
            run.date,
            *_problem_key(problem),
            problem["name"],
            problem["error"],
        )
    return new


def problems_notify_admins(*, org: Organization, day: dt.date, problems: list[dict]) -> int:
    """One in-app notification per problem for each active admin of the organization, linking
    to the admin page of the trigger or persona. Unique per admin and trigger (or persona): a
    problem still there on a later night raises the same notification again, unread and due
    for the digest, rather than piling up one a night."""
    notices = []
    for problem in problems:
        kind, ref = _problem_key(problem)
        if kind == "trigger":
            text = gettext_lazy("Trigger “%(name)s” was skipped on %(day)s: %(error)s")
            url = reverse("admin:triggers_trigger_change", args=[ref])
            kind = NotificationKind.TRIGGER_PROBLEM
        else:
            text = gettext_lazy(
                "Persona “%(name)s” was not refreshed on %(day)s (its accounts stay as they "
                "were): %(error)s"
            )
            url = reverse("admin:accounts_persona_change", args=[ref])
            kind = NotificationKind.PERSONA_PROBLEM
        params = {"name": problem["name"], "day": day.isoformat(), "error": problem["error"]}
        notices.append((kind, ref, (text, params), url))
    # an organization without an active admin writes none: the run still lists its problems
    return notifications_notify_admins(org_id=org.pk, notices=notices)


def nightly_run_inline(
    *, org: Organization, day: dt.date, is_demo: bool = False, dense=None
) -> dict:
    """The whole chain for one day in this process (run_nightly, backfills): score, nightly
    triggers, playbooks and alerts, on day 1 the monthly run; notifications stay queued for
    the digest (sent only when asked). NightRunning if the day's scoring or trigger stage is
    still running (it is not re-planned under its workers); the triggers are evaluated only
    once the day's scoring is DONE, so a failed chunk leaves the day unevaluated, and says so."""
    running = TriggerRun.all_objects.filter(
        organization=org, date=day, state=RunState.RUNNING
    ).first()
    if running is not None and run_is_live(running, TriggerRunChunk, now=timezone.now()):
        raise NightRunning(
            org=org,
            day=day,
            stage="triggers",
            done=len(running.chunks_done) + running.chunks_failed,
            total=running.chunks_total,
        )
    health = health_score_day(org=org, day=day, dense=dense)
    if health.state != RunState.DONE:
        logger.warning(
            "night org=%s day=%s: scoring %s (%s of %s chunks failed), triggers not evaluated",
            org.slug,
            day,
            health.state,
            health.chunks_failed,
            health.chunks_total,
        )
        return {
            "day": day.isoformat(),
            "scored": health.accounts_scored,
            "scoring": health.state,
            "fired": 0,
            "playbooks": 0,
            "alerts": 0,
            "queued": 0,
            "released": 0,
            "waiting": 0,
            "monthly_fired": 0,
            "problems": [],
            "seconds": {},
        }
    with org_context(org), transaction.atomic():
        trigger_run_starting.send(
            sender=TriggerRun, organization_id=org.pk, date=day, is_demo=is_demo
        )
    stats = triggers_evaluate(org=org, day=day, is_demo=is_demo)
    monthly = triggers_run_monthly(org=org, day=day, is_demo=is_demo) if day.day == 1 else None
    with org_context(org):
        problems = [
            *persona_rule_problems(),
            *stats.problems,
            *(monthly.problems if monthly else []),
        ]
    problems_record(org=org, day=day, problems=problems, fired=stats.fired)
    _completed_on_commit(org_id=org.pk, day=day, inline=True)
    return {
        "day": day.isoformat(),
        "scored": health.accounts_scored,
        "scoring": health.state,
        "fired": stats.fired,
        "playbooks": stats.playbooks + (monthly.playbooks if monthly else 0),
        "alerts": stats.alerts + (monthly.alerts if monthly else 0),
        "queued": stats.queued,
        "released": stats.released,
        "waiting": stats.waiting or 0,
        "monthly_fired": monthly.fired if monthly else 0,
        "problems": problems,
        "seconds": stats.seconds,
    }
