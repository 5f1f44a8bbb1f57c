"""Simulated CSM work on the firings of a backfilled year: alerts decided, steps done,
outcomes recorded with win shares per product, churns arriving, old notifications read.
Every simulated decision and outcome is marked as demo data."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from accounts.demo.words import demo_words
from accounts.models import Account, ChurnReason, Product, Subscription
from accounts.services import Churn, accounts_mark_churned, subscription_add
from csplatform.db.bulk import update_from_values
from orgs.models import Organization
from orgs.tenancy import org_context
from playbooks.models import (
    Playbook,
    PlaybookStatus,
    PlaybookStep,
    PlaybookTemplate,
    StepStatus,
)
from playbooks.services import PlaybookSpec, playbooks_create_bulk

from ..models import Alert, AlertStatus, Firing, Trigger

logger = logging.getLogger(__name__)

# -- simulated CSM work -------------------------------------------------------------------

DISMISS_REASONS = [
    "Seasonal dip, the customer confirmed",
    "Known issue already being handled",
    "Data problem on our side",
    "Spoke to the sponsor: no risk",
]


def simulate_csm_work(*, org: Organization, day: dt.date, rng: np.random.Generator) -> dict:
    """What CSMs would have done on `day`: decide alerts a few days old (most confirmed),
    complete steps due (most on time, some late), and close playbooks whose steps are done
    with outcomes that agree with what happened to the account. Marked as demo data.

    Runs once per backfilled day, so it reads each kind of row once (templates with their
    steps, products, triggers' products) and writes back with one UPDATE statement per table
    (`_rows_update`), not Django's bulk_update, whose CASE per row and field cost seconds."""
    now = timezone.make_aware(dt.datetime.combine(day, dt.time(15, 0)))
    counts = {"alerts_confirmed": 0, "alerts_dismissed": 0, "steps_done": 0, "closed": 0}
    with org_context(org), transaction.atomic():
        # 0. the seed's churns that have come by today happen now, through the one service
        counts["churned"] = _churns_arrive(org=org, day=day, now=now)
        templates = {t.pk: t for t in PlaybookTemplate.objects.prefetch_related("steps")}
        # 1. alerts raised 1-4 days ago get a decision
        # by the firing's day: created_at is the wall clock of the backfill, not the day
        pending = list(
            Alert.objects.filter(status=AlertStatus.PENDING)
            .filter(firing__fired_on__lte=day - dt.timedelta(days=1))
            .select_related("firing__trigger", "account")
            # by id: Alert's default order is its wall-clock created_at, whose ties (one bulk
            # insert) a query plan may break either way, and the draws below follow this order
            .order_by("pk")
        )
        decide = [a for a in pending if (day - a.firing.fired_on).days >= rng.integers(1, 5)]
        confirm = [a for a in decide if rng.random() < 0.7]
        confirmed = {a.pk for a in confirm}
        dismiss = [a for a in decide if a.pk not in confirmed]
        specs = [
            PlaybookSpec(
                account_id=a.account_id,
                owner_id=a.account.owner_id,
                template=templates[a.firing.trigger.template_id],
                opened_on=day,
                origin="trigger",
                origin_label=a.firing.trigger.name,
                origin_ref=a.firing_id,
                evidence=a.firing.evidence,
                evidence_text=a.firing.evidence_text,
                is_demo=True,
            )
            for a in confirm
        ]
        playbooks = playbooks_create_bulk(org=org, specs=specs).by_spec
        for alert, playbook in zip(confirm, playbooks, strict=True):
            alert.status, alert.playbook, alert.decided_at = AlertStatus.CONFIRMED, playbook, now
            alert.decided_by_id = alert.owner_id
        w = demo_words(org.locale)
        for alert in dismiss:
            alert.status, alert.decided_at = AlertStatus.DISMISSED, now
            alert.decided_by_id = alert.owner_id
            alert.dismiss_reason = w(DISMISS_REASONS[int(rng.integers(len(DISMISS_REASONS)))])
        _rows_update(
            org,
            Alert,
            confirm + dismiss,
            ["status", "playbook", "decided_at", "decided_by", "dismiss_reason"],
        )
        _rows_update(
            org, Firing, [_with_playbook(a.firing, a.playbook) for a in confirm], ["playbook"]
        )
        counts["alerts_confirmed"], counts["alerts_dismissed"] = len(confirm), len(dismiss)

        # 2. steps due by today: 75% done on their day, the rest a few days late
        due = list(
            PlaybookStep.objects.filter(status=StepStatus.OPEN, due_on__lte=day).only(
                "pk", "due_on", "assignee_id"
            )
        )
        done = [
            s
            for s in due
            if s.due_on == day
            and rng.random() < 0.75
            or (day - s.due_on).days >= rng.integers(2, 9)
        ]
        for step in done:
            step.status, step.completed_at, step.completed_by_id = (
                StepStatus.DONE,
                now,
                step.assignee_id,
            )
        _rows_update(org, PlaybookStep, done, ["status", "completed_at", "completed_by"])
        counts["steps_done"] = len(done)

        # 3. playbooks with every step done are closed with an outcome; the CSM fighting for
        # an account that will churn keeps its retention or renewal playbook open until the
        # churn comes (step 0 of that day records it there)
        closable = list(
            Playbook.objects.filter(status=PlaybookStatus.OPEN)
            .exclude(steps__status=StepStatus.OPEN)
            .exclude(
                kind__in=CHURN_RECORDED_IN,
                account__churned_at__lte=day + dt.timedelta(days=CHURNS_SOON_DAYS),
            )
            .select_related("account", "template")
        )
        products = {p.pk: p for p in Product.objects.all()}
        trigger_products = dict(Trigger.objects.values_list("name", "product_id"))
        codes = {pk: p.code for pk, p in products.items()}
        for playbook in closable:
            _simulate_outcome(playbook, day, rng, trigger_products, codes)
            playbook.outcome_notes = demo_words(org.locale)(playbook.outcome_notes)
            if playbook.outcome == "won":
                subscription_add(
                    account=playbook.account,
                    product=products[playbook.opportunity_product_id],
                    mrr=playbook.mrr_won,
                    start_date=day,
                    note="demo: won in a simulated expansion playbook",
                )
            playbook.status, playbook.closed_at = PlaybookStatus.COMPLETED, now
            playbook.closed_by_id, playbook.is_demo = playbook.owner_id, True
        _rows_update(
            org,
            Playbook,
            closable,
            [
                "status",
                "closed_at",
                "closed_by",
                "is_demo",
                "outcome",
                "opportunity_product",
                "expected_mrr",
                "mrr_won",
                "churn_reason",
                "outcome_notes",
            ],
        )
        counts["closed"] = len(closable)
    return counts


# The kinds of playbook a churn is recorded in, and how far ahead a CSM sees it coming.
CHURN_RECORDED_IN = ("retention", "renewal")
CHURNS_SOON_DAYS = 120


def _churns_arrive(*, org: Organization, day: dt.date, now: dt.datetime) -> int:
    """Accounts whose churn date (from the seed) has come by `day` and that still have work
    open or subscriptions active: the churn is recorded in the latest open retention or
    renewal playbook (outcome churned, as a CSM closes it), then goes through
    accounts_mark_churned, the one way an account churns, whose hook cancels the account's
    other open playbooks and closes its pending alerts, and which cancels the subscriptions
    the simulation added. Set-based; returns the accounts churned."""
    # three joins over the open work rather than correlated subqueries: SQLite would read
    # each one through the organization's index, once per account
    gone = {"account__churned_at__lte": day}
    busy = {
        *Playbook.objects.filter(status=PlaybookStatus.OPEN, **gone).values_list(
            "account_id", flat=True
        ),
        *Alert.objects.filter(status=AlertStatus.PENDING, **gone).values_list(
            "account_id", flat=True
        ),
        *Subscription.objects.filter(status="active", **gone).values_list("account_id", flat=True),
    }
    rows = list(
        Account.objects.filter(pk__in=sorted(busy)).values_list(
            "pk", "churned_at", "churn_reason_id"
        )
    )
    if not rows:
        return 0
    fallback = ChurnReason.objects.order_by("pk").values_list("pk", flat=True).first()
    reason = {pk: reason_id or fallback for pk, _, reason_id in rows}
    recorded, seen = [], set()
    for playbook in Playbook.objects.filter(
        account_id__in=list(reason), status=PlaybookStatus.OPEN, kind__in=CHURN_RECORDED_IN
    ).order_by("account_id", "-opened_on", "-pk"):
        if playbook.account_id in seen:
            continue
        seen.add(playbook.account_id)
        playbook.status, playbook.outcome = PlaybookStatus.COMPLETED, "churned"
        playbook.churn_reason_id = reason[playbook.account_id]
        playbook.closed_at, playbook.closed_by_id = now, playbook.owner_id
        playbook.outcome_notes = demo_words(org.locale)("Simulated by the demo seed.")
        playbook.is_demo = True
        recorded.append(playbook)
    _rows_update(
        org,
        Playbook,
        recorded,
        ["status", "outcome", "churn_reason", "closed_at", "closed_by", "outcome_notes", "is_demo"],
    )
    PlaybookStep.objects.filter(
        playbook_id__in=[p.pk for p in recorded], status=StepStatus.OPEN
    ).update(status=StepStatus.SKIPPED)
    churns = [
        Churn(account_id=pk, churned_at=churned_at, reason_id=reason[pk])
        for pk, churned_at, _ in rows
        if reason[pk] is not None
    ]
    accounts_mark_churned(org=org, churns=churns, note="demo: the customer left")
    return len(churns)


def _rows_update(org: Organization, model, objs: list, fields: list[str]) -> None:
    """Write `fields` of `objs` (rows of `org`) back, set-based: one UPDATE ... FROM (VALUES)
    on PostgreSQL, one executemany on SQLite (csplatform.db.bulk.update_from_values)."""
    if not objs:
        return
    concrete = [model._meta.get_field(name) for name in fields]
    update_from_values(
        table=model._meta.db_table,
        key="id",
        columns=[(f.column, f.db_type(connection)) for f in concrete],
        rows=[
            [obj.pk, *(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in concrete)]
            for obj in objs
        ],
        org_id=org.pk,
    )


def _with_playbook(firing, playbook):
    firing.playbook = playbook
    return firing


# Of the opportunities an expansion offer opens, the share won, per product: some offers
# sell (the source case saw up to 46% of playbooks convert), one hardly ever does, so the
# trigger report has conversions that differ (30% of playbooks find no opportunity at all).
OPPORTUNITY_WIN_SHARE = {"analytics": 0.62, "payments": 0.45, "mobile": 0.3, "marketplace": 0.04}
DEFAULT_WIN_SHARE = 0.5


def _simulate_outcome(
    playbook: Playbook, day, rng, trigger_products: dict, product_codes: dict | None = None
) -> None:
    account: Account = playbook.account
    churns_soon = account.churned_at is not None and account.churned_at <= day + dt.timedelta(
        days=120
    )
    playbook.outcome_notes = "Simulated by the demo seed."
    if playbook.kind == "expansion":
        roll = rng.random()
        trigger_product = trigger_products.get(playbook.origin_label)
        playbook.opportunity_product_id = trigger_product
        expected = Decimal(str(round(float(account.mrr or 1000) * rng.uniform(0.1, 0.4), 2)))
        win = OPPORTUNITY_WIN_SHARE.get(
            (product_codes or {}).get(trigger_product), DEFAULT_WIN_SHARE
        )
        if roll < 0.3 or trigger_product is None:
            playbook.outcome = "no_opportunity"
        elif roll < 0.3 + 0.7 * (1 - win):
            playbook.outcome, playbook.expected_mrr = "lost", expected
        else:
            playbook.outcome, playbook.expected_mrr = "won", expected
            playbook.mrr_won = (expected * Decimal(str(round(rng.uniform(0.8, 1.1), 2)))).quantize(
                Decimal("0.01")
            )
    elif playbook.kind in CHURN_RECORDED_IN:
        # (an account churning soon keeps these open: _churns_arrive records the churn)
        if playbook.kind == "retention" and rng.random() < 0.2:
            playbook.outcome = "risk_not_confirmed"
        else:
            playbook.outcome = "retained"
    elif playbook.kind == "onboarding":
        playbook.outcome = "not_activated" if churns_soon or rng.random() < 0.15 else "activated"
    else:
        playbook.outcome = "done"


def history_notifications_read(*, org: Organization, today: dt.date, keep_days: int = 3) -> int:
    """The simulated past was read and emailed long ago: only the last few days' playbooks and
    the alerts still waiting stay unread, as a CSM would find them on a Monday morning."""
    from playbooks.models import Notification, NotificationKind

    now = timezone.now()
    with org_context(org):
        recent = Playbook.objects.filter(opened_on__gt=today - dt.timedelta(days=keep_days))
        pending = Alert.objects.filter(status=AlertStatus.PENDING)
        old = (
            Notification.objects.filter(read_at__isnull=True)
            .exclude(kind=NotificationKind.PLAYBOOK_ASSIGNED, ref__in=recent.values("pk"))
            .exclude(kind=NotificationKind.ALERT_RAISED, ref__in=pending.values("pk"))
        )
        return old.update(read_at=now, emailed_at=now)
