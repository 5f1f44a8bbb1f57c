"""Evaluating triggers and recording what fired: set-based, exactly once per trigger,
account and period, each firing turned into its playbook or alert.

Exactly once: firings are inserted with ON CONFLICT DO NOTHING against the unique (trigger,
account, period); then the firings of the period that have neither playbook nor alert are
locked (SKIP LOCKED) and materialized, so a re-run or a second runner at the same time finds
nothing left to do.

One trigger never stops the others: each is checked, evaluated and written on its own (its
writes in their own transaction); what one trigger's configuration or data raises is caught,
logged and returned as a problem of that trigger, and the stage goes on. Database errors other
than bad data are not caught, so the task retries them."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

import pandas as pd
from django.db import DataError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from conditions import ConditionError
from conditions.phrases import PHRASES_KEY
from csplatform.db.bulk import update_from_values, upsert
from orgs.models import Organization
from orgs.tenancy import org_context
from playbooks.models import Notification, NotificationKind
from playbooks.services import (
    PlaybooksCreated,
    PlaybookSpec,
    notification_phrase,
    playbooks_create_bulk,
)

from .. import selectors
from ..conditions import (
    compile_condition,
    evaluate,
    evidence_phrases,
    evidence_records,
    evidence_texts,
    frame_fields,
    trigger_scope,
)
from ..fields import load_frame
from ..models import Action, Alert, Firing, FiringQueue, Schedule, Trigger
from ..signals import firings_created

logger = logging.getLogger(__name__)

# What one trigger's condition or the values it reads can raise while it is evaluated: the
# condition language's errors (ConditionError is a ValueError), pandas' and numpy's (mostly
# ValueError and TypeError: out-of-bounds dates, impossible casts), arithmetic (overflow,
# decimal), a lookup. Reported as that trigger's problem; nothing else is caught.
EVALUATION_ERRORS = (
    ValueError,
    TypeError,
    ArithmeticError,
    LookupError,
    RecursionError,
    pd.errors.InvalidIndexError,
)
# Writing one trigger's firings, playbooks and alerts: values the database refuses (a JSON
# evidence with Infinity, a number out of range; the driver's own DataError too, from the
# COPY of csplatform/db/bulk.py, which Django does not wrap) and what the playbook services refuse.
# OperationalError and other database errors propagate, for the task to retry.
WRITE_ERRORS = (DataError, ValueError, TypeError, ArithmeticError)


class TriggerUnusable(ValueError):
    """A trigger that cannot run as stored (its template deactivated or of another kind)."""


@dataclass
class TriggerStats:
    evaluated: int = 0
    fired: int = 0
    playbooks: int = 0
    alerts: int = 0
    queued: int = 0  # firings that wait for their owner's capacity (the weekly cap)
    dropped: int = 0  # queued firings whose trigger no longer matched their account
    released: int = 0  # queued firings the night's release turned into playbooks or alerts
    waiting: int | None = None  # queued after the release (None: not released here)
    seconds: dict = field(default_factory=lambda: {"read": 0.0, "evaluate": 0.0, "write": 0.0})
    # One per trigger that was skipped: {"trigger": id, "name": ..., "error": ...}.
    problems: list[dict] = field(default_factory=list)

    def report(self, *, org: Organization, trigger: Trigger, error: str, exc=None) -> None:
        """Skip `trigger` for this run: log it with its organization, keep it as a problem."""
        log = logger.error if exc is None else logger.exception
        log(
            "trigger skipped org=%s trigger=%s name=%r: %s",
            org.slug,
            trigger.pk,
            trigger.name,
            error,
            exc_info=exc,
        )
        if not any(p.get("trigger") == trigger.pk for p in self.problems):
            self.problems.append({"trigger": trigger.pk, "name": trigger.name, "error": error})


def _error_text(exc: BaseException) -> str:
    """One line for the admin: the message (a database's first two lines: what and DETAIL),
    with the kind of error unless it is a plain ValueError."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " ".join(lines[:2]) or type(exc).__name__
    return text if type(exc) is ValueError else f"{type(exc).__name__}: {text}"


def period_of(schedule: str, day: dt.date) -> dt.date:
    return day.replace(day=1) if schedule == Schedule.MONTHLY else day


def _trigger_check(trigger: Trigger):
    """The trigger's compiled condition; raises what keeps it from running as stored: a
    condition that no longer validates (ConditionError), a template deactivated or of another
    kind than the trigger (TriggerUnusable). The same checks as saving it."""
    node = compile_condition(trigger.condition)
    template = trigger.template
    if not template.is_active:
        raise TriggerUnusable(
            gettext("its playbook template “%(template)s” is deactivated")
            % {"template": template.name}
        )
    if template.kind != trigger.kind:
        raise TriggerUnusable(
            gettext("its playbook template makes %(template_kind)s playbooks; it is %(kind)s")
            % {"template_kind": template.kind, "kind": trigger.kind}
        )
    return node


def triggers_evaluate(
    *,
    org: Organization,
    day: dt.date,
    schedule: str = Schedule.NIGHTLY,
    first_id: int | None = None,
    last_id: int | None = None,
    is_demo: bool = False,
    stats: TriggerStats | None = None,
) -> TriggerStats:
    """Evaluate the organization's active triggers of `schedule` for `day` (optionally for a
    chunk of account ids), record the firings with their evidence, and create their playbooks
    or alerts. Idempotent and safe to run twice at once. A trigger that cannot be evaluated or
    written is skipped and listed in `stats.problems`; the others run."""
    stats = stats or TriggerStats()
    period = period_of(schedule, day)
    with org_context(org):
        t0 = time.perf_counter()
        triggers = selectors.triggers_active(schedule=schedule)
        compiled = {}
        for trigger in triggers:
            try:
                compiled[trigger.pk] = _trigger_check(trigger)
            except ConditionError as exc:  # saved before a catalogue change, or written raw
                stats.report(
                    org=org,
                    trigger=trigger,
                    error=gettext("its condition no longer validates: %(error)s") % {"error": exc},
                )
            except TriggerUnusable as exc:
                stats.report(org=org, trigger=trigger, error=str(exc))
        triggers = [t for t in triggers if t.pk in compiled]
        if not triggers:
            return stats
        needed: set[str] = set()
        for trigger in triggers:
            needed |= frame_fields(trigger, compiled[trigger.pk])
        frame = load_frame(day=day, fields=needed, first_id=first_id, last_id=last_id)
        blocked = selectors.accounts_cooling_down(triggers=triggers, day=day)
        # Nightly firings of capped triggers wait in the queue for the release (services/
        # caps.py); those already waiting are kept if their trigger still matches tonight,
        # dropped if not. Monthly triggers are not capped (their alerts count against it).
        caps = selectors.caps_in_force() if schedule == Schedule.NIGHTLY else None
        queued = selectors.firings_queued_in_range(
            trigger_ids=[t.pk for t in triggers], first_id=first_id, last_id=last_id
        )
        queued_of = {
            int(t): group["account_id"].to_numpy() for t, group in queued.groupby("trigger_id")
        }
        still_of: dict[int, pd.Index] = {}  # per trigger, the waiting accounts it matched
        t1 = time.perf_counter()
        rows_of: dict[int, list] = {}  # per trigger that evaluated, its firings' rows
        for trigger in triggers:
            if frame.empty:
                break
            node = compiled[trigger.pk]
            rows = []
            queue_state = (
                FiringQueue.QUEUED
                if caps is not None and caps.caps_trigger(trigger.persona_id)
                else FiringQueue.NONE
            )
            try:
                # who the trigger may fire for: its persona, not holding its product, not cooling
                scope = trigger_scope(trigger, frame)
                if trigger.pk in blocked:
                    scope &= ~frame.index.isin(blocked[trigger.pk])
                stats.evaluated += len(frame)
                mask, evidence = evaluate(node, frame, within=scope)
                # an account whose firing of this trigger waits in the queue keeps it (its age
                # is its place): no new firing, no evidence to compute, it still matches
                waiting = queued_of.get(trigger.pk)
                if waiting is not None:
                    is_waiting = frame.index.isin(waiting)
                    still_of[trigger.pk] = frame.index[mask.to_numpy() & is_waiting]
                    mask = mask & ~is_waiting
                    evidence = evidence[~evidence.index.isin(waiting)]
                if mask.any():
                    texts = evidence_texts(node, frame, mask)
                    # the sentences as data too, so each reader gets them in their language
                    phrases = evidence_phrases(node, frame, mask)
                    for account_id, record, text, said in zip(
                        evidence.index.tolist(),
                        evidence_records(evidence),
                        texts.tolist(),
                        phrases.tolist(),
                        strict=True,
                    ):
                        record[PHRASES_KEY] = said
                        rows.append(
                            [org.pk, trigger.pk, account_id, period, day, trigger.version]
                            + [record, text, queue_state]
                        )
            except EVALUATION_ERRORS as exc:
                stats.report(
                    org=org,
                    trigger=trigger,
                    error=gettext("evaluating its condition failed: %(error)s")
                    % {"error": _error_text(exc)},
                    exc=exc,
                )
                continue
            rows_of[trigger.pk] = rows
        t2 = time.perf_counter()
        fired = created_playbooks = created_alerts = 0
        for trigger in triggers:
            if not frame.empty and trigger.pk not in rows_of:
                continue  # its evaluation failed: nothing of it is written tonight
            rows = rows_of.get(trigger.pk, [])
            # the waiting firings their trigger still matched stay queued, the others drop
            waiting = queued[queued["trigger_id"] == trigger.pk]
            still = waiting["account_id"].isin(still_of.get(trigger.pk, [])).to_numpy()
            drop = waiting["firing_id"][~still].tolist()
            try:
                # One trigger's firings, playbooks and alerts commit together, or not at all.
                with transaction.atomic():
                    _firings_insert(rows)
                    if drop:
                        Firing.objects.filter(pk__in=drop).update(queue_state=FiringQueue.DROPPED)
                    playbooks, alerts = firings_materialize(
                        org=org,
                        triggers=[trigger],
                        period=period,
                        day=day,
                        is_demo=is_demo,
                        first_id=first_id,
                        last_id=last_id,
                    )
            except (*WRITE_ERRORS, connection.Database.DataError) as exc:
                stats.report(
                    org=org,
                    trigger=trigger,
                    error=gettext("recording its firings failed: %(error)s")
                    % {"error": _error_text(exc)},
                    exc=exc,
                )
                continue
            fired += len(rows)
            created_playbooks += playbooks
            created_alerts += alerts
            stats.queued += sum(1 for row in rows if row[-1] == FiringQueue.QUEUED)
            stats.dropped += len(drop)
        if schedule == Schedule.NIGHTLY and first_id is None:
            # The whole organization at once (not a chunk of a chained run, whose close
            # releases): the night's release of the cap's queue follows here, but for the
            # triggers it could not check tonight.
            from .caps import firings_release

            release = firings_release(
                org=org,
                day=day,
                is_demo=is_demo,
                skip_triggers=[p["trigger"] for p in stats.problems if "trigger" in p],
            )
            created_playbooks += release.playbooks
            created_alerts += release.alerts
            stats.released += release.released
            stats.waiting = release.waiting
        stats.fired += fired
        stats.playbooks += created_playbooks
        stats.alerts += created_alerts
        stats.seconds["read"] += t1 - t0
        stats.seconds["evaluate"] += t2 - t1
        stats.seconds["write"] += time.perf_counter() - t2
    logger.info(
        "triggers evaluated org=%s day=%s schedule=%s fired=%s playbooks=%s alerts=%s skipped=%s",
        org.slug,
        day,
        schedule,
        fired,
        created_playbooks,
        created_alerts,
        len(stats.problems),
    )
    return stats


def _firings_insert(rows: list[list]) -> None:
    """Insert-if-absent against the unique (trigger, account, period)."""
    upsert(
        table=Firing._meta.db_table,
        columns=[
            "organization_id",
            "trigger_id",
            "account_id",
            "period",
            "fired_on",
            "trigger_version",
            "evidence",
            "evidence_text",
            "queue_state",
            "created_at",
        ],
        rows=[r + [timezone.now()] for r in rows],
        conflict=["trigger_id", "account_id", "period"],
        update=[],
    )


def firings_materialize(
    *,
    org: Organization,
    triggers: list[Trigger],
    period: dt.date,
    day: dt.date,
    is_demo: bool = False,
    first_id: int | None = None,
    last_id: int | None = None,
) -> tuple[int, int]:
    """Create the playbook or alert of every firing of the period that has neither; returns
    how many playbooks were opened and alerts raised."""
    by_id = {t.pk: t for t in triggers}
    with transaction.atomic():
        pending = list(
            selectors.firings_unmaterialized(
                trigger_ids=list(by_id), period=period, first_id=first_id, last_id=last_id
            )
        )
        to_playbook = [f for f in pending if by_id[f.trigger_id].action == Action.PLAYBOOK]
        to_alert = [f for f in pending if by_id[f.trigger_id].action == Action.ALERT]
        created = playbooks_open_for_firings(
            org=org, firings=to_playbook, triggers=by_id, opened_on=day, is_demo=is_demo
        )
        alerts_raise_for_firings(org=org, firings=to_alert)
        firings_mark_delivered(firing_ids=[f.pk for f in pending], day=day)
        if pending:
            firings_created.send(
                sender=Firing, organization_id=org.pk, firing_ids=[f.pk for f in pending]
            )
    return len(created.new), len(to_alert)


def firings_mark_delivered(*, firing_ids: list[int], day: dt.date) -> None:
    """Record the night whose run created these firings' playbooks or alerts: a week's
    capacity under the cap is counted from it."""
    for i in range(0, len(firing_ids), 5000):
        Firing.objects.filter(pk__in=firing_ids[i : i + 5000]).update(delivered_on=day)


def playbooks_open_for_firings(
    *,
    org: Organization,
    firings: list[Firing],
    triggers: dict[int, Trigger],
    opened_on: dt.date,
    is_demo: bool = False,
    fallback_owner_id: int | None = None,
    acting_user_id: int | None = None,
) -> PlaybooksCreated:
    """Open each firing's playbook from its trigger's template, owned by the account's owner
    (else `fallback_owner_id`), carrying the trigger's name and the firing's evidence, and
    link the firing to it. A firing whose account already has that template's playbook open
    (another trigger opened it) is linked to that one: no second playbook, and the trigger's
    cool-down holds while it is open. `firings` come with their account loaded."""
    specs = [
        PlaybookSpec(
            account_id=f.account_id,
            owner_id=f.account.owner_id or fallback_owner_id,
            template=triggers[f.trigger_id].template,
            opened_on=opened_on,
            origin="trigger",
            origin_label=triggers[f.trigger_id].name,
            origin_ref=f.pk,
            evidence=f.evidence,
            evidence_text=f.evidence_text,
            is_demo=is_demo,
        )
        for f in firings
    ]
    created = playbooks_create_bulk(org=org, specs=specs, acting_user_id=acting_user_id)
    update_from_values(
        table=Firing._meta.db_table,
        key="id",
        columns=[("playbook_id", "bigint")],
        rows=[(f.pk, p.pk) for f, p in zip(firings, created.by_spec, strict=True)],
        org_id=org.pk,
    )
    for firing, playbook in zip(firings, created.by_spec, strict=True):
        firing.playbook = playbook
    return created


def alerts_raise_for_firings(*, org: Organization, firings: list[Firing]) -> None:
    """Raise an alert for each firing, for its account's owner to confirm or dismiss, and
    tell the owner. Unique per firing, so a second runner raises nothing twice."""
    Alert.objects.bulk_create(
        [
            Alert(organization=org, firing=f, account_id=f.account_id, owner_id=f.account.owner_id)
            for f in firings
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )
    if not firings:
        return
    alerts = Alert.objects.filter(firing_id__in=[f.pk for f in firings]).values_list(
        "pk",
        "owner_id",
        "firing__trigger__name",
        "firing__trigger__template__name",
        "account__name",
    )
    alerts_url = reverse("triggers:alerts")
    rows = []
    for alert_id, owner_id, trigger, playbook, account in alerts:
        if not owner_id:
            continue
        text, phrase = notification_phrase(
            _ALERT_TEXT, {"account": account, "trigger": trigger, "playbook": playbook}
        )
        rows.append(
            Notification(
                organization=org,
                user_id=owner_id,
                kind=NotificationKind.ALERT_RAISED,
                ref=alert_id,
                text=text,
                phrase=phrase,
                url=alerts_url,
            )
        )
    Notification.objects.bulk_create(
        rows,
        ignore_conflicts=True,
        batch_size=5000,
    )


_ALERT_TEXT = _("%(account)s: %(trigger)s — confirm to start “%(playbook)s”, or dismiss")
