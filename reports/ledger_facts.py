"""The monthly MRR facts: per account and month, the subscription ledger's movements by kind
and the account's MRR at the month's end (MrrMonth, in cents), written by the nightly
refresh, and the state a page checks before it reads them (MrrMonthState).

The refresh rebuilds, in two set-based statements, the rows of the accounts that have
movements written since the last refresh (every account the first time, or when a movement
was deleted): a re-run replaces an account's rows, one per account and month. A page reads
the rows and adds the movements written since (their ids are above the state's last), so its
numbers are exact and live; reports.selectors.portfolio says when it may."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from accounts.models import MrrMovement
from orgs.models import Organization
from orgs.tenancy import current_org_id

from .models import MrrMonth, MrrMonthState

# One account's movements as cents per kind and month; contraction and churn are losses,
# positive, as the ledger reports them. {accounts}: all, or those moved since an id.
MONTHS_SELECT = """
SELECT m.account_id, date_trunc('month', m.date)::date AS month,
    COALESCE(SUM(m.cents) FILTER (WHERE m.kind = 'new'), 0) AS new,
    COALESCE(SUM(m.cents) FILTER (WHERE m.kind = 'expansion'), 0) AS expansion,
    COALESCE(SUM(m.cents) FILTER (WHERE m.kind = 'reactivation'), 0) AS reactivation,
    COALESCE(-SUM(m.cents) FILTER (WHERE m.kind = 'contraction'), 0) AS contraction,
    COALESCE(-SUM(m.cents) FILTER (WHERE m.kind = 'churn'), 0) AS churned,
    SUM(m.cents) AS net,
    MIN(m.date) AS first_date
FROM (
    SELECT account_id, date, kind, round(delta_mrr * 100)::bigint AS cents
    FROM accounts_mrrmovement
    WHERE organization_id = %s {where}
) m
GROUP BY m.account_id, date_trunc('month', m.date)
"""

_MOVED_SINCE = (
    "account_id IN (SELECT DISTINCT account_id FROM accounts_mrrmovement "
    "WHERE organization_id = %s AND id > %s)"
)

_DELETE_SQL = "DELETE FROM reports_mrrmonth WHERE organization_id = %s {where}"

_INSERT_SQL = """
INSERT INTO reports_mrrmonth (organization_id, account_id, month, new, expansion,
                              reactivation, contraction, churned, net, mrr_end, latest,
                              first_date)
SELECT %s, x.account_id, x.month, x.new, x.expansion, x.reactivation, x.contraction,
    x.churned, x.net,
    SUM(x.net) OVER (PARTITION BY x.account_id ORDER BY x.month),
    x.month = MAX(x.month) OVER (PARTITION BY x.account_id),
    MIN(x.first_date) OVER (PARTITION BY x.account_id)
FROM ({months}) x
ON CONFLICT (organization_id, account_id, month) DO UPDATE SET
    new = EXCLUDED.new, expansion = EXCLUDED.expansion,
    reactivation = EXCLUDED.reactivation, contraction = EXCLUDED.contraction,
    churned = EXCLUDED.churned, net = EXCLUDED.net, mrr_end = EXCLUDED.mrr_end,
    latest = EXCLUDED.latest, first_date = EXCLUDED.first_date
"""


_CHURN_DELETE_SQL = "DELETE FROM reports_churnproductmonth WHERE organization_id = %s {where}"

# The churn entries per account, month and product, from the same movements as MONTHS_SELECT
_CHURN_INSERT_SQL = """
INSERT INTO reports_churnproductmonth (organization_id, account_id, month, product_key, lost)
SELECT %s, m.account_id, date_trunc('month', m.date)::date, COALESCE(s.product_id, 0),
    SUM(round(m.delta_mrr * 100))
