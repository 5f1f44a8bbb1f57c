"""The nightly chain after scoring: fan the trigger evaluation out over chunks of accounts,
count the chunks done on a TriggerRun row, and let the last one queue what comes next (the
digest, and on day 1 the monthly run). Tasks are queued by name after commit
(csplatform.celery.enqueue_on_commit), so this module never imports the tasks.

What the night skips (a trigger that cannot be evaluated, a persona whose rules fail) is
listed once on the night's TriggerRun (`problems`), and each admin of the organization gets an
in-app notification for it that links to the trigger's or persona's admin page."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext

from accounts.personas import persona_rule_problems
from csplatform.celery import enqueue_on_commit
from health.models import HealthRun, HealthRunChunk
from health.services import health_score_day
from orgs.models import Membership, Organization, Role
from orgs.tenancy import org_context
from playbooks.models import Notification, NotificationKind

from ..models import TriggerRun
from ..signals import trigger_run_completed
from .evaluation import triggers_evaluate
from .monthly import triggers_run_monthly

logger = logging.getLogger(__name__)


def trigger_run_start(*, org_id: int, day: dt.date) -> int:
    """Create the day's trigger run (once) and queue a chunk task per account range."""
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
        # Personas were refreshed before scoring; one whose rules fail kept its old accounts.
        _problems_add(org=org, run=run, problems=persona_rule_problems())
        for index, first_id, last_id in bounds:
            enqueue_on_commit("triggers.evaluate_chunk", run.pk, index, first_id, last_id)
    return len(bounds)


def trigger_run_chunk(*, run_id: int, index: int, first_id: int, last_id: int) -> int:
    """Evaluate one chunk of the night's run and count it done (once, however often it is
    delivered); the chunk that completes the run queues the digest and, on day 1, the
    monthly run."""
    run = TriggerRun.all_objects.get(pk=run_id)
    org = Organization.objects.get(pk=run.organization_id)
    stats = triggers_evaluate(org=org, day=run.date, first_id=first_id, last_id=last_id)
    with transaction.atomic():
        run = TriggerRun.all_objects.select_for_update().get(pk=run_id)
        if index not in run.chunks_done:
            run.chunks_done = sorted([*run.chunks_done, index])
            run.fired += stats.fired
            run.save(update_fields=["chunks_done", "fired"])
            _problems_add(org=org, run=run, problems=stats.problems)
            if len(run.chunks_done) == run.chunks_total:
                _completed_on_commit(org_id=org.pk, day=run.date, inline=False)
                enqueue_on_commit("playbooks.send_digest", org.pk)
                if run.date.day == 1:
                    enqueue_on_commit("triggers.monthly", org.pk, run.date.isoformat())
    return stats.fired


def _completed_on_commit(*, org_id: int, day: dt.date, inline: bool) -> None:
    """The night's trigger stage is done: tell the layers above (reports refresh their
    facts) once the transaction commits."""
    transaction.on_commit(
        lambda: trigger_run_completed.send(
            sender=TriggerRun, organization_id=org_id, date=day, inline=inline
        )
    )


def trigger_run_monthly(*, org_id: int, day: dt.date) -> int:
    """Day 1, once the night's triggers are done: the monthly run; what it skips goes on the
    night's run too."""
    org = Organization.objects.get(pk=org_id)
    stats = triggers_run_monthly(org=org, day=day)
    problems_record(org=org, day=day, problems=stats.problems)
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
            defaults={"chunks_total": 1, "chunks_done": [0], "fired": fired},
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
    admins = list(
        Membership.objects.filter(
            organization=org, role=Role.ADMIN, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    notifications = []
    for problem in problems:
        kind, ref = _problem_key(problem)
        if kind == "trigger":
            text = gettext("Trigger “%(name)s” was skipped on %(day)s: %(error)s")
            url = reverse("admin:triggers_trigger_change", args=[ref])
            kind = NotificationKind.TRIGGER_PROBLEM
        else:
            text = gettext(
                "Persona “%(name)s” was not refreshed on %(day)s (its accounts stay as they "
                "were): %(error)s"
            )
            url = reverse("admin:accounts_persona_change", args=[ref])
            kind = NotificationKind.PERSONA_PROBLEM
        text = text % {"name": problem["name"], "day": day.isoformat(), "error": problem["error"]}
        max_text = Notification._meta.get_field("text").max_length
        notifications += [
            Notification(
                organization=org,
                user_id=user_id,
                kind=kind,
                ref=ref,
                text=text if len(text) <= max_text else text[: max_text - 1] + "…",
                url=url,
            )
            for user_id in admins
        ]
    if not notifications:  # an organization without an active admin: the run still lists it
        return 0
    Notification.objects.bulk_create(
        notifications,
        update_conflicts=True,
        unique_fields=["user", "kind", "ref"],
        # raised again: unread and unsent, and no digest's claim (one under way leaves it)
        update_fields=["text", "url", "created_at", "read_at", "emailed_at", "digest_claimed_at"],
    )
    return len(notifications)


def nightly_run_inline(
    *, org: Organization, day: dt.date, is_demo: bool = False, dense=None
) -> dict:
    """The whole chain for one day in this process (run_nightly, backfills): score, nightly
    triggers, playbooks and alerts, on day 1 the monthly run; notifications stay queued for
    the digest (sent only when asked)."""
    health = health_score_day(org=org, day=day, dense=dense)
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
        "fired": stats.fired,
        "playbooks": stats.playbooks + (monthly.playbooks if monthly else 0),
        "alerts": stats.alerts + (monthly.alerts if monthly else 0),
        "monthly_fired": monthly.fired if monthly else 0,
        "problems": problems,
        "seconds": stats.seconds,
    }
