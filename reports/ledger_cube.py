"""The portfolio's ledger cube: per period, the MRR ledger of every account classified as
reports.selectors.portfolio.ledger classifies it (in the base or not, losses capped at the
start MRR) and summed per persona, tier, touch model, owner and product (LedgerCell), so a
page's GRR, NRR and logo churn are sums over a few thousand rows instead of a pass over every
account's history.

Exact and live: the cells count the movements up to LedgerCubeState.last_movement dated up to
the cell's `date_to`, and each account under the dimensions LedgerAccount keeps for it. A page
takes the cells and, for the accounts that moved since (a movement after that id, or dated
after `date_to` within the period asked) or whose persona, tier, touch model or owner changed,
takes out what the cells hold for them and puts in what they are now (the same per-account
statement, for those accounts only). A deleted movement (the count no longer adds up) or no
cube for the period sends the page back to the per-account ledger.

The nightly refresh keeps the cubes of the running month, quarter and year and the three
before: it rolls each forward the same way (out what the moved accounts were, in what they
are) and builds one from every account only when it has none to roll (a period's first night,
or after a movement was deleted)."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.models import MrrMovement
from orgs.models import Organization

from .ledger_facts import movement_count
from .models import LedgerCell, LedgerCubeState
from .periods import MONTH, QUARTER, YEAR, period_containing

# The ledger's columns (reports.selectors.portfolio reads them), and the columns a cell sums:
# those, `members` (how many accounts, per product, it holds, so a cell emptied by the
# accounts that left it goes) and `end_paying` (the end MRR of those paying then: the next
# period's start).
LEDGER_COLUMNS = (
    "accounts_start",
    "accounts_end",
    "logos_lost",
    "logos_gained",
    "start_mrr",
    "end_mrr",
    "new_mrr",
    "expansion",
    "reactivation",
    "contraction",
    "churned",
    "base_churned",
    "base_contraction",
    "base_expansion",
    "base_loss",
)
CELL_COLUMNS = ("members", *LEDGER_COLUMNS, "end_paying")
DIMENSIONS = ("persona_key", "tier", "touch_model", "owner_key", "product_key")
# Beyond this many accounts to correct, a page reads the per-account ledger instead.
MAX_CORRECTED = 20000

# The accounts' dimensions: as they are now, and as the cells count them.
CURRENT_DIMS = (
    "(SELECT id AS account_id, COALESCE(persona_id, 0) AS persona_key, tier, touch_model, "
    "COALESCE(owner_id, 0) AS owner_key FROM accounts_account "
    "WHERE organization_id = %(org)s)"
)
KEPT_DIMS = (
    "(SELECT account_id, persona_key, tier, touch_model, owner_key FROM reports_ledgeraccount "
    "WHERE organization_id = %(org)s)"
)

# One account's movements of the period by kind (in cents; losses positive), its MRR the day
# before the period (start) and at its end.
_SUMS = """
    SUM(CASE WHEN m.date < %({p}from)s THEN m.c ELSE 0 END) AS start_mrr,
    SUM(m.c) AS end_mrr,
    SUM(CASE WHEN m.date >= %({p}from)s AND m.kind = 'new' THEN m.c ELSE 0 END) AS new_mrr,
    SUM(CASE WHEN m.date >= %({p}from)s AND m.kind = 'expansion' THEN m.c ELSE 0 END)
        AS expansion,
    SUM(CASE WHEN m.date >= %({p}from)s AND m.kind = 'reactivation' THEN m.c ELSE 0 END)
        AS reactivation,
    SUM(CASE WHEN m.date >= %({p}from)s AND m.kind = 'contraction' THEN -m.c ELSE 0 END)
        AS contraction,
    SUM(CASE WHEN m.date >= %({p}from)s AND m.kind = 'churn' THEN -m.c ELSE 0 END) AS churned