FROM accounts_mrrmovement m
LEFT JOIN accounts_subscription s ON s.id = m.subscription_id
WHERE m.organization_id = %s AND m.kind = 'churn' {where}
GROUP BY m.account_id, date_trunc('month', m.date), COALESCE(s.product_id, 0)
"""


def mrr_months_refresh(*, org: Organization) -> dict:
    """Bring the organization's MrrMonth and ChurnProductMonth rows up to its ledger:
    rebuild the accounts with movements after the state's last id, or every account when
    there is no state yet (or one from before the churn by product rows) or a movement has
    gone (the count no longer adds up). In the organization's context and the
    caller's transaction. Returns what it did. On SQLite (the embedded demo) it keeps none:
    its SQL is PostgreSQL's, and every reader falls back to the ledger itself without them."""
    if connection.vendor != "postgresql":
        return {"rebuilt": "none (not PostgreSQL)", "rows": 0}
    found = MrrMovement.objects.aggregate(n=Count("pk"), last=Max("pk"))
    count, last = found["n"] or 0, found["last"] or 0
    state = MrrMonthState.objects.first()
    full = state is None or not state.with_churn_products
    if not full:
        newer = MrrMovement.objects.filter(pk__gt=state.last_movement).count()
        full = count != state.movements + newer
        if not full and not newer:
            return {"rebuilt": "none", "rows": 0}
    # only the movements counted above: one committed later with a lower id makes the
    # count disagree at the next read, which then reads the ledger itself
    where, params = "AND id <= %s", [last]
    scope, scope_params = "", []
    if not full:
        scope, scope_params = f"AND {_MOVED_SINCE}", [org.pk, state.last_movement]
    months = MONTHS_SELECT.format(where=f"{where} {scope}")
    with connection.cursor() as cursor:
        cursor.execute(_DELETE_SQL.format(where=scope), [org.pk, *scope_params])
        cursor.execute(_INSERT_SQL.format(months=months), [org.pk, org.pk, *params, *scope_params])
        rows = cursor.rowcount
        # the churn by product of the same accounts, from the same movements
        cursor.execute(_CHURN_DELETE_SQL.format(where=scope), [org.pk, *scope_params])
        churn_scope = f"AND m.id <= %s {scope.replace('account_id IN', 'm.account_id IN')}"
        cursor.execute(
            _CHURN_INSERT_SQL.format(where=churn_scope), [org.pk, org.pk, last, *scope_params]
        )
    MrrMonthState.all_objects.update_or_create(
        organization=org,
        defaults={
            "movements": count,
            "last_movement": last,
            "refreshed_at": timezone.now(),
            "with_churn_products": True,
        },
    )
    if full:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {MrrMonth._meta.db_table}")
    return {"rebuilt": "all" if full else "moved", "rows": rows}


# The ledger's movement count while a page is read (movements_counted): None outside one.
_COUNTED: ContextVar[dict | None] = ContextVar("reports_movements_counted", default=None)


@contextmanager
def movements_counted():
    """Within it, the ledger's movements are counted once per organization: the reads of one
    page that each check no movement was deleted (the monthly facts, the ledger cube) share
    that count instead of each counting every movement again."""
    token = _COUNTED.set({})
    try:
        yield
    finally:
        _COUNTED.reset(token)


def movement_count() -> int:
    """How many movements the current organization's ledger has (once per page read)."""
    memo, org_id = _COUNTED.get(), current_org_id()
    if memo is not None and org_id in memo:
        return memo[org_id]
    count = MrrMovement.objects.count()
    if memo is not None:
        memo[org_id] = count
    return count


def months_usable(*, churn_products: bool = False) -> int | None:
    """The last movement id the current organization's MrrMonth rows (or, asked for,
    ChurnProductMonth rows) include, when the rows plus the movements after it are the whole
    ledger (None: read the ledger itself)."""
    state = MrrMonthState.objects.values_list(
        "movements", "last_movement", "with_churn_products"
    ).first()
    if state is None or (churn_products and not state[2]):
        return None
    movements, last, _with_churn = state
    newer = MrrMovement.objects.filter(pk__gt=last).count()
    if movement_count() != movements + newer:
        return None
    return last
