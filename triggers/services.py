"""Trigger writes: the nightly and monthly evaluation (set-based, exactly once per trigger,
account and period), alerts confirmed or dismissed, and the monthly retention forecast.

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

import numpy as np
import pandas as pd
from django.db import DataError, connection, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Subscription
from conditions import ConditionError, fields_read
from orgs.bulk import update_from_values, upsert
from orgs.models import Organization, User
from orgs.tenancy import org_context
from playbooks.models import Notification, NotificationKind, PlaybookKind, PlaybookStatus
from playbooks.services import (
    PlaybookError,
    PlaybookSpec,
    notifications_mark_read_for,
    playbooks_create_bulk,
)

from .conditions import compile_condition, evaluate, evidence_records, evidence_texts
from .fields import load_frame
from .models import Action, Alert, AlertStatus, Firing, RetentionForecast, Schedule, Trigger

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
# COPY of orgs/bulk.py, which Django does not wrap) and what the playbook services refuse.
# OperationalError and other database errors propagate, for the task to retry.
WRITE_ERRORS = (DataError, ValueError, TypeError)


class TriggerUnusable(ValueError):
    """A trigger that cannot run as stored (its template deactivated or of another kind)."""


@dataclass
class TriggerStats:
    evaluated: int = 0
    fired: int = 0
    playbooks: int = 0
    alerts: int = 0
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


def _active_triggers(schedule: str) -> list[Trigger]:
    return list(
        Trigger.objects.filter(is_active=True, schedule=schedule)
        .select_related("template", "product", "persona")
        .prefetch_related("template__steps")
        .order_by("pk")
    )


def _blocked(triggers: list[Trigger], day: dt.date) -> dict[int, np.ndarray]:
    """Per trigger, the accounts in cool-down: a playbook or alert the trigger created is
    still open, or it fired within its cool-down days (before today)."""
    ids = [t.pk for t in triggers]
    open_pairs = pd.DataFrame(
        list(
            Firing.objects.filter(trigger_id__in=ids)
            .filter(Q(playbook__status=PlaybookStatus.OPEN) | Q(alert__status=AlertStatus.PENDING))
            .values_list("trigger_id", "account_id")
        ),
        columns=["trigger_id", "account_id"],
    )
    # A cool-down reaching before year 1 (any positive number is valid) means since ever.
    longest = min(max((t.cooldown_days for t in triggers), default=0), (day - dt.date.min).days)
    recent = pd.DataFrame(
        list(
            Firing.objects.filter(
                trigger_id__in=ids,
                fired_on__gte=day - dt.timedelta(days=longest),
                fired_on__lt=day,
            ).values_list("trigger_id", "account_id", "fired_on")
        )
        if longest
        else [],
        columns=["trigger_id", "account_id", "fired_on"],
    )
    if not recent.empty:
        cooldown = recent["trigger_id"].map({t.pk: t.cooldown_days for t in triggers})
        age = (pd.Timestamp(day) - pd.to_datetime(recent["fired_on"])).dt.days
        recent = recent[age < cooldown]
    pairs = pd.concat([open_pairs, recent[["trigger_id", "account_id"]]], ignore_index=True)
    return {
        int(trigger_id): group["account_id"].to_numpy()
        for trigger_id, group in pairs.groupby("trigger_id")
    }


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
        triggers = _active_triggers(schedule)
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
        needed = {"products"} if any(t.product_id for t in triggers) else set()
        for node in compiled.values():
            needed |= set(fields_read(node))
        frame = load_frame(day=day, fields=needed, first_id=first_id, last_id=last_id)
        blocked = _blocked(triggers, day)
        t1 = time.perf_counter()
        rows_of: dict[int, list] = {}  # per trigger that evaluated, its firings' rows
        for trigger in triggers:
            if frame.empty:
                break
            node = compiled[trigger.pk]
            rows = []
            try:
                # who the trigger may fire for: its persona, not holding its product, not cooling
                scope = pd.Series(True, index=frame.index)
                if trigger.persona_id:
                    scope &= frame["persona_id"] == trigger.persona_id
                if trigger.product_id:
                    scope &= ~frame["products"].str.contains(
                        f"|{trigger.product.code}|", regex=False
                    )
                if trigger.pk in blocked:
                    scope &= ~frame.index.isin(blocked[trigger.pk])
                stats.evaluated += len(frame)
                mask, evidence = evaluate(node, frame, within=scope)
                if mask.any():
                    texts = evidence_texts(node, frame, mask)
                    for account_id, record, text in zip(
                        evidence.index.tolist(),
                        evidence_records(evidence),
                        texts.tolist(),
                        strict=True,
                    ):
                        rows.append(
                            [org.pk, trigger.pk, account_id, period, day, trigger.version]
                            + [record, text]
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
            try:
                # One trigger's firings, playbooks and alerts commit together, or not at all.
                with transaction.atomic():
                    _firings_insert(rows)
                    playbooks, alerts = materialize(
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
            "created_at",
        ],
        rows=[r + [timezone.now()] for r in rows],
        conflict=["trigger_id", "account_id", "period"],
        update=[],
    )


def materialize(
    *,
    org: Organization,
    triggers: list[Trigger],
    period: dt.date,
    day: dt.date,
    is_demo: bool = False,
    first_id: int | None = None,
    last_id: int | None = None,
) -> tuple[int, int]:
    """Create the playbook or alert of every firing of the period that has neither."""
    by_id = {t.pk: t for t in triggers}
    with transaction.atomic():
        pending = Firing.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            trigger_id__in=list(by_id), period=period, playbook__isnull=True, alert__isnull=True
        )
        if first_id is not None:
            pending = pending.filter(account_id__gte=first_id, account_id__lte=last_id)
        pending = list(
            pending.select_related("account").only(
                "pk", "trigger_id", "account_id", "account__owner_id", "evidence", "evidence_text"
            )
        )
        to_playbook = [f for f in pending if by_id[f.trigger_id].action == Action.PLAYBOOK]
        to_alert = [f for f in pending if by_id[f.trigger_id].action == Action.ALERT]
        specs = [
            PlaybookSpec(
                account_id=f.account_id,
                owner_id=f.account.owner_id,
                template=by_id[f.trigger_id].template,
                opened_on=day,
                origin="trigger",
                origin_label=by_id[f.trigger_id].name,
                origin_ref=f.pk,
                evidence=f.evidence,
                evidence_text=f.evidence_text,
                is_demo=is_demo,
            )
            for f in to_playbook
        ]
        # A firing whose account already has an open playbook from the trigger's template
        # (another trigger opened it) is linked to that one: no second playbook, and the
        # trigger's cool-down holds while it is open.
        created = playbooks_create_bulk(org=org, specs=specs)
        update_from_values(
            table=Firing._meta.db_table,
            key="id",
            columns=[("playbook_id", "bigint")],
            rows=[(f.pk, p.pk) for f, p in zip(to_playbook, created.by_spec, strict=True)],
        )
        Alert.all_objects.bulk_create(
            [
                Alert(
                    organization=org, firing=f, account_id=f.account_id, owner_id=f.account.owner_id
                )
                for f in to_alert
            ],
            ignore_conflicts=True,
            batch_size=5000,
        )
        if to_alert:
            alerts = Alert.objects.filter(firing_id__in=[f.pk for f in to_alert]).values_list(
                "pk",
                "owner_id",
                "firing__trigger__name",
                "firing__trigger__template__name",
                "account__name",
            )
            alerts_url = reverse("playbooks:alerts")
            Notification.all_objects.bulk_create(
                [
                    Notification(
                        organization=org,
                        user_id=owner_id,
                        kind=NotificationKind.ALERT_RAISED,
                        ref=alert_id,
                        text=(
                            _ALERT_TEXT
                            % {"account": account, "trigger": trigger, "playbook": playbook}
                        )[:300],
                        url=alerts_url,
                    )
                    for alert_id, owner_id, trigger, playbook, account in alerts
                    if owner_id
                ],
                ignore_conflicts=True,
                batch_size=5000,
            )
    return len(created.new), len(to_alert)


_ALERT_TEXT = _("%(account)s: %(trigger)s — confirm to start “%(playbook)s”, or dismiss")


# -- alerts -----------------------------------------------------------------------------


def alert_confirm(*, alert_id: int, user: User, today: dt.date) -> Alert:
    """The CSM confirms the risk: the trigger's playbook is created, with the evidence; if the
    account already has that template's playbook open, the alert joins it instead
    (`alert.joined_open` says so). A churned account's alerts were closed when it churned."""
    with transaction.atomic():
        # the account first, then the alert: the order a churn takes them in
        account_id = Alert.objects.values_list("account_id", flat=True).get(pk=alert_id)
        list(Account.objects.select_for_update().filter(pk=account_id).values_list("pk"))
        alert = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("firing__trigger__template", "account")
            .get(pk=alert_id)
        )
        if alert.status != AlertStatus.PENDING:
            raise PlaybookError("alert", f"this alert was already {alert.status}")
        firing = alert.firing
        trigger = firing.trigger
        org = Organization.objects.get(pk=alert.organization_id)
        created = playbooks_create_bulk(
            org=org,
            specs=[
                PlaybookSpec(
                    account_id=alert.account_id,
                    owner_id=alert.account.owner_id or user.pk,
                    template=trigger.template,
                    opened_on=today,
                    origin="trigger",
                    origin_label=trigger.name,
                    origin_ref=firing.pk,
                    evidence=firing.evidence,
                    evidence_text=firing.evidence_text,
                )
            ],
            acting_user_id=user.pk,
        )
        (playbook,) = created.by_spec
        alert.status = AlertStatus.CONFIRMED
        alert.decided_at = timezone.now()
        alert.decided_by = user
        alert.playbook = playbook
        alert.save(update_fields=["status", "decided_at", "decided_by", "playbook"])
        alert.joined_open = not created.new
        firing.playbook = playbook
        firing.save(update_fields=["playbook"])
        notifications_mark_read_for(kind=NotificationKind.ALERT_RAISED, ref=alert.pk)
    logger.info("alert confirmed id=%s playbook=%s by=%s", alert.pk, playbook.pk, user.pk)
    return alert


