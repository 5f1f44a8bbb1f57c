"""Writes of reports: the organization's report settings, and the nightly facts (the
portfolio snapshot of the day, the health baselines of the comparison group, the effect of
closed playbooks on their accounts' health, what each trigger's firings of a day became),
refreshed after the night's triggers.

`facts_refresh` is set-based and idempotent: a re-run of a day replaces that day's snapshot
(one row per day and dimension), and the playbook effects and baselines are filled in once
each, as the days they need come."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from accounts.models import Account, Interaction, MrrMovement, UsageMetric
from accounts.selectors import customer_on
from csplatform.db.bulk import update_from_values, upsert
from health import selectors as health_selectors
from health.models import HealthScore
from health.services import indicator_key
from orgs.models import Organization
from orgs.tenancy import org_context
from orgs.timezones import org_zone
from playbooks.models import Playbook
from triggers.models import Firing

from .effect_facts import effect_months_refresh
from .ledger_cube import ledger_cube_refresh
from .ledger_facts import mrr_months_refresh
from .metrics import ACTIVE_DAYS, EFFECT_VALUES, effect_updates, portfolio_cells, risk_cells
from .models import (
    FactRefresh,
    HealthBaseline,
    LedgerTotal,
    PlaybookEffect,
    PortfolioDay,
    ReportSettings,
    RiskDay,
)
from .periods import week_start
from .retention_facts import retention_alarm_months_refresh
from .start_facts import account_starts_refresh
from .trigger_facts import trigger_facts_refresh

logger = logging.getLogger(__name__)

# A score is read on the day asked or the latest within this many days before (histories
# kept weekly, like the demo's older backfill, still count), as health fitness does.
SCORE_TOLERANCE_DAYS = 6
HORIZONS = (30, 90)
# A nightly refresh looks back this far for baselines and effects it could not fill yet
# (a missed night, a late score); a rebuild goes over all of history.
CATCH_UP_DAYS = 21
# Contacts older than the longest "not touched in N days" bucket need not be read.
TOUCH_WINDOW_DAYS = 90


class ReportSettingsError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def report_settings_get(*, org: Organization) -> ReportSettings:
    """The organization's report settings (the defaults until an admin changes them; not
    written until then)."""
    found = ReportSettings.all_objects.filter(organization=org).first()
    return found or ReportSettings(organization=org)


@dataclass
class FactStats:
    day: dt.date
    cells: int = 0
    effects_added: int = 0
    effects_filled: int = 0
    baselines: int = 0
    trigger_days: int = 0  # TriggerDay rows written
    mrr_months: int = 0  # MrrMonth rows rebuilt
    effect_months: int = 0  # EffectMonth rows rebuilt
    ledger_cells: int = 0  # LedgerCell rows written
    seconds: float = 0.0
    steps: dict | None = None

    def as_dict(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "cells": self.cells,
            "effects_added": self.effects_added,
            "effects_filled": self.effects_filled,
            "baseline_cells": self.baselines,
            "trigger_day_rows": self.trigger_days,
            "mrr_month_rows": self.mrr_months,
            "effect_month_rows": self.effect_months,
            "ledger_cell_rows": self.ledger_cells,
            "seconds": round(self.seconds, 3),
            "steps": {k: round(v, 3) for k, v in (self.steps or {}).items()},
        }


def facts_refresh(*, org: Organization | int, day: dt.date, rebuild: bool = False) -> FactStats:
    """The day's facts, after the night's triggers: the portfolio snapshot (replaced), the
    comparison group's baselines for the weeks whose 30 or 90 days have come, and the
    effects of playbooks closed by then. `rebuild` fills effects and baselines over all of
    history instead of the last few weeks (the first refresh, or after a backfill)."""
    if isinstance(org, int):
        org = Organization.objects.get(pk=org)
    began = time.perf_counter()
    started = timezone.now()
    stats = FactStats(day=day, steps={})
    with org_context(org), transaction.atomic():
        t = time.perf_counter()
        stats.mrr_months = mrr_months_refresh(org=org)["rows"]
        stats.steps["mrr_months"] = time.perf_counter() - t
        t = time.perf_counter()
        stats.ledger_cells = ledger_cube_refresh(org=org, day=day)["rows"]
        stats.steps["ledger_cube"] = time.perf_counter() - t
        t = time.perf_counter()
        account_starts_refresh(org=org)
        stats.steps["account_starts"] = time.perf_counter() - t
        t = time.perf_counter()
        stats.cells = _snapshot_write(org=org, day=day)
        stats.steps["snapshot"] = time.perf_counter() - t
        t = time.perf_counter()
        _risk_write(org=org, day=day)
        stats.steps["risk"] = time.perf_counter() - t
        t = time.perf_counter()
        stats.baselines = _baselines_write(org=org, day=day, rebuild=rebuild)
        stats.steps["baselines"] = time.perf_counter() - t
        t = time.perf_counter()
        stats.effects_added, stats.effects_filled, closed_days = _effects_write(
            org=org, day=day, rebuild=rebuild
        )
        stats.steps["effects"] = time.perf_counter() - t
        t = time.perf_counter()
        stats.effect_months = effect_months_refresh(
            org=org, day=day, began=started, months=closed_days
        )["rows"]
        stats.steps["effect_months"] = time.perf_counter() - t
        t = time.perf_counter()
        retention_alarm_months_refresh(org=org, day=day)  # before the trigger facts move on
        stats.steps["retention_months"] = time.perf_counter() - t
        t = time.perf_counter()
        stats.trigger_days = trigger_facts_refresh(org=org, day=day)["rows"]
        stats.steps["triggers"] = time.perf_counter() - t
        t = time.perf_counter()
        ledger_total_write(org=org, day=day)
        stats.steps["ledger"] = time.perf_counter() - t
        stats.seconds = time.perf_counter() - began
        FactRefresh.all_objects.update_or_create(
            organization=org,
            date=day,
            defaults={
                "finished_at": timezone.now(),
                "seconds": stats.seconds,
                "cells": stats.cells,
            },
        )
    logger.info(
        "report facts refreshed org=%s day=%s cells=%s effects=+%s/%s baselines=%s in %.2f s",
        org.slug,
        day,
        stats.cells,
        stats.effects_added,
        stats.effects_filled,
        stats.baselines,
        stats.seconds,
    )
    return stats


# -- the ledger's total ---------------------------------------------------------------------

# LedgerTotal rows older than this are removed (the home reads the quarter so far).
LEDGER_TOTAL_KEEP_DAYS = 35


def ledger_total_write(*, org: Organization, day: dt.date) -> bool:
    """The ledger over all accounts for the quarter so far on `day` (the home's period),
    with the ledger it was read from; not written when a movement came in while it was read.
    Older periods' rows are removed. In the organization's context."""
    from .filters import ReportFilters
    from .periods import default_period
    from .selectors.portfolio import LEDGER_COLUMNS, ledger, ledger_fingerprint

    f = ReportFilters(period=default_period(today=day), today=day)
    before = ledger_fingerprint()
    rows = ledger(f)
    if ledger_fingerprint() != before:
        return False
    total = rows[0] if rows else {k: 0.0 for k in LEDGER_COLUMNS}
    LedgerTotal.all_objects.update_or_create(
        organization=org,
        date_from=f.date_from,
        date_to=f.date_to,
        defaults={
            "movements": before[0],
            "last_movement": before[1],
            "values": {k: float(total[k]) for k in LEDGER_COLUMNS},
        },
    )
    LedgerTotal.objects.filter(date_to__lt=day - dt.timedelta(days=LEDGER_TOTAL_KEEP_DAYS)).delete()
    return True


# -- the portfolio snapshot -----------------------------------------------------------------


def _day_bounds(org: Organization, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = org_zone(org)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    return start, start + dt.timedelta(days=1)


def _frame(rows, columns) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=columns)


def snapshot_inputs(*, org: Organization, day: dt.date) -> dict:
    """What the day's snapshot is computed from, for reports.metrics.portfolio_cells: the
    customers, the day's scores, those active in the 30 days (from the scores' usage
    frequency where the model measures it, else from the usage), their last contact and each
    account's MRR from the ledger; each one set-based read."""
    settings = report_settings_get(org=org)
    _start, end = _day_bounds(org, day)
    accounts = _frame(
        Account.objects.filter(customer_on(day)).values_list(
            "pk", "persona_id", "owner_id", "tier", "touch_model", "customer_since"
        ),
        ["account_id", "persona_key", "owner_key", "tier", "touch_model", "customer_since"],
    )
    for key in ("persona_key", "owner_key"):
        accounts[key] = accounts[key].fillna(0).astype("int64")
    # the day's scores; their breakdown already counts the days each account used the
    # activity metric in the last 30 (the usage frequency measure), where its model has it
    days_key = indicator_key("usage_frequency", ACTIVE_DAYS, settings.activity_metric)
    scored = list(
        HealthScore.objects.filter(date=day)
        .annotate(
            active_days=health_selectors.indicator_value(
                days_key, "raw", health_selectors.score_layouts()
            )
        )
        .values_list("account_id", "score", "colour", "active_days")
    )
    scores = _frame(((a, s, c) for a, s, c, _d in scored), ["account_id", "score", "colour"])
    counted = {a: float(d) for a, _s, _c, d in scored if d not in (None, "")}
    active = {a for a, days in counted.items() if days >= settings.activity_min_days}
    uncounted = set(accounts["account_id"]) - set(counted)
    if uncounted:
        # the others from the usage itself: one grouped read of the window
        used = UsageMetric.objects.filter(
            metric=settings.activity_metric,
            date__gt=day - dt.timedelta(days=ACTIVE_DAYS),
            date__lte=day,
            value__gt=0,
        )
        if len(uncounted) <= 2000:
            used = used.filter(account_id__in=sorted(uncounted))
        active |= (
            set(
                used.values("account_id")
                .annotate(days=Count("pk"))
                .filter(days__gte=settings.activity_min_days)
                .values_list("account_id", flat=True)
                .order_by()
            )
            & uncounted
        )
    # the last contact within the longest window (older ones are untouched for every N): a
    # grouped read of the window, which the (organization, occurred_at) index serves
    touches = (
        Interaction.objects.filter(
            occurred_at__lt=end, occurred_at__gte=end - dt.timedelta(days=TOUCH_WINDOW_DAYS + 1)
        )
        .values("account_id")
        .annotate(last=Max("occurred_at"))
        .values_list("account_id", "last")
        .order_by()
    )
    zone = org_zone(org)
    last_touch = _frame(
        ((a, when.astimezone(zone).date()) for a, when in touches), ["account_id", "touched_on"]
    )
    from .selectors.portfolio import mrr_on

    # each account's MRR from the monthly facts (refreshed first), else from the movements
    per_account = mrr_on(day)
    if per_account is None:
        per_account = (
            MrrMovement.objects.filter(date__lte=day)
            .values("account_id")
            .annotate(mrr=Sum("delta_mrr"))
            .values_list("account_id", "mrr")
            .order_by()
        )
    mrr = _frame(per_account, ["account_id", "mrr"])
    return {
        "accounts": accounts,
        "scores": scores,
        "mrr": mrr,
        "active_ids": set(active),
        "last_touch": last_touch,
    }