"""

# Each account of a per-account ledger in the base or not (MRR above 0 the day before the
# period), and its losses capped at its start MRR: the one classification the cells and the
# portfolio's own ledger (reports.selectors.portfolio) share.
CLASSIFIED = """), classified AS (
    SELECT p.*,
        CASE WHEN p.start_mrr > 0 THEN 1 ELSE 0 END AS base,
        CASE WHEN p.churned + p.contraction < p.start_mrr THEN p.churned + p.contraction
             ELSE p.start_mrr END AS capped_loss
    FROM per_account p
)
"""


def ledger_sums(*, count_cast: str = "") -> str:
    """The ledger's sums over classified accounts `c` (accounts and logos at the start and
    the end, MRR by movement kind, and the base's churn, contraction, expansion and capped
    loss that GRR and NRR take), written once for the cells and the portfolio's ledger.
    `count_cast` ("::float8" for the cells) follows each count."""
    k = count_cast
    return f"""    SUM(c.base){k} AS accounts_start,
    SUM(CASE WHEN c.end_mrr > 0 THEN 1 ELSE 0 END){k} AS accounts_end,
    SUM(CASE WHEN c.base = 1 AND c.end_mrr <= 0 THEN 1 ELSE 0 END){k} AS logos_lost,
    SUM(CASE WHEN c.base = 0 AND c.end_mrr > 0 THEN 1 ELSE 0 END){k} AS logos_gained,
    SUM(CASE WHEN c.base = 1 THEN c.start_mrr ELSE 0 END) AS start_mrr,
    SUM(c.end_mrr) AS end_mrr,
    SUM(c.new_mrr) AS new_mrr,
    SUM(c.expansion) AS expansion,
    SUM(c.reactivation) AS reactivation,
    SUM(c.contraction) AS contraction,
    SUM(c.churned) AS churned,
    SUM(CASE WHEN c.base = 1 THEN c.churned ELSE 0 END) AS base_churned,
    SUM(CASE WHEN c.base = 1 THEN c.contraction ELSE 0 END) AS base_contraction,
    SUM(CASE WHEN c.base = 1 THEN c.new_mrr + c.expansion + c.reactivation ELSE 0 END)
        AS base_expansion,
    SUM(CASE WHEN c.base = 1 THEN c.capped_loss ELSE 0 END) AS base_loss"""


# The cells of one period from the movements up to %(last)s dated up to %(to)s ({where}: all
# accounts, or some), each account per product (0: all its movements) classified as the
# ledger does, under the dimensions {dims}.
_CONTRIB = """
WITH m AS MATERIALIZED (
    SELECT account_id, subscription_id, date, kind, round(delta_mrr * 100)::float8 AS c
    FROM accounts_mrrmovement
    WHERE organization_id = %(org)s AND date <= %({p}to)s AND id <= %({p}last)s {where}
), per_account AS (
    SELECT m.account_id, 0::bigint AS product_key, {sums}
    FROM m GROUP BY m.account_id
    UNION ALL
    SELECT m.account_id, s.product_id, {sums}
    FROM m JOIN accounts_subscription s
        ON s.id = m.subscription_id AND s.organization_id = %(org)s
    GROUP BY m.account_id, s.product_id
{classified}SELECT d.persona_key, d.tier, d.touch_model, d.owner_key, c.product_key,
    COUNT(*)::float8 AS members,
{ledger_sums},
    SUM(CASE WHEN c.end_mrr > 0 THEN c.end_mrr ELSE 0 END) AS end_paying
FROM classified c
JOIN {dims} d ON d.account_id = c.account_id
GROUP BY 1, 2, 3, 4, 5
"""

_COLUMNS = ", ".join(CELL_COLUMNS)
_NEGATED = ", ".join(f"-{c}" for c in CELL_COLUMNS)
_SUMMED = ", ".join(f"SUM({c})" for c in CELL_COLUMNS)
_DIMS = ", ".join(DIMENSIONS)


def contributions_sql(*, p: str, accounts: bool, dims: str) -> str:
    """The cells of a period (parameters %(org)s and, prefixed by `p`, from, to, last and,
    with `accounts`, the ids of the only accounts read)."""
    where = f"AND account_id = ANY(%({p}accounts)s)" if accounts else ""
    return _CONTRIB.format(
        p=p,
        where=where,
        dims=dims,
        sums=_SUMS.format(p=p),
        classified=CLASSIFIED,
        ledger_sums=ledger_sums(count_cast="::float8"),
    )


def cells_sql() -> str:
    """A kept cube's cells (%(org)s, %(from)s, %(kept_to)s)."""
    return (
        f"SELECT {_DIMS}, {_COLUMNS} FROM reports_ledgercell WHERE organization_id = %(org)s "
        "AND date_from = %(from)s AND date_to = %(kept_to)s"
    )


def corrected_sql(*, accounts: bool, old_dims: str, new_dims: str) -> str:
    """A kept cube's cells with the accounts in %(old_accounts)s / %(new_accounts)s taken out
    as the cells hold them (old_: to the kept cube's end, up to the state's last movement,
    under `old_dims`) and put in as they are (new_: to the period's end, every movement,
    under `new_dims`), as rows of cells (not summed)."""
    parts = [cells_sql()]
    if accounts:
        old = contributions_sql(p="old_", accounts=True, dims=old_dims)
        new = contributions_sql(p="new_", accounts=True, dims=new_dims)
        parts.append(f"SELECT {_DIMS}, {_NEGATED} FROM ({old}) o")
        parts.append(f"SELECT {_DIMS}, {_COLUMNS} FROM ({new}) n")
    return "\nUNION ALL\n".join(parts)


# The accounts a kept cube does not count as they are now: moved after its last movement or
# dated after its end (up to the period's).
_MOVED_SQL = (
    "SELECT account_id FROM accounts_mrrmovement WHERE organization_id = %(org)s "
    "AND (id > %(last)s OR (date > %(kept_to)s AND date <= %(to)s))"
)
# ... and those whose persona, tier, touch model or owner is not the one the cells count
# them under (or that LedgerAccount has never seen), in the buckets %(buckets)s.
_CHANGED_SQL = """
SELECT a.id FROM accounts_account a
LEFT JOIN reports_ledgeraccount l ON l.organization_id = %(org)s AND l.account_id = a.id
WHERE a.organization_id = %(org)s {buckets} AND (l.account_id IS NULL
    OR l.persona_key <> COALESCE(a.persona_id, 0) OR l.tier <> a.tier
    OR l.touch_model <> a.touch_model OR l.owner_key <> COALESCE(a.owner_id, 0))
"""
# One account's dimensions hashed (64 bits), XORed per bucket of ids, for the accounts up to
# an id: the accounts' today and LedgerAccount's, the same way. A page reads the accounts'
# digests (one pass over the accounts, no join) and joins LedgerAccount only in the buckets
# that differ; the accounts created since (a higher id) count as changed. Two equal digests
# of different dimensions would take a 64-bit hash collision.
BUCKETS = 64
_DIGEST_SQL = """
SELECT {id} %% {buckets} AS bucket,
    bit_xor(hashtextextended({touch}, hashtextextended({tier}, hashint8extended({owner},
        hashint8extended({persona}, hashint8extended({id}, 0)))))) AS digest
FROM {table} WHERE organization_id = %(org)s AND {id} <= %(accounts_to)s
GROUP BY 1
"""
ACCOUNTS_DIGEST_SQL = _DIGEST_SQL.format(
    id="id",
    persona="COALESCE(persona_id, 0)",
    tier="tier",
    touch="touch_model",
    owner="COALESCE(owner_id, 0)",
    table="accounts_account",
    buckets=BUCKETS,
)
KEPT_DIGEST_SQL = _DIGEST_SQL.format(
    id="account_id",
    persona="persona_key",
    tier="tier",
    touch="touch_model",
    owner="owner_key",
    table="reports_ledgeraccount",
    buckets=BUCKETS,
)


def _digests(cursor, sql: str, org_id: int, accounts_to: int) -> dict[str, int]:
    cursor.execute(sql, {"org": org_id, "accounts_to": accounts_to})
    return {str(bucket): digest for bucket, digest in cursor.fetchall()}


def changed_accounts(*, org_id: int, digests: dict) -> list[int]:
    """The accounts whose dimensions may not be the ones the cells count them under: those
    created after the state's last account, and in the buckets whose digest differs from the
    state's (`digests`: {"accounts_to": id, "buckets": {bucket: digest}}) those whose
    dimensions differ."""
    accounts_to, kept = digests.get("accounts_to", 0), digests.get("buckets", {})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM accounts_account WHERE organization_id = %(org)s "
            "AND id > %(accounts_to)s",
            {"org": org_id, "accounts_to": accounts_to},
        )
        found = [r[0] for r in cursor.fetchall()]
        now = _digests(cursor, ACCOUNTS_DIGEST_SQL, org_id, accounts_to)
        buckets = sorted(int(b) for b in set(now) | set(kept) if now.get(b) != kept.get(b))
        if buckets:
            where = f"AND a.id <= %(accounts_to)s AND a.id %% {BUCKETS} = ANY(%(buckets)s)"
            cursor.execute(
                _CHANGED_SQL.format(buckets=where),
                {"org": org_id, "buckets": buckets, "accounts_to": accounts_to},
            )
            found += [r[0] for r in cursor.fetchall()]
        return found


