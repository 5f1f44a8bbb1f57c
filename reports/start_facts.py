"""Each account's first subscription start (AccountStart), which the portfolio's activation
table counts the accounts that started in a period by, kept by the nightly refresh so a page
does not group every subscription by account.

Exact and live: AccountStartState keeps the last subscription id the rows include and a digest
of those subscriptions (id, account, start) per bucket of account ids. A page hashes the
subscriptions the same way (one pass, no grouping), and takes the accounts of the buckets
that differ (a start changed, a subscription deleted or moved) and the accounts with a
subscription added since from the subscriptions themselves; the rest from the rows. The
refresh rebuilds those same accounts' rows."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from orgs.models import Organization

from .models import AccountStartState

BUCKETS = 64
_DIGEST_SQL = f"""
SELECT account_id %% {BUCKETS} AS bucket,
    bit_xor(hashint8extended(id, hashint8extended(account_id,
        (start_date - DATE '2000-01-01')::bigint))) AS digest
FROM accounts_subscription
WHERE organization_id = %(org)s AND id <= %(subscriptions_to)s
GROUP BY 1
"""
# The accounts of the changed buckets and those with a subscription added since.
_STALE = (
    f"(account_id %% {BUCKETS} = ANY(%(buckets)s) OR account_id IN (SELECT account_id "
    "FROM accounts_subscription WHERE organization_id = %(org)s AND id > %(subscriptions_to)s))"
)
_FIRST_STARTS = (
    "SELECT account_id, MIN(start_date) AS first_start FROM accounts_subscription "
    "WHERE organization_id = %(org)s {where} GROUP BY account_id"
)


def _digests(cursor, org_id: int, subscriptions_to: int) -> dict[str, int]:
    cursor.execute(_DIGEST_SQL, {"org": org_id, "subscriptions_to": subscriptions_to})
    return {str(b): d for b, d in cursor.fetchall()}


def _changed(cursor, state, org_id: int) -> list[int]:
    now = _digests(cursor, org_id, state.subscriptions_to)
    kept = state.digests or {}
    return sorted(int(b) for b in set(now) | set(kept) if now.get(b) != kept.get(b))


def first_starts_sql(*, first: dt.date, last: dt.date) -> tuple[str, dict] | None:
    """SQL of (account_id, first_start) for the accounts whose first subscription started
    between `first` and `last`, from the rows and the stale accounts' subscriptions; None
    when there are no rows yet (read the subscriptions). PostgreSQL only."""
    from orgs.tenancy import current_org_id

    org_id = current_org_id()
    if connection.vendor != "postgresql" or org_id is None:
        return None
    state = AccountStartState.objects.first()
    if state is None:
        return None
    with connection.cursor() as cursor:
        buckets = _changed(cursor, state, org_id)
        cursor.execute(
            "SELECT DISTINCT account_id FROM accounts_subscription "
            "WHERE organization_id = %(org)s AND id > %(subscriptions_to)s",
            {"org": org_id, "subscriptions_to": state.subscriptions_to},
        )
        added = [r[0] for r in cursor.fetchall()]
    params = {"org": org_id, "buckets": buckets, "added": added, "first": first, "last": last}
    sql = (
        "SELECT account_id, first_start FROM reports_accountstart "
        "WHERE organization_id = %(org)s AND first_start >= %(first)s "
        "AND first_start <= %(last)s"
    )
    if not buckets and not added:
        return sql, params
    # the stale accounts: of the changed buckets, or with a subscription added since
    stale = " OR ".join(
        ([f"account_id %% {BUCKETS} = ANY(%(buckets)s)"] if buckets else [])
        + (["account_id = ANY(%(added)s)"] if added else [])
    )
    sql += (
        f" AND NOT ({stale})\nUNION ALL\nSELECT account_id, first_start FROM ("
        + _FIRST_STARTS.format(where=f"AND ({stale})")
        + ") live WHERE first_start >= %(first)s AND first_start <= %(last)s"
    )
    return sql, params


def account_starts_refresh(*, org: Organization) -> dict:
    """Bring AccountStart up to the subscriptions: every account the first time, else the
    accounts of the buckets whose digest changed and those with a subscription added since.
    In the organization's context and the caller's transaction."""
    if connection.vendor != "postgresql":
        return {"rebuilt": "none (not PostgreSQL)", "rows": 0}
    state = AccountStartState.objects.first()
    params = {"org": org.pk}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(MAX(id), 0) FROM accounts_subscription "
            "WHERE organization_id = %(org)s",
            params,
        )
        subscriptions_to = cursor.fetchone()[0]
        if state is None:
            where, scope = "", {}
        else:
            buckets = _changed(cursor, state, org.pk)
            cursor.execute(
                "SELECT 1 FROM accounts_subscription WHERE organization_id = %(org)s "
                "AND id > %(subscriptions_to)s LIMIT 1",
                {**params, "subscriptions_to": state.subscriptions_to},
            )
            if not buckets and cursor.fetchone() is None:
                return {"rebuilt": "none", "rows": 0}
            where = f"AND {_STALE}"
            scope = {"buckets": buckets, "subscriptions_to": state.subscriptions_to}
        cursor.execute(
            f"DELETE FROM reports_accountstart WHERE organization_id = %(org)s {where}",
            {**params, **scope},
        )
        cursor.execute(
            "INSERT INTO reports_accountstart (organization_id, account_id, first_start) "
            "SELECT %(org)s, account_id, first_start FROM ("
            + _FIRST_STARTS.format(where=f"AND id <= %(now_to)s {where}")
            + ") s",
            {**params, **scope, "now_to": subscriptions_to},
        )
        rows = cursor.rowcount
        digests = _digests(cursor, org.pk, subscriptions_to)
    AccountStartState.all_objects.update_or_create(
        organization=org,
        defaults={
            "subscriptions_to": subscriptions_to,
            "digests": digests,
            "refreshed_at": timezone.now(),
        },
    )
    return {"rebuilt": "all" if state is None else "changed", "rows": rows}