def _snapshot_write(*, org: Organization, day: dt.date) -> int:
    cells = portfolio_cells(day=day, **snapshot_inputs(org=org, day=day))
    PortfolioDay.objects.filter(date=day).delete()
    columns = [
        "persona_key",
        "owner_key",
        "tier",
        "touch_model",
        "colour",
        "customers",
        "mrr",
        "scored",
        "score_sum",
        "active_30d",
        "untouched_14",
        "untouched_30",
        "untouched_60",
        "untouched_90",
    ]
    rows = [
        [org.pk, day.isoformat(), *(_plain(v) for v in row)]
        for row in cells[columns].itertuples(index=False, name=None)
    ]
    return upsert(
        table=PortfolioDay._meta.db_table,
        columns=["organization_id", "date", *columns],
        rows=rows,
        conflict=[
            "organization_id",
            "date",
            "persona_key",
            "owner_key",
            "tier",
            "touch_model",
            "colour",
        ],
        update=columns[5:],
    )


def _plain(value):
    """numpy scalars as Python numbers, for the bulk writer."""
    return value.item() if hasattr(value, "item") else value


# -- the risk carried ------------------------------------------------------------------------


def risk_inputs(*, org: Organization, day: dt.date) -> dict:
    """What the day's risk cells are computed from: the customers, the accounts with
    retention work open at the day's end (a playbook, or an alert not decided by then), those
    with a renewal playbook open, and the year before's closed retention and renewal
    playbooks per persona and owner."""
    start, end = _day_bounds(org, day)
    customers = _frame(
        Account.objects.filter(customer_on(day)).values_list("pk", "persona_id", "owner_id"),
        ["account_id", "persona_key", "owner_key"],
    )
    for key in ("persona_key", "owner_key"):
        customers[key] = customers[key].fillna(0).astype("int64")

    def open_playbooks(kind: str) -> set:
        return set(
            Playbook.objects.filter(kind=kind, opened_on__lte=day)
            .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=end))
            .values_list("account_id", flat=True)
            .distinct()
        )

    alerts = set(
        Firing.objects.filter(trigger__kind="retention", fired_on__lte=day, alert__isnull=False)
        .filter(Q(alert__decided_at__isnull=True) | Q(alert__decided_at__gte=end))
        .values_list("account_id", flat=True)
        .distinct()
    )
    year_ago, _ = _day_bounds(org, day - dt.timedelta(days=365))
    history = _frame(
        Playbook.objects.filter(status="completed", closed_at__gte=year_ago, closed_at__lt=end)
        .values("account__persona_id", "account__owner_id")
        .annotate(
            retained=Count("pk", filter=Q(kind="retention", outcome="retained")),
            lost=Count("pk", filter=Q(kind="retention", outcome="churned")),
            renewals=Count("pk", filter=Q(kind="renewal")),
            renewals_lost=Count("pk", filter=Q(kind="renewal", outcome="churned")),
        )
        .values_list(
            "account__persona_id",
            "account__owner_id",
            "retained",
            "lost",
            "renewals",
            "renewals_lost",
        )
        .order_by(),
        ["persona_key", "owner_key", "retained", "lost", "renewals", "renewals_lost"],
    )
    for key in ("persona_key", "owner_key"):
        history[key] = history[key].fillna(0).astype("int64")
    return {
        "customers": customers,
        "at_risk": open_playbooks("retention") | alerts,
        "renewing": open_playbooks("renewal"),
        "history": history,
    }