def stale_accounts(*, org_id: int, state, kept_to: dt.date, to: dt.date, dims: bool) -> list[int]:
    """The accounts a kept cube (to `kept_to`) does not count as they are for a period to
    `to`: moved since, and with `dims` those whose dimensions changed."""
    with connection.cursor() as cursor:
        cursor.execute(
            _MOVED_SQL,
            {"org": org_id, "last": state.last_movement, "kept_to": kept_to, "to": to},
        )
        moved = {r[0] for r in cursor.fetchall()}
    if dims:
        moved |= set(changed_accounts(org_id=org_id, digests=state.digests or {}))
    return sorted(moved)


def cube_periods(day: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The periods the refresh of `day` keeps a cube of: the month, quarter and year running
    on `day` (to `day`) and the three before them (whole)."""
    out = set()
    for kind in (MONTH, QUARTER, YEAR):
        running = period_containing(kind, day, today=day)
        before = period_containing(kind, running.first - dt.timedelta(days=1), today=day)
        out |= {(running.first, running.last), (before.first, before.last)}
    return sorted(out)


def ledger_count() -> tuple[int, int]:
    """The current organization's ledger: how many movements, the last one's id."""
    found = MrrMovement.objects.aggregate(n=Count("pk"), last=Max("pk"))
    return found["n"] or 0, found["last"] or 0


def cube_usable(state, *, count: int | None = None) -> bool:
    """Whether the cells plus the movements after the state's last are the whole ledger (no
    movement deleted since they were built); `count`: the movements, when already counted."""
    if state is None:
        return False
    newer = MrrMovement.objects.filter(pk__gt=state.last_movement).count()
    return (movement_count() if count is None else count) == state.movements + newer


def _state_write(
    org: Organization, cursor, *, count: int, last: int, digests: dict | None = None
) -> None:
    """The state of the cells written; `digests`: LedgerAccount's, when it did not change."""
    if digests is None:
        cursor.execute(
            "SELECT MAX(account_id) FROM reports_ledgeraccount WHERE organization_id = %(org)s",
            {"org": org.pk},
        )
        accounts_to = cursor.fetchone()[0] or 0
        buckets = _digests(cursor, KEPT_DIGEST_SQL, org.pk, accounts_to)
        digests = {"accounts_to": accounts_to, "buckets": buckets}
    LedgerCubeState.all_objects.update_or_create(
        organization=org,
        defaults={
            "movements": count,
            "last_movement": last,
            "refreshed_at": timezone.now(),
            "digests": digests,
        },
    )


