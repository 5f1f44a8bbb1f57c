"""Reads of the portfolio report: the MRR ledger over the period (per account, then summed
per group, in one statement), the monthly MRR movements, cohorts by start month, survey
answers, and the nightly portfolio snapshot (health, use of the product, coverage)."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncMonth

from accounts.models import Account, MrrMovement, SurveyResponse
from orgs.tenancy import current_org_id

from .. import ledger_cube as cube
from ..filters import ReportFilters
from ..ledger_facts import months_usable
from ..models import FactRefresh, LedgerCubeState, LedgerTotal, PortfolioDay
from ..periods import CUSTOM, Period, add_months, month_start
from ..start_facts import first_starts_sql
from .scope import accounts_q, instant_range

# What the portfolio can be broken down by: the account column each group is read from (a
# whitelist: these are the only names that reach the SQL).
GROUPS = {
    "persona": "a.persona_id",
    "tier": "a.tier",
    "touch_model": "a.touch_model",
    "csm": "a.owner_id",
}
SNAPSHOT_GROUPS = {
    "persona": "persona_key",
    "tier": "tier",
    "touch_model": "touch_model",
    "csm": "owner_key",
}

LEDGER_COLUMNS = cube.LEDGER_COLUMNS

# Each account of a per-account ledger (either statement below) in the base or not, its
# losses capped (the cells' classification, ledger_cube.CLASSIFIED).
_CLASSIFIED = cube.CLASSIFIED

# Per account over the history to the period's end (a filtered ledger reads only the
# persona's or CSM's accounts' movements: {account_in}).
_PER_ACCOUNT_SQL = """
WITH per_account AS (
    SELECT m.account_id AS account_id,
        SUM(CASE WHEN m.date < %s THEN m.delta_mrr ELSE 0 END) AS start_mrr,
        SUM(m.delta_mrr) AS end_mrr,
        SUM(CASE WHEN m.date >= %s AND m.kind = 'new' THEN m.delta_mrr ELSE 0 END) AS new_mrr,
        SUM(CASE WHEN m.date >= %s AND m.kind = 'expansion' THEN m.delta_mrr ELSE 0 END)
            AS expansion,
        SUM(CASE WHEN m.date >= %s AND m.kind = 'reactivation' THEN m.delta_mrr ELSE 0 END)
            AS reactivation,
        SUM(CASE WHEN m.date >= %s AND m.kind = 'contraction' THEN -m.delta_mrr ELSE 0 END)
            AS contraction,
        SUM(CASE WHEN m.date >= %s AND m.kind = 'churn' THEN -m.delta_mrr ELSE 0 END)
            AS churned
    FROM accounts_mrrmovement m
    {product_join}
    WHERE m.organization_id = %s AND m.date <= %s {account_in}
    GROUP BY m.account_id
"""

_GROUPED_SELECT = (
    """
SELECT {group} AS grp,
"""
    + cube.ledger_sums()
    + """
FROM classified c
JOIN accounts_account a ON a.id = c.account_id
WHERE a.organization_id = %s {account_where}
{group_by}
"""
)

# The accounts behind a ledger number (drill-downs): a whitelist of conditions on one
# account's period.
LEDGER_CONDITIONS = {
    "base": "c.base = 1",
    "end": "c.end_mrr > 0",
    "lost": "c.base = 1 AND c.end_mrr <= 0",
    "gained": "c.base = 0 AND c.end_mrr > 0",
    "new": "c.new_mrr <> 0",
    "expansion": "c.expansion <> 0",
    "reactivation": "c.reactivation <> 0",
    "contraction": "c.contraction <> 0",
    "churned": "c.churned <> 0",
}


# The same per-account ledger from the monthly facts (reports.ledger_facts, in cents), for
# any period: each account's MRR now (its latest month's MRR at the end, plus what moved
# since the facts were built) less what moved from the period's start (start MRR) and after
# its end (end MRR); the movements by kind in the period. The months wholly from the
# period's start on come from the facts; the days of a month cut by the period's start or
# end, and the movements written since the facts were built, from the ledger ({moved}).
# About one row per account instead of its whole history.
_MONTHS_PER_ACCOUNT_SQL = """
WITH moved AS (
    {moved}
), moved_per_account AS (
    SELECT account_id,
        SUM(net) AS since_start,
        SUM(net) FILTER (WHERE d > %s) AS after_end,
        SUM(new) FILTER (WHERE d <= %s) AS new_mrr,
        SUM(expansion) FILTER (WHERE d <= %s) AS expansion,
        SUM(reactivation) FILTER (WHERE d <= %s) AS reactivation,
        SUM(contraction) FILTER (WHERE d <= %s) AS contraction,
        SUM(churned) FILTER (WHERE d <= %s) AS churned
    FROM moved
    GROUP BY account_id
), totals AS (
    {totals}
), per_account AS (
    SELECT t.account_id AS account_id,
        t.total - COALESCE(s.since_start, 0) AS start_mrr,
        t.total - COALESCE(s.after_end, 0) AS end_mrr,
        COALESCE(s.new_mrr, 0) AS new_mrr,
        COALESCE(s.expansion, 0) AS expansion,
        COALESCE(s.reactivation, 0) AS reactivation,
        COALESCE(s.contraction, 0) AS contraction,
        COALESCE(s.churned, 0) AS churned
    FROM totals t
    LEFT JOIN moved_per_account s ON s.account_id = t.account_id
    WHERE t.first_date <= %s
"""
# Fact months as rows dated by their first day.
_FACT_MONTHS = (
    "SELECT account_id, month AS d, new, expansion, reactivation, contraction, churned, net "
    "FROM reports_mrrmonth WHERE organization_id = %s AND month >= %s {skip}"
)
# Ledger movements as rows of cents by kind, dated by their day ({where}: which ones).
_RAW_MOVES = """
SELECT account_id, date AS d,
    CASE WHEN kind = 'new' THEN cents ELSE 0 END AS new,
    CASE WHEN kind = 'expansion' THEN cents ELSE 0 END AS expansion,
    CASE WHEN kind = 'reactivation' THEN cents ELSE 0 END AS reactivation,
    CASE WHEN kind = 'contraction' THEN -cents ELSE 0 END AS contraction,
    CASE WHEN kind = 'churn' THEN -cents ELSE 0 END AS churned,
    cents AS net
FROM (SELECT account_id, date, kind, round(delta_mrr * 100)::float8 AS cents
      FROM accounts_mrrmovement WHERE organization_id = %s {where}) r
"""
_LATEST_TOTALS = (
    "SELECT account_id, mrr_end AS total, first_date FROM reports_mrrmonth "
    "WHERE organization_id = %s AND latest"
)
# The ledger's money columns: the monthly facts give them in cents.
MONEY_COLUMNS = frozenset(LEDGER_COLUMNS) - {
    "accounts_start",
    "accounts_end",
    "logos_lost",
    "logos_gained",
}


def _months_moved(f: ReportFilters, org_id: int, last: int) -> tuple[str, list, bool]:
    """What moved from the period's start on, per account, as rows (account_id, d, the kinds,
    net): the months wholly from the start on from the facts, the days of the months the
    period cuts and the movements after `last` (the facts' last movement) from the ledger;
    and whether there are any of those."""
    first_whole = month_start(f.date_from)
    if first_whole < f.date_from:
        first_whole = add_months(first_whole, 1)
    # the month the period's end cuts (None: it ends on a month's last day)
    cut = month_start(f.date_to)
    if add_months(cut, 1) - dt.timedelta(days=1) == f.date_to:
        cut = None
    skip, skip_params = ("AND month <> %s", [cut]) if cut else ("", [])
    parts = [_FACT_MONTHS.format(skip=skip)]
    params = [org_id, first_whole, *skip_params]
    edges = []
    if first_whole > f.date_from:
        edges.append((f.date_from, first_whole - dt.timedelta(days=1)))
    if cut and cut >= first_whole:  # else the first edge runs to the cut month's end
        edges.append((cut, add_months(cut, 1) - dt.timedelta(days=1)))
    for low, high in edges:
        parts.append(_RAW_MOVES.format(where="AND date >= %s AND date <= %s AND id <= %s"))
        params += [org_id, low, high, last]
    recent = MrrMovement.objects.filter(pk__gt=last).exists()
    if recent:
        parts.append(_RAW_MOVES.format(where="AND id > %s AND date >= %s"))
        params += [org_id, last, f.date_from]
    return "\nUNION ALL\n".join(parts), params, recent


def _months_parts(f: ReportFilters, org_id: int, last: int) -> tuple[str, list]:
    """The per-account statement over the monthly facts and the movements after `last`."""
    moved, params, recent = _months_moved(f, org_id, last)
    totals, totals_params = _LATEST_TOTALS, [org_id]
    if recent:
        totals = (
            "SELECT account_id, SUM(total) AS total, MIN(first_date) AS first_date "
            f"FROM ({totals} UNION ALL SELECT account_id, "
            "SUM(round(delta_mrr * 100)::float8), MIN(date) FROM accounts_mrrmovement "
            "WHERE organization_id = %s AND id > %s GROUP BY account_id) t "
            "GROUP BY account_id"
        )
        totals_params += [org_id, last]
    sql = _MONTHS_PER_ACCOUNT_SQL.format(moved=moved, totals=totals) + _CLASSIFIED
    return sql, [*params, *[f.date_to] * 6, *totals_params, f.date_to]


def _ledger_parts(f: ReportFilters) -> tuple[str, list, str, list, int]:
    """The per-account statement and its parameters, the account conditions, and what a
    money column is divided by (100: the monthly facts' cents)."""
    org_id = current_org_id()
    if org_id is None:
        from orgs.tenancy import TenantContextMissing

        raise TenantContextMissing("the ledger is read for the organization in context")
    product_join, join_params = "", []
    if f.product_id is not None:
        product_join = (
            "JOIN accounts_subscription s ON s.id = m.subscription_id "
            "AND s.organization_id = %s AND s.product_id = %s"
        )
        join_params = [org_id, f.product_id]
    account_where, account_params = "", [org_id]
    if f.persona_id is not None:
        account_where += " AND a.persona_id = %s"
        account_params.append(f.persona_id)
    if f.owner_id is not None:
        account_where += " AND a.owner_id = %s"
        account_params.append(f.owner_id)
    # a persona's or a CSM's ledger reads only their accounts' movements
    account_in, in_params = "", []
    if account_where:
        account_in = (
            "AND m.account_id IN (SELECT a.id FROM accounts_account a "
            f"WHERE a.organization_id = %s {account_where})"
        )
        in_params = account_params
    # a persona's or CSM's ledger reads their few accounts' movements faster than the facts
    if f.product_id is None and not account_where:
        last = months_usable()
        if last is not None:
            sql, params = _months_parts(f, org_id, last)
            return sql, params, account_where, account_params, 100
    per_account = _PER_ACCOUNT_SQL.format(product_join=product_join, account_in=account_in)
    per_account += _CLASSIFIED
    params = [f.date_from] * 6 + join_params + [org_id, f.date_to] + in_params
    return per_account, params, account_where, account_params, 1


# The groups as the ledger cube keys them (0 for "none", as the ledger's NULL).
CUBE_GROUPS = {
    "persona": "NULLIF(x.persona_key, 0)",
    "tier": "x.tier",
    "touch_model": "x.touch_model",
    "csm": "NULLIF(x.owner_key, 0)",
}


def _cube_ledger(f: ReportFilters, *, group: str) -> list[dict] | None:
    """The ledger per group from the nightly cube of the period (reports.ledger_cube) and the
    accounts moved or changed since, or None when there is no usable cube for it."""
    org_id = current_org_id()
    if connection.vendor != "postgresql" or org_id is None:
        return None
    state = LedgerCubeState.objects.first()
    kept_to = cube.kept_cube(date_from=f.date_from, date_to=f.date_to) if state else None
    if kept_to is None or not cube.cube_usable(state):
        return None
    # the groups and the persona and CSM filters are today's: accounts changed count too
    dims = bool(group) or f.persona_id is not None or f.owner_id is not None
    stale = cube.stale_accounts(
        org_id=org_id, state=state, kept_to=kept_to, to=f.date_to, dims=dims
    )
    if len(stale) > cube.MAX_CORRECTED:
        return None
    rows = cube.corrected_sql(
        accounts=bool(stale), old_dims=cube.KEPT_DIMS, new_dims=cube.CURRENT_DIMS
    )
    where = ["x.product_key = %(product)s"]
    if f.persona_id is not None:
        where.append("x.persona_key = %(persona)s")
    if f.owner_id is not None:
        where.append("x.owner_key = %(owner)s")
    column = CUBE_GROUPS[group] if group else "NULL"
    sums = ", ".join(f"SUM(x.{c}) AS {c}" for c in LEDGER_COLUMNS)
    sql = f"SELECT {column} AS grp, {sums} FROM ({rows}) x WHERE {' AND '.join(where)}"
    if group:
        sql += f" GROUP BY {column} HAVING SUM(x.members) > 0"
    params = {
        "org": org_id,
        "from": f.date_from,
        "kept_to": kept_to,
        "product": f.product_id or 0,
        "persona": f.persona_id,
        "owner": f.owner_id,
        "old_from": f.date_from,
        "old_to": kept_to,
        "old_last": state.last_movement,
        "old_accounts": stale,
        "new_from": f.date_from,
        "new_to": f.date_to,
        "new_last": 2**62,  # every movement
        "new_accounts": stale,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def ledger(f: ReportFilters, *, group: str = "") -> list[dict]:
    """The MRR ledger over the period, per group (`GROUPS`, or one row for all): for the
    accounts active at the start (the base: MRR above 0 the day before the period) their
    count, MRR and what they lost (churn, contraction, and both together capped at each
    account's start MRR) and gained; for all accounts the MRR at the end and every movement
    in the period by kind; logos lost (base accounts with no MRR at the end) and gained.
    One statement, naming the organization in its WHERE clauses."""
    # a persona's or CSM's ledger reads their accounts' movements faster than the cube's
    # check of every account's groups
    rows = None if f.persona_id or f.owner_id else _cube_ledger(f, group=group)
    if rows is not None:
        return _scaled(rows, 100)
    column = GROUPS[group] if group else "NULL"
    per_account, params, account_where, account_params, scale = _ledger_parts(f)
    sql = per_account + _GROUPED_SELECT.format(
        group=column,
        account_where=account_where,
        group_by=f"GROUP BY {column}" if group else "",  # no group: one row over all
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *account_params])
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    return _scaled(rows, scale)


def _scaled(rows: list[dict], scale: int) -> list[dict]:
    """The ledger's columns as floats, money divided by `scale` (100: cents)."""
    for row in rows:
        for key in LEDGER_COLUMNS:
            row[key] = float(row[key] or 0) / (scale if key in MONEY_COLUMNS else 1)
    return rows


def mrr_on(day: dt.date) -> list[tuple[int, float]] | None:
    """Each account's MRR at the end of `day` (the sum of its movements to then; accounts
    with none by then left out), from the monthly facts; None when they are not usable."""
    org_id = current_org_id()
    last = months_usable() if org_id is not None else None
    if last is None:
        return None
    f = ReportFilters(period=Period(CUSTOM, day, day, day, ""), today=day)
    sql, params = _months_parts(f, org_id, last)
    with connection.cursor() as cursor:
        cursor.execute(sql + "SELECT account_id, end_mrr / 100 FROM per_account", params)
        return cursor.fetchall()


def ledger_fingerprint() -> tuple[int, int]:
    """The organization's MRR ledger as it stands: how many movements, the last one's id."""
    found = MrrMovement.objects.aggregate(n=Count("pk"), last=Max("pk"))
    return found["n"] or 0, found["last"] or 0


def ledger_total(f: ReportFilters) -> dict:
    """The ledger's one row over all accounts (`ledger(f)` with no group): from the nightly
    LedgerTotal of the period when nothing was filtered and the ledger has not changed since,
    else read."""
    if f.persona_id is None and f.owner_id is None and f.product_id is None:
        movements, last = ledger_fingerprint()
        kept = (
            LedgerTotal.objects.filter(
                date_from=f.date_from, date_to=f.date_to, movements=movements, last_movement=last
            )
            .values_list("values", flat=True)
            .first()
        )
        if kept is not None:
            return {k: float(kept.get(k) or 0) for k in LEDGER_COLUMNS}
    rows = ledger(f)
    return rows[0] if rows else {k: 0.0 for k in LEDGER_COLUMNS}


def ledger_accounts_sql(
    f: ReportFilters, *, condition: str, group: str = "", value=None
) -> tuple[str, list]:
    """The ids of the accounts behind one ledger number, as SQL for `pk__in=RawSQL(...)`:
    those meeting LEDGER_CONDITIONS[condition], in the group `value` (None: no value)."""
    per_account, params, account_where, account_params, _scale = _ledger_parts(f)
    where = LEDGER_CONDITIONS[condition]
    if group:
        if value is None:
            where += f" AND {GROUPS[group]} IS NULL"
        else:
            where += f" AND {GROUPS[group]} = %s"
            account_params = [*account_params, value]
    sql = (
        per_account
        + "SELECT c.account_id FROM classified c JOIN accounts_account a ON a.id = c.account_id "
        + f"WHERE a.organization_id = %s {account_where} AND {where}"
    )
    return sql, [*params, *account_params]


def _movements(f: ReportFilters):
    qs = MrrMovement.objects.filter(accounts_q(f, "account__"))
    if f.product_id is not None:
        qs = qs.filter(subscription__product_id=f.product_id)
    return qs


# The period's movements per month and kind from the monthly facts (in cents; losses as
# positive amounts), {moved} as in the per-account ledger.
_MONTHS_MONTHLY_SQL = """
SELECT date_trunc('month', d)::date AS month, SUM(new), SUM(expansion), SUM(reactivation),
    SUM(contraction), SUM(churned)
FROM ({moved}) moved
WHERE d <= %s
GROUP BY 1
"""
# the kinds in that order, and the sign each has in the ledger
_MONTHLY_KINDS = (("new", 1), ("expansion", 1), ("reactivation", 1), ("contraction", -1))
_MONTHLY_KINDS += (("churn", -1),)


def ledger_monthly(f: ReportFilters) -> list[dict]:
    """The period's movements per month and kind (mrr: the sum of their deltas); for the whole
    portfolio from the monthly facts when they are usable."""
    org_id = current_org_id()
    if f.product_id is None and f.persona_id is None and f.owner_id is None and org_id:
        last = months_usable()
        if last is not None:
            moved, params, _recent = _months_moved(f, org_id, last)
            with connection.cursor() as cursor:
                cursor.execute(_MONTHS_MONTHLY_SQL.format(moved=moved), [*params, f.date_to])
                found = cursor.fetchall()
            out = []
            for month, *sums in sorted(found):
                for (kind, sign), cents in zip(_MONTHLY_KINDS, sums, strict=True):
                    if cents:
                        out.append({"month": month, "kind": kind, "mrr": sign * cents / 100})
            return out
    return list(
        _movements(f)
        .filter(date__gte=f.date_from, date__lte=f.date_to)
        .annotate(month=TruncMonth("date"))
        .values("month", "kind")
        .annotate(mrr=Sum("delta_mrr"))
        .order_by("month", "kind")
    )


def cohort_movements(f: ReportFilters, *, first: dt.date, last: dt.date) -> list[dict]:
    """For the accounts that became customers between `first` and `last` (their customer
    since), their ledger's movements up to the period's end, summed per start month and month
    of the movement."""
    return list(
        _movements(f)
        .filter(
            account__customer_since__gte=first,
            account__customer_since__lte=last,
            date__lte=f.date_to,
        )
        .annotate(cohort=TruncMonth("account__customer_since"), month=TruncMonth("date"))
        .values("cohort", "month")
        .annotate(delta=Sum("delta_mrr"))
        .order_by()
    )


def cohort_accounts_paying(f: ReportFilters, *, cohort: dt.date, through: dt.date):
    """The accounts of one start month (customer since in `cohort`'s month) whose ledger, up
    to `through`, leaves them MRR above zero: who is behind one cell of the cohort triangle
    (the same movements as cohort_movements, so the product filter counts the same)."""
    last = add_months(cohort, 1) - dt.timedelta(days=1)
    paying = (
        _movements(f)
        .filter(
            account__customer_since__gte=cohort,
            account__customer_since__lte=last,
            date__lte=min(through, f.date_to),
        )
        .values("account_id")
        .annotate(mrr=Sum("delta_mrr"))
        .filter(mrr__gt=0)
        .values("account_id")
    )
    return Account.objects.filter(pk__in=paying)


def cohort_sizes(f: ReportFilters, *, first: dt.date, last: dt.date) -> dict[dt.date, int]:
    qs = Account.objects.filter(customer_since__gte=first, customer_since__lte=last).filter(
        accounts_q(f)
    )
    if f.product_id is not None:
        qs = qs.filter(subscriptions__product_id=f.product_id)
    rows = (
        qs.annotate(cohort=TruncMonth("customer_since"))
        .values("cohort")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    return {_as_date(r["cohort"]): r["n"] for r in rows}


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def surveys(f: ReportFilters, *, group: str = "") -> list[dict]:
    """The period's survey answers per group: NPS promoters, passives, detractors; CSAT
    answers, their sum and how many were satisfied (4 or 5)."""
    start, end = instant_range(f.date_from, f.date_to)
    qs = SurveyResponse.objects.filter(answered_at__gte=start, answered_at__lt=end).filter(
        accounts_q(f, "account__")
    )
    key = {
        "persona": "account__persona_id",
        "tier": "account__tier",
        "touch_model": "account__touch_model",
        "csm": "account__owner_id",
    }.get(group)
    nps, csat = Q(kind="nps"), Q(kind="csat")
    values = qs.values(key) if key else qs
    aggregates = dict(
        nps_answers=Count("pk", filter=nps),
        promoters=Count("pk", filter=nps & Q(score__gte=9)),
        detractors=Count("pk", filter=nps & Q(score__lte=6)),
        csat_answers=Count("pk", filter=csat),
        csat_sum=Sum("score", filter=csat),
        satisfied=Count("pk", filter=csat & Q(score__gte=4)),
    )
    if key:
        return [{**r, "grp": r[key]} for r in values.annotate(**aggregates).order_by()]
    return [{**qs.aggregate(**aggregates), "grp": None}]


# The accounts whose first subscription started in the period, per group and days from that
# start to their activation (NULL: not activated): each account's first start from one pass
# over the subscriptions (grouped), not a subquery per account.
_ACTIVATION_SQL = """
SELECT {group} AS grp, {days} AS days, COUNT(*) AS n
FROM (
    SELECT account_id, MIN(start_date) AS first_start
    FROM accounts_subscription
    WHERE organization_id = %s {subscriptions_in}
    GROUP BY account_id
) s
JOIN accounts_account a ON a.id = s.account_id
WHERE a.organization_id = %s AND s.first_start >= %s AND s.first_start <= %s {account_where}
GROUP BY 1, 2
"""


def activation(f: ReportFilters, *, group: str = "") -> list[dict]:
    """The accounts whose first subscription started in the period, counted per group and
    days from that start to their activation (accounts.Account.activated_on, set by the
    nightly stage rules; days None: not activated yet)."""
    org_id = current_org_id()
    if org_id is None:
        from orgs.tenancy import TenantContextMissing

        raise TenantContextMissing("activation is read for the organization in context")
    account_where, params = "", [org_id, org_id, f.date_from, f.date_to]
    if f.persona_id is not None:
        account_where += " AND a.persona_id = %s"
        params.append(f.persona_id)
    if f.owner_id is not None:
        account_where += " AND a.owner_id = %s"
        params.append(f.owner_id)
    # a persona's or CSM's page groups only their accounts' subscriptions
    subscriptions_in, in_params = "", []
    if account_where:
        subscriptions_in = (
            "AND account_id IN (SELECT a.id FROM accounts_account a "
            f"WHERE a.organization_id = %s {account_where})"
        )
        in_params = [org_id, *params[4:]]
    days = "a.activated_on - s.first_start"  # whole days
    if connection.vendor == "sqlite":  # the embedded demo
        days = "CAST(julianday(a.activated_on) - julianday(s.first_start) AS INTEGER)"
    # a persona's or CSM's few accounts read their subscriptions faster than the rows' check
    filtered = f.persona_id is not None or f.owner_id is not None
    kept = None if filtered else first_starts_sql(first=f.date_from, last=f.date_to)
    if kept is not None:  # each account's first start from the nightly rows
        starts, named = kept
        where = account_where.replace("a.persona_id = %s", "a.persona_id = %(persona)s")
        where = where.replace("a.owner_id = %s", "a.owner_id = %(owner)s")
        sql = (
            f"SELECT {GROUPS[group] if group else 'NULL'} AS grp, {days} AS days, COUNT(*) "
            # a hash join over the accounts, not a probe per started account (OFFSET 0)
            f"FROM ({starts}) s JOIN (SELECT id, persona_id, tier, touch_model, owner_id, "
            "activated_on FROM accounts_account "
            f"WHERE organization_id = %(org)s OFFSET 0) a ON a.id = s.account_id "
            f"WHERE TRUE {where} GROUP BY 1, 2"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, {**named, "persona": f.persona_id, "owner": f.owner_id})
            return [{"grp": grp, "days": days, "n": n} for grp, days, n in cursor.fetchall()]
    sql = _ACTIVATION_SQL.format(
        group=GROUPS[group] if group else "NULL",
        days=days,
        account_where=account_where,
        subscriptions_in=subscriptions_in,
    )
    params = [params[0], *in_params, *params[1:]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [{"grp": grp, "days": days, "n": n} for grp, days, n in cursor.fetchall()]


# -- the nightly snapshot -----------------------------------------------------------------


def _snapshot(f: ReportFilters):
    qs = PortfolioDay.objects.all()
    if f.persona_id is not None:
        qs = qs.filter(persona_key=f.persona_id)
    if f.owner_id is not None:
        qs = qs.filter(owner_key=f.owner_id)
    return qs


def snapshot_day(f: ReportFilters, *, on_or_before: dt.date | None = None) -> dt.date | None:
    """The latest day with a snapshot on or before the period's end (or `on_or_before`)."""
    day = on_or_before or f.date_to
    return FactRefresh.objects.filter(date__lte=day).aggregate(d=Max("date"))["d"]


def snapshot_days(*, first: dt.date, last: dt.date) -> list[dt.date]:
    """The days between `first` and `last` that have a snapshot, in order."""
    return list(
        FactRefresh.objects.filter(date__gte=first, date__lte=last)
        .order_by("date")
        .values_list("date", flat=True)
    )


_SNAPSHOT_SUMS = dict(
    customers=Sum("customers"),
    mrr=Sum("mrr"),
    scored=Sum("scored"),
    score_sum=Sum("score_sum"),
    active_30d=Sum("active_30d"),
    untouched_14=Sum("untouched_14"),
    untouched_30=Sum("untouched_30"),
    untouched_60=Sum("untouched_60"),
    untouched_90=Sum("untouched_90"),
)


def snapshot(f: ReportFilters, *, day: dt.date, group: str = "") -> list[dict]:
    """The snapshot of `day` per group and colour (sums of its cells)."""
    key = SNAPSHOT_GROUPS.get(group)
    keys = [key, "colour"] if key else ["colour"]
    rows = _snapshot(f).filter(date=day).values(*keys).annotate(**_SNAPSHOT_SUMS).order_by()
    # 0 and "" stand for "none" in the snapshot's keys; the other reads say None
    return [{**r, "grp": (r[key] or None) if key else None} for r in rows]


def snapshot_trend(f: ReportFilters, *, days: list[dt.date]) -> list[dict]:
    """Customers per colour on each of `days` (snapshot days)."""
    return list(
        _snapshot(f)
        .filter(date__in=days)
        .values("date", "colour")
        .annotate(customers=Sum("customers"))
        .order_by("date", "colour")
    )