def _risk_write(*, org: Organization, day: dt.date) -> int:
    cells = risk_cells(**risk_inputs(org=org, day=day))
    RiskDay.objects.filter(date=day).delete()
    columns = list(cells.columns)
    rows = [
        [org.pk, day.isoformat(), *(_plain(v) for v in row)]
        for row in cells.itertuples(index=False, name=None)
    ]
    return upsert(
        table=RiskDay._meta.db_table,
        columns=["organization_id", "date", *columns],
        rows=rows,
        conflict=["organization_id", "date", "persona_key", "owner_key"],
        update=columns[2:],
    )


# -- the comparison group ---------------------------------------------------------------------

_LATEST_SCORES_SQL = """
SELECT account_id, score, colour FROM (
    SELECT s.account_id, s.score, s.colour,
           ROW_NUMBER() OVER (PARTITION BY s.account_id ORDER BY s.date DESC) AS rn
    FROM health_healthscore s
    WHERE s.organization_id = %s AND s.date >= %s AND s.date <= %s AND s.score IS NOT NULL
) latest
WHERE rn = 1
"""


def latest_scores(*, org_id: int, day: dt.date) -> pd.DataFrame:
    """Each account's score on `day` or its latest within the tolerance before it: one
    statement with a window function, naming the organization."""
    first = day - dt.timedelta(days=SCORE_TOLERANCE_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(_LATEST_SCORES_SQL, [org_id, first, day])
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=["account_id", "score", "colour"])