def kept_cube(*, date_from: dt.date, date_to: dt.date) -> dt.date | None:
    """The end of the kept cube a period [date_from, date_to] can be read from: one from the
    same first day to no later than its last (the latest such), or None."""
    return (
        LedgerCell.objects.filter(date_from=date_from, date_to__lte=date_to)
        .aggregate(d=Max("date_to"))
        .get("d")
    )


_TEMP = "ledger_cube_next"


# A kept cube to the day before a period, as the cells of that period's first day would be
# for every account that did not move on it: start and end its MRR at the kept cube's end,
# in the base when paying, nothing moved.
_CARRIED_SQL = f"""
SELECT {_DIMS}, members, accounts_end, accounts_end, 0, 0, end_paying, end_mrr,
    0, 0, 0, 0, 0, 0, 0, 0, 0, end_paying
FROM reports_ledgercell
WHERE organization_id = %(org)s AND date_from = %(src_from)s AND date_to = %(kept_to)s
"""


def _sources(kept, wanted) -> dict:
    """Where each wanted period's cells come from: {(first, to): (how, src_from, kept_to)},
    `rolled` from the latest kept cube of the same first day ending by `to`, or `carried`
    from a kept cube ending the day before `first`; a period in neither is built."""
    out = {}
    for first, to in wanted:
        ends = [k[1] for k in kept if k[0] == first and k[1] <= to]
        if ends:
            out[(first, to)] = ("rolled", first, max(ends))
            continue
        before = [k for k in kept if k[1] == first - dt.timedelta(days=1)]
        if before:
            out[(first, to)] = ("carried", max(before)[0], first - dt.timedelta(days=1))
    return out