def alert_dismiss(*, alert_id: int, user: User, reason: str) -> Alert:
    reason = (reason or "").strip()
    if not reason:
        raise PlaybookError("reason", "say why the alert is dismissed")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert_id)
        if alert.status != AlertStatus.PENDING:
            raise PlaybookError("alert", f"this alert was already {alert.status}")
        alert.status = AlertStatus.DISMISSED
        alert.dismiss_reason = reason[:240]
        alert.decided_at = timezone.now()
        alert.decided_by = user
        alert.save(update_fields=["status", "dismiss_reason", "decided_at", "decided_by"])
        notifications_mark_read_for(kind=NotificationKind.ALERT_RAISED, ref=alert.pk)
    logger.info("alert dismissed id=%s by=%s", alert.pk, user.pk)
    return alert


# -- the monthly retention forecast -----------------------------------------------------


def retention_forecast_compute(*, org: Organization, month: dt.date) -> list[RetentionForecast]:
    """Per persona and main product (the account's largest subscription): retention alerts
    raised this month, open retention playbooks with steps due in it, and the actions to
    expect = alerts x the share confirmed over the last 6 months + those open playbooks.
    Replaces the month's rows."""
    month = month.replace(day=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    with org_context(org), transaction.atomic():
        decided = Alert.objects.filter(
            firing__trigger__kind=PlaybookKind.RETENTION,
            decided_at__date__gte=month - dt.timedelta(days=182),
            decided_at__date__lt=month,
        ).aggregate(
            confirmed=Count("pk", filter=Q(status=AlertStatus.CONFIRMED)),
            total=Count("pk", filter=~Q(status=AlertStatus.PENDING)),
        )
        confirm_rate = decided["confirmed"] / decided["total"] if decided["total"] else 1.0
        alerts = pd.DataFrame(
            list(
                Alert.objects.filter(
                    firing__trigger__kind=PlaybookKind.RETENTION,
                    firing__period=month,
                    firing__trigger__schedule=Schedule.MONTHLY,
                ).values_list("account_id", "account__persona_id", "account__mrr")
            ),
            columns=["account_id", "persona_id", "mrr"],
        )
        alerts["kind"] = "alert"
        from playbooks.models import Playbook

        open_playbooks = pd.DataFrame(
            list(
                Playbook.objects.filter(
                    kind=PlaybookKind.RETENTION,
                    status=PlaybookStatus.OPEN,
                    steps__status="open",
                    steps__due_on__gte=month,
                    steps__due_on__lt=next_month,
                )
                .distinct()
                .values_list("account_id", "account__persona_id", "account__mrr")
            ),
            columns=["account_id", "persona_id", "mrr"],
        )
        open_playbooks["kind"] = "playbook"
        both = pd.concat([alerts, open_playbooks], ignore_index=True)
        subs = pd.DataFrame(
            list(
                Subscription.objects.filter(status="active").values_list(
                    "account_id", "product_id", "mrr"
                )
            ),
            columns=["account_id", "product_id", "mrr"],
        )
        main = (
            subs.sort_values(["account_id", "mrr"], ascending=[True, False])
            .drop_duplicates("account_id")
            .set_index("account_id")["product_id"]
        )
        both["product_id"] = both["account_id"].map(main)
        both["mrr"] = both["mrr"].astype("float64")
        RetentionForecast.objects.filter(month=month).delete()
        cells = []
        if not both.empty:
            keys = ["persona_id", "product_id"]
            grouped = both.fillna({"persona_id": -1, "product_id": -1}).groupby(keys)
            for (persona_id, product_id), group in grouped:
                n_alerts = int((group["kind"] == "alert").sum())
                n_playbooks = int((group["kind"] == "playbook").sum())
                accounts = group.drop_duplicates("account_id")
                cells.append(
                    RetentionForecast(
                        organization=org,
                        month=month,
                        persona_id=None if persona_id == -1 else int(persona_id),
                        product_id=None if product_id == -1 else int(product_id),
                        alerts_raised=n_alerts,
                        expected_actions=int(np.ceil(n_alerts * confirm_rate)) + n_playbooks,
                        accounts_at_risk=len(accounts),
                        mrr_at_risk=round(float(accounts["mrr"].sum()), 2),
                    )
                )
        RetentionForecast.all_objects.bulk_create(cells)
    logger.info("retention forecast org=%s month=%s cells=%s", org.slug, month, len(cells))
    return cells


def monthly_run(*, org: Organization, day: dt.date, is_demo: bool = False) -> TriggerStats:
    """Day 1: the month's retention (monthly) triggers, then the forecast."""
    stats = triggers_evaluate(org=org, day=day, schedule=Schedule.MONTHLY, is_demo=is_demo)
    retention_forecast_compute(org=org, month=day)
    return stats


# -- churned accounts -------------------------------------------------------------------


def alerts_close_for_churn(
    *, organization_id: int, churns: list, acting_user: User | None = None
) -> int:
    """Accounts churned (the accounts_churned hook): their pending alerts are closed, as
    dismissed with the reason ("account churned on <date>: <reason>"), and their
    notifications read. Set-based; returns the alerts closed."""
    why = {c.account_id: c.text for c in churns}
    rows = list(
        Alert.all_objects.select_for_update(of=("self",))
        .filter(
            organization_id=organization_id,
            account_id__in=list(why),
            status=AlertStatus.PENDING,
        )
        .values_list("pk", "account_id")
    )
    if not rows:
        return 0
    now = timezone.now()
    decider = getattr(acting_user, "pk", None)
    update_from_values(
        table=Alert._meta.db_table,
        key="id",
        columns=[
            ("status", "varchar"),
            ("dismiss_reason", "varchar"),
            ("decided_at", "timestamptz"),
            ("decided_by_id", "bigint"),
        ],
        condition=f"t.organization_id = {int(organization_id)}",
        rows=[
            (pk, AlertStatus.DISMISSED.value, why[account_id][:240], now, decider)
            for pk, account_id in rows
        ],
    )
    Notification.all_objects.filter(
        organization_id=organization_id,
        kind=NotificationKind.ALERT_RAISED,
        ref__in=[pk for pk, _ in rows],
        read_at__isnull=True,
    ).update(read_at=now)
    logger.info(
        "alerts closed for churn org=%s accounts=%s alerts=%s",
        organization_id,
        len(why),
        len(rows),
    )
    return len(rows)