def baseline_cells(
    *, reference: pd.DataFrame, later: pd.DataFrame, personas: pd.DataFrame, busy: set
) -> pd.DataFrame:
    """The comparison group of one week, pure: accounts scored at the week's end
    (`reference`) and `horizon` days later (`later`), without a playbook that week (`busy`),
    per persona and colour at the week's end: how many, and the sum of their changes."""
    both = reference.merge(later, on="account_id", suffixes=("", "_later"))
    both = both[~both["account_id"].isin(list(busy))]
    both = both.merge(personas, on="account_id", how="left")
    both["persona_key"] = both["persona_key"].fillna(0).astype("int64")
    both["change"] = both["score_later"].astype(float) - both["score"].astype(float)
    if both.empty:
        return pd.DataFrame(columns=["persona_key", "colour", "accounts", "change_sum"])
    out = both.groupby(["persona_key", "colour"]).agg(
        accounts=("account_id", "count"), change_sum=("change", "sum")
    )
    return out.reset_index()


def _baselines_write(*, org: Organization, day: dt.date, rebuild: bool) -> int:
    """Baselines for every week whose week end plus a horizon has come and that has none yet
    (the last few weeks, or all of history in a rebuild)."""
    first_score = HealthScore.objects.order_by("date").values_list("date", flat=True).first()
    if first_score is None:
        return 0
    written, personas = 0, None
    for horizon in HORIZONS:
        latest_week = week_start(day - dt.timedelta(days=horizon + 6))
        earliest = (
            week_start(first_score)
            if rebuild
            else week_start(day - dt.timedelta(days=horizon + 6 + CATCH_UP_DAYS))
        )
        done = set(
            HealthBaseline.objects.filter(horizon=horizon, week__gte=earliest)
            .values_list("week", flat=True)
            .distinct()
        )
        week = max(earliest, week_start(first_score))
        while week <= latest_week:
            if week not in done:
                if personas is None:  # read once, only when a week is to be computed
                    personas = _frame(
                        Account.objects.values_list("pk", "persona_id"),
                        ["account_id", "persona_key"],
                    )
                written += _baseline_week(org=org, week=week, horizon=horizon, personas=personas)
            week += dt.timedelta(days=7)
    return written