def ledger_cube_refresh(*, org: Organization, day: dt.date) -> dict:
    """Bring the organization's ledger cubes to `day` (cube_periods). Each is rolled from a
    kept cube of the same first day, or carried from one that ends the day before it
    begins, by the accounts that moved or changed since (out as the kept cells hold them, in
    as they are now); built from every account only when neither is kept (the first refresh,
    or after a movement was deleted); cubes of other periods dropped. In the organization's
    context and the caller's transaction. PostgreSQL only (the embedded demo reads the
    ledger itself)."""
    if connection.vendor != "postgresql":
        return {"rebuilt": "none (not PostgreSQL)", "rows": 0}
    count, last = ledger_count()
    state = LedgerCubeState.objects.first()
    wanted = cube_periods(day)
    usable = cube_usable(state, count=count)
    params = {"org": org.pk}
    kept = []
    if usable:
        kept = sorted(set(LedgerCell.objects.values_list("date_from", "date_to").distinct()))
    sources = _sources(kept, wanted)
    stale: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if usable:
            # moved since, dated after a kept cube's end (up to `day`), or changed
            since = min((src[2] for w, src in sources.items() if src[2] < w[1]), default=day)
            cursor.execute(
                f"{_MOVED_SQL} AND id <= %(now_last)s",
                {
                    **params,
                    "last": state.last_movement,
                    "now_last": last,
                    "kept_to": since,
                    "to": day,
                },
            )
            moved = {r[0] for r in cursor.fetchall()}
            changed = changed_accounts(org_id=org.pk, digests=state.digests or {})
            stale = sorted(moved | set(changed))
            same = set(kept) == set(wanted) and all(
                src == ("rolled", w[0], w[1]) for w, src in sources.items()
            )
            if same and not stale:
                _state_write(org, cursor, count=count, last=last, digests=state.digests)
                return {"rebuilt": "none", "stale_accounts": 0, "rows": 0}
        else:
            cursor.execute("DELETE FROM reports_ledgercell WHERE organization_id = %(org)s", params)
            cursor.execute(
                "DELETE FROM reports_ledgeraccount WHERE organization_id = %(org)s", params
            )
            cursor.execute(
                "INSERT INTO reports_ledgeraccount (organization_id, account_id, persona_key, "
                f"tier, touch_model, owner_key) SELECT %(org)s, * FROM {CURRENT_DIMS} d",
                params,
            )
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_TEMP}")
        cursor.execute(
            f"CREATE TEMP TABLE {_TEMP} ON COMMIT DROP AS SELECT date_from, date_to, {_DIMS}, "
            f"{_COLUMNS} FROM reports_ledgercell WITH NO DATA"
        )
        insert = f"INSERT INTO {_TEMP} (date_from, date_to, {_DIMS}, {_COLUMNS}) "
        # out: the kept cells less what they hold of the stale accounts (under the
        # dimensions they were counted under)
        for (first, to), (how, src_from, kept_to) in sources.items():
            out = cells_sql() if how == "rolled" else _CARRIED_SQL
            if stale:
                old = contributions_sql(p="old_", accounts=True, dims=KEPT_DIMS)
                out += f"\nUNION ALL\nSELECT {_DIMS}, {_NEGATED} FROM ({old}) o"
            cursor.execute(
                insert + f"SELECT %(from)s, %(to)s, * FROM ({out}) x",
                {
                    **params,
                    "from": first,
                    "to": to,
                    "src_from": src_from,
                    "kept_to": kept_to,
                    # a carried account's period to the day before it began: its MRR then
                    "old_from": first,
                    "old_to": kept_to,
                    "old_last": state.last_movement if state else 0,
                    "old_accounts": stale,
                },
            )
        if stale:
            cursor.execute(
                "DELETE FROM reports_ledgeraccount WHERE organization_id = %(org)s "
                "AND account_id = ANY(%(accounts)s)",
                {**params, "accounts": stale},
            )
            cursor.execute(
                "INSERT INTO reports_ledgeraccount (organization_id, account_id, persona_key, "
                f"tier, touch_model, owner_key) SELECT %(org)s, * FROM {CURRENT_DIMS} d "
                "WHERE d.account_id = ANY(%(accounts)s)",
                {**params, "accounts": stale},
            )
        # in: the stale accounts as they are now; every account for a period with no source
        built = 0
        for first, to in wanted:
            kept_one = (first, to) in sources
            if kept_one and not stale:
                continue
            built += not kept_one
            sql = contributions_sql(p="new_", accounts=kept_one, dims=KEPT_DIMS)
            cursor.execute(
                insert + f"SELECT %(from)s, %(to)s, * FROM ({sql}) x",
                {
                    **params,
                    "from": first,
                    "to": to,
                    "new_from": first,
                    "new_to": to,
                    "new_last": last,
                    "new_accounts": stale,
                },
            )
        cursor.execute("DELETE FROM reports_ledgercell WHERE organization_id = %(org)s", params)
        cursor.execute(
            "INSERT INTO reports_ledgercell (organization_id, date_from, date_to, "
            f"{_DIMS}, {_COLUMNS}) SELECT %(org)s, date_from, date_to, {_DIMS}, {_SUMMED} "
            f"FROM {_TEMP} GROUP BY date_from, date_to, {_DIMS} HAVING SUM(members) > 0",
            params,
        )
        rows = cursor.rowcount
        cursor.execute(f"DROP TABLE {_TEMP}")
        # the accounts gone since (their movements went with them) leave LedgerAccount
        cursor.execute(
            "DELETE FROM reports_ledgeraccount l WHERE l.organization_id = %(org)s AND NOT "
            "EXISTS (SELECT 1 FROM accounts_account a WHERE a.id = l.account_id)",
            params,
        )
        _state_write(org, cursor, count=count, last=last)
        if built:
            cursor.execute(f"ANALYZE {LedgerCell._meta.db_table}")
    return {
        "rebuilt": "all" if not usable else ("some" if built else "rolled"),
        "periods_built": built,
        "stale_accounts": len(stale),
        "rows": rows,
    }
