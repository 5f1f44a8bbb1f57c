"""Reads of the retention safety net: month by month, the retention alerts raised and
completed and the accounts that went through the net (reverted or churned); churn by product
and by reason; the churned accounts with their retention firings (for predictability and
lifetime); and, per quarter, the risk carried into its first day (the nightly RiskDay cells,
for the churn forecast)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth, TruncQuarter

from accounts.models import Account, MrrMovement, Product
from orgs.tenancy import current_org_id
from playbooks.models import Playbook
from triggers.models import Firing, Trigger

from .. import trigger_facts
from ..effect_facts import full_months, month_after, raw_ranges
from ..filters import ReportFilters
from ..ledger_facts import months_usable
from ..metrics import PREDICTABILITY_LOOKBACK_DAYS
from ..models import (
    EffectMonthState,
    FactRefresh,
    RetentionAlarmMonth,
    RetentionNetMonth,
    RiskDay,
)
from .scope import accounts_q, day_start, instant_range

RETENTION = "retention"


def retention_firings(f: ReportFilters) -> Q:
    """The safety net's alarms in the period: retention triggers' firings (an alert for the
    CSM to confirm, or a playbook opened at once). The triggers by id: joined by kind, the
    planner expected a handful of firings and probed an alert and a playbook per firing
    (95,000 of them in a year at 100,000 accounts) instead of hashing them."""
    return Q(
        trigger_id__in=retention_trigger_ids(), fired_on__gte=f.date_from, fired_on__lte=f.date_to
    )


def retention_trigger_ids() -> list[int]:
    return list(Trigger.objects.filter(kind=RETENTION).values_list("pk", flat=True))


# An alarm is completed when it has been dealt with: dismissed with a reason, or its
# playbook closed.
COMPLETED_Q = Q(alert__status="dismissed") | Q(playbook__status="completed")


ALARMS = {
    "raised": Count("pk"),
    "completed": Count("pk", filter=COMPLETED_Q),
    "accounts": Count("account_id", distinct=True),
}


def alarms_monthly(f: ReportFilters) -> list[dict]:
    """Per month of firing: alarms raised, completed, and the accounts they were on.

    Unless the filters name a persona or a CSM (today's), the months the period wholly
    covers and whose days the trigger facts say nothing touched since the last refresh come
    from RetentionAlarmMonth; the other days are read raw (a month's accounts are counted
    distinct within it, so a month is taken whole from one side)."""
    qs = Firing.objects.filter(retention_firings(f)).filter(accounts_q(f, "account__"))
    facts = []
    if f.persona_id is None and f.owner_id is None:
        usable = alarm_months_usable(f)
        if usable:
            facts = [
                {"month": r["month"], **{k: r[k] for k in ALARMS}}
                for r in RetentionAlarmMonth.objects.filter(month__in=usable).values()
            ]
            qs = qs.filter(_ranges("fired_on", raw_ranges(f.date_from, f.date_to, usable)))
    rows = qs.annotate(month=TruncMonth("fired_on")).values("month").annotate(**ALARMS)
    return sorted([*facts, *rows.order_by()], key=lambda r: _as_date(r["month"]))


def alarm_months_usable(f: ReportFilters) -> list[dt.date]:
    """The months of the period RetentionAlarmMonth says exactly: wholly inside it, covered
    by the last refresh, none of their days touched since (reports.trigger_facts)."""
    months = full_months(f.date_from, f.date_to)
    if not months:
        return []
    cover = trigger_facts.coverage(first=f.date_from, last=f.date_to)
    if cover is None:
        return []
    dirty = {d.replace(day=1) for d in cover.dirty}
    return [
        m
        for m in months
        if m not in dirty and month_after(m) - dt.timedelta(days=1) <= cover.through
    ]


def _ranges(field: str, ranges: list[tuple]) -> Q:
    """`field` within any of the [first, last] ranges (none: nothing)."""
    if not ranges:
        return Q(pk__in=[])
    q = Q()
    for first, last in ranges:
        q |= Q(**{f"{field}__gte": first, f"{field}__lte": last})
    return q


def net_playbooks(f: ReportFilters) -> Q:
    """Retention playbooks closed in the period: the accounts that went through the net."""
    start, end = instant_range(f.date_from, f.date_to)
    q = Q(kind=RETENTION, status="completed", closed_at__gte=start, closed_at__lt=end)
    return q & accounts_q(f, "account__")


NET = {
    "through": Count("account_id", distinct=True),
    "retained": Count("account_id", distinct=True, filter=Q(outcome="retained")),
    "churned": Count("account_id", distinct=True, filter=Q(outcome="churned")),
    "not_confirmed": Count("account_id", distinct=True, filter=Q(outcome="risk_not_confirmed")),
}


def net_monthly(f: ReportFilters) -> list[dict]:
    """Per month of closing: accounts through the net, reverted (retained), churned and
    risk not confirmed (each account once a month, by its last playbook's outcome kind).

    Unless the filters name a persona or a CSM, the months the period wholly covers that
    ended before the nightly cut (EffectMonthState) come from RetentionNetMonth (a closed
    playbook does not change); the others are read raw."""
    qs = Playbook.objects.filter(net_playbooks(f))
    facts = []
    if f.persona_id is None and f.owner_id is None:
        state = EffectMonthState.objects.values("cut").first()
        months = full_months(f.date_from, f.date_to)
        usable = [m for m in months if state and day_start(month_after(m)) <= state["cut"]]
        if usable:
            facts = [
                {"month": r["month"], **{k: r[k] for k in NET}}
                for r in RetentionNetMonth.objects.filter(month__in=usable).values()
            ]
            q = Q()
            for first, last in raw_ranges(f.date_from, f.date_to, usable):
                start, end = instant_range(first, last)
                q |= Q(closed_at__gte=start, closed_at__lt=end)
            qs = qs.filter(q) if q else qs.none()
    rows = qs.annotate(month=TruncMonth("closed_at")).values("month").annotate(**NET)
    return sorted([*facts, *rows.order_by()], key=lambda r: _as_date(r["month"]))


_CHURN_BY_PRODUCT_SQL = """
SELECT x.product_key, COUNT(DISTINCT x.account_id), SUM(x.lost)
FROM (
    SELECT account_id, product_key, lost FROM reports_churnproductmonth
    WHERE organization_id = %(org)s AND month = ANY(%(months)s) {product}
    UNION ALL
    SELECT m.account_id, COALESCE(s.product_id, 0), round(m.delta_mrr * 100)
    FROM accounts_mrrmovement m
    LEFT JOIN accounts_subscription s ON s.id = m.subscription_id
    WHERE m.organization_id = %(org)s AND m.kind = 'churn'
      AND m.date >= %(first)s AND m.date <= %(last)s
      AND ((m.id > %(last_id)s AND date_trunc('month', m.date)::date = ANY(%(months)s))
           {raw_days})
      {raw_product}
) x
GROUP BY x.product_key
"""


def _churn_by_product_facts(f: ReportFilters, *, months: list[dt.date], last: int) -> list[dict]:
    product, raw_product = "", ""
    params = {
        "org": current_org_id(),
        "months": months,
        "first": f.date_from,
        "last": f.date_to,
        "last_id": last,
    }
    if f.product_id is not None:
        product, raw_product = "AND product_key = %(product)s", "AND s.product_id = %(product)s"
        params["product"] = f.product_id
    # the entries in the facts' months written since, and every entry of the other days
    # (each range an index read, not the period's whole ledger)
    raw_days = ""
    for i, (first, last_day) in enumerate(raw_ranges(f.date_from, f.date_to, months)):
        raw_days += f" OR (m.date >= %(from{i})s AND m.date <= %(to{i})s)"
        params[f"from{i}"], params[f"to{i}"] = first, last_day
    sql = _CHURN_BY_PRODUCT_SQL.format(product=product, raw_product=raw_product, raw_days=raw_days)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    names = dict(Product.objects.values_list("pk", "name"))
    rows = [
        {
            "subscription__product_id": key or None,
            "subscription__product__name": names.get(key) if key else None,
            "accounts": accounts,
            "mrr": lost / 100.0,
        }
        for key, accounts, lost in found
    ]
    return sorted(rows, key=lambda r: r["mrr"])


def churned_q(f: ReportFilters) -> Q:
    """Accounts that churned in the period (their churn date), among the filtered ones; with
    a product filter, those that held it when they churned."""
    q = Q(churned_at__gte=f.date_from, churned_at__lte=f.date_to) & accounts_q(f)
    if f.product_id is not None:
        q &= Q(
            pk__in=MrrMovement.objects.filter(
                kind="churn", subscription__product_id=f.product_id
            ).values("account_id")
        )
    return q


def churn_by_product(f: ReportFilters) -> list[dict]:
    """The period's churn entries in the MRR ledger per product: accounts and MRR lost.
    Unless the filters name a persona or a CSM, the months the period wholly covers come
    from the nightly ChurnProductMonth rows and the rest (the other days, the entries
    written since) from the ledger, in one statement."""
    if f.persona_id is None and f.owner_id is None and connection.vendor == "postgresql":
        months = full_months(f.date_from, f.date_to)
        last = months_usable(churn_products=True) if months else None
        if last is not None:
            return _churn_by_product_facts(f, months=months, last=last)
    qs = MrrMovement.objects.filter(
        kind="churn", date__gte=f.date_from, date__lte=f.date_to
    ).filter(accounts_q(f, "account__"))
    if f.product_id is not None:
        qs = qs.filter(subscription__product_id=f.product_id)
    return list(
        qs.values("subscription__product_id", "subscription__product__name")
        .annotate(accounts=Count("account_id", distinct=True), mrr=Sum("delta_mrr"))
        .order_by("mrr")
    )


def churners(f: ReportFilters) -> pd.DataFrame:
    """The accounts that churned in the period: account_id, persona_id, churned_at,
    customer_since, churn_reason_id."""
    rows = Account.objects.filter(churned_q(f)).values_list(
        "pk", "persona_id", "churned_at", "customer_since", "churn_reason_id"
    )
    return pd.DataFrame(list(rows), columns=CHURNER_COLUMNS)


CHURNER_COLUMNS = ["account_id", "persona_id", "churned_at", "customer_since", "churn_reason_id"]
FIRING_COLUMNS = ["account_id", "fired_on"]


def no_churners() -> pd.DataFrame:
    """What churners() gives for nobody (a CSV export of a table that does not need them)."""
    return pd.DataFrame([], columns=CHURNER_COLUMNS)


def no_churner_firings() -> pd.DataFrame:
    return pd.DataFrame([], columns=FIRING_COLUMNS)


def churner_firings(f: ReportFilters) -> pd.DataFrame:
    """The retention firings of the period's churners in the year before their churn."""
    earliest = f.date_from - dt.timedelta(days=PREDICTABILITY_LOOKBACK_DAYS)
    # the retention triggers by id: joined by kind, the planner expected one trigger's
    # firings and probed an account per firing (100,000 of them) instead of hashing churners
    retention = retention_trigger_ids()
    rows = (
        Firing.objects.filter(
            trigger_id__in=retention,
            fired_on__gte=earliest,
            fired_on__lte=f.date_to,
            account__in=Account.objects.filter(churned_q(f)).values("pk"),
        )
        .values_list("account_id", "fired_on")
        .order_by()
    )
    return pd.DataFrame(list(rows), columns=FIRING_COLUMNS)


# -- the forecast ---------------------------------------------------------------------------


def risk_days(f: ReportFilters, *, days: list[dt.date]) -> dict[dt.date, dict]:
    """The risk carried into each of `days` (the nightly RiskDay cells summed over the
    filtered persona and CSM)."""
    qs = RiskDay.objects.filter(date__in=days)
    if f.persona_id is not None:
        qs = qs.filter(persona_key=f.persona_id)
    if f.owner_id is not None:
        qs = qs.filter(owner_key=f.owner_id)
    rows = qs.values("date").annotate(
        customers=Sum("customers"),
        at_risk=Sum("at_risk"),
        renewing=Sum("renewing"),
        retained_12m=Sum("retained_12m"),
        lost_12m=Sum("lost_12m"),
        renewals_12m=Sum("renewals_12m"),
        renewals_lost_12m=Sum("renewals_lost_12m"),
    )
    return {r["date"]: r for r in rows.order_by()}


def fact_days(*, first: dt.date, last: dt.date) -> list[dt.date]:
    return list(
        FactRefresh.objects.filter(date__gte=first, date__lte=last)
        .order_by("date")
        .values_list("date", flat=True)
    )


def churned_per_quarter(f: ReportFilters, *, first: dt.date, last: dt.date) -> dict:
    """Accounts churned per quarter (keyed by the quarter's first day) between the days."""
    f2 = f.with_period(f.period.__class__("custom", first, last, last, ""))
    rows = (
        Account.objects.filter(churned_q(f2))
        .annotate(quarter=TruncQuarter("churned_at"))
        .values("quarter")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {_as_date(r["quarter"]): r["n"] for r in rows}


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