def _baseline_week(
    *, org: Organization, week: dt.date, horizon: int, personas: pd.DataFrame
) -> int:
    week_end = week + dt.timedelta(days=6)
    reference = latest_scores(org_id=org.pk, day=week_end)
    later = latest_scores(org_id=org.pk, day=week_end + dt.timedelta(days=horizon))[
        ["account_id", "score"]
    ]
    if reference.empty or later.empty:
        return 0
    start, _ = _day_bounds(org, week)
    busy = set(
        Playbook.objects.filter(opened_on__lte=week_end)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=start))
        .values_list("account_id", flat=True)
        .distinct()
    )
    cells = baseline_cells(reference=reference, later=later, personas=personas, busy=busy)
    rows = [
        [
            org.pk,
            week.isoformat(),
            horizon,
            int(r.persona_key),
            r.colour,
            int(r.accounts),
            float(r.change_sum),
        ]
        for r in cells.itertuples(index=False)
    ]
    return upsert(
        table=HealthBaseline._meta.db_table,
        columns=[
            "organization_id",
            "week",
            "horizon",
            "persona_key",
            "colour",
            "accounts",
            "change_sum",
        ],
        rows=rows,
        conflict=["organization_id", "week", "horizon", "persona_key", "colour"],
        update=["accounts", "change_sum"],
    )


# -- playbook effects ---------------------------------------------------------------------------


def _effects_write(
    *, org: Organization, day: dt.date, rebuild: bool
) -> tuple[int, int, set[dt.date]]:
    """Add an effect row for every playbook closed by the end of `day` that has none, then
    fill what each row can know by now (reports.metrics.effect_updates): its score and colour
    at closing, its scores 30 and 90 days later, the comparison group's changes. Set-based:
    one INSERT (COPY), one read of the scores and baselines the rows need, one UPDATE. Also
    gives the days of closing of the rows added or filled (their EffectMonth to rebuild)."""
    zone = org_zone(org)
    _start, end = _day_bounds(org, day)
    new = Playbook.objects.filter(status="completed", closed_at__lt=end, effect__isnull=True)
    rows = []
    for pk, account_id, closed_at, persona_id in new.values_list(
        "pk", "account_id", "closed_at", "account__persona_id"
    ).iterator(chunk_size=20_000):
        closed_on = closed_at.astimezone(zone).date()
        rows.append(
            [
                org.pk,
                pk,
                account_id,
                closed_on.isoformat(),
                week_start(closed_on).isoformat(),
                persona_id or 0,
                "",
            ]
        )
    added = upsert(
        table=PlaybookEffect._meta.db_table,
        columns=[
            "organization_id",
            "playbook_id",
            "account_id",
            "closed_on",
            "week",
            "persona_key",
            "colour",
        ],
        rows=rows,
        conflict=["playbook_id"],
        update=[],
    )
    touched = {dt.date.fromisoformat(r[3]) for r in rows}
    pending = _effects_pending(day=day, rebuild=rebuild)
    if pending.empty:
        return added, 0, touched
    # only the days the rows need: around their closing, and 30 and 90 days on
    windows = Q()
    for offset, column in ((0, "score_at_close"), *((h, f"score_{h}") for h in HORIZONS)):
        need = pending[pending[column].isna()]["closed_on"]
        if offset:
            need = need[need <= day - dt.timedelta(days=offset)]
        if not need.empty:
            windows |= Q(
                date__gte=min(need) + dt.timedelta(days=offset - SCORE_TOLERANCE_DAYS),
                date__lte=max(need) + dt.timedelta(days=offset),
            )
    scores_qs = HealthScore.objects.filter(windows, score__isnull=False) if windows else None
    accounts = pending["account_id"].unique().tolist()
    if scores_qs is not None and len(accounts) <= 2000:
        scores_qs = scores_qs.filter(account_id__in=accounts)
    scores = _frame(
        scores_qs.values_list("account_id", "date", "score", "colour")
        if scores_qs is not None
        else [],
        ["account_id", "date", "score", "colour"],
    )
    baselines = _frame(
        HealthBaseline.objects.filter(week__in=pending["week"].unique().tolist()).values_list(
            "week", "horizon", "persona_key", "colour", "accounts", "change_sum"
        ),
        ["week", "horizon", "persona_key", "colour", "accounts", "change_sum"],
    )
    updates = effect_updates(pending, scores=scores, baselines=baselines, day=day)
    update_from_values(
        table=PlaybookEffect._meta.db_table,
        key="id",
        columns=[(c, "varchar" if c == "colour" else "float8") for c in EFFECT_VALUES],
        rows=[
            [int(r["id"]), *(_nullable(r[c]) for c in EFFECT_VALUES)]
            for r in updates.to_dict("records")
        ],
        org_id=int(org.pk),
    )
    if not updates.empty:
        filled = pending[pending["id"].isin(updates["id"])]["closed_on"]
        touched |= {pd.Timestamp(d).date() for d in filled.unique()}
    return added, len(updates), touched


def _nullable(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def _effects_pending(*, day: dt.date, rebuild: bool) -> pd.DataFrame:
    """The effect rows with something still to fill that `day` may know: their score at
    closing, or a horizon reached; in the last few weeks (or all of history)."""
    missing = Q(score_at_close__isnull=True)
    if not rebuild:
        missing &= Q(closed_on__gte=day - dt.timedelta(days=CATCH_UP_DAYS))
    for horizon in HORIZONS:
        reached = Q(closed_on__lte=day - dt.timedelta(days=horizon))
        if not rebuild:
            reached &= Q(closed_on__gte=day - dt.timedelta(days=horizon + CATCH_UP_DAYS))
        missing |= reached & (
            Q(**{f"score_{horizon}__isnull": True}) | Q(**{f"baseline_{horizon}__isnull": True})
        )
    qs = PlaybookEffect.objects.filter(missing)
    return _frame(
        qs.values_list("id", "account_id", "closed_on", "week", "persona_key", *EFFECT_VALUES),
        ["id", "account_id", "closed_on", "week", "persona_key", *EFFECT_VALUES],
    )
