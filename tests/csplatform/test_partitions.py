"""Daily usage partitioned by month on PostgreSQL (accounts migration 0008,
csplatform/db/partitions.py): the table is a partitioned parent with a DEFAULT partition, rows
of a month with no partition land in DEFAULT and move when the month's partition is created,
creating ahead is idempotent, and the conversion keeps the rows, ids, keys and sequence."""

import datetime as dt

import pytest
from django.db import connection, transaction

from accounts.models import UsageMetric
from csplatform.db.partitions import (
    add_months,
    monthly_partition_drop,
    monthly_partitions,
    monthly_partitions_ensure,
    partition_by_month,
    unpartition,
)
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

TABLE = "accounts_usagemetric"


def _where(row_id: int) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT tableoid::regclass::text FROM {TABLE} WHERE id = %s", [row_id])
        return cur.fetchone()[0]


def _ensure(today, months_ahead=2):
    return monthly_partitions_ensure(
        table=TABLE, column="date", today=today, months_ahead=months_ahead
    )


def test_the_usage_table_is_partitioned_by_month_with_a_default_partition():
    with connection.cursor() as cur:
        cur.execute(
            "SELECT partstrat, (SELECT attname FROM pg_attribute WHERE attrelid = partrelid "
            "AND attnum = partattrs[0]) FROM pg_partitioned_table "
            "WHERE partrelid = %s::regclass",
            [TABLE],
        )
        assert cur.fetchone() == ("r", "date")
        cur.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "ORDER BY conname",
            [TABLE],
        )
        constraints = [row[0] for row in cur.fetchall()]
    assert "PRIMARY KEY (id, date)" in constraints
    assert any(c.startswith("FOREIGN KEY (account_id, organization_id)") for c in constraints)
    names = [p.name for p in monthly_partitions(TABLE)]
    assert names[-1] == "accounts_usagemetric_default"
    # The migration created this month (the test database's) and two ahead.
    this_month = dt.date.today().replace(day=1)
    for n in range(3):
        month = add_months(this_month, n)
        assert f"accounts_usagemetric_p{month.year:04d}_{month.month:02d}" in names


def test_the_score_history_is_partitioned_by_month_too():
    """health migration 0006: the same conversion, the unique day (account_id, date) kept."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'health_healthscore'::regclass AND contype IN ('p', 'u')"
        )
        keys = dict(cur.fetchall())
    assert keys == {
        "health_healthscore_pkey": "PRIMARY KEY (id, date)",
        "healthscore_unique_day": "UNIQUE (account_id, date)",
    }
    assert [p.name for p in monthly_partitions("health_healthscore")][-1] == (
        "health_healthscore_default"
    )


def test_a_row_of_a_month_without_partition_lands_in_default_and_moves_when_it_is_created(org):
    """Today 2026-12-01: 14 months ahead is 2028-02. The row lands in DEFAULT (no insert
    fails); ensuring 2 months ahead creates 2026-12, 2027-01, 2027-02 if missing and 2028-02,
    the month DEFAULT holds, moving the row there with its id and value."""
    account = AccountFactory(organization=org)
    today = dt.date(2026, 12, 1)
    far = UsageMetric.all_objects.create(
        organization=org, account=account, metric="logins", date=dt.date(2028, 2, 10), value=7
    )
    assert _where(far.pk) == "accounts_usagemetric_default"
    created = _ensure(today)
    assert "accounts_usagemetric_p2028_02" in created
    assert _where(far.pk) == "accounts_usagemetric_p2028_02"
    assert UsageMetric.all_objects.get(pk=far.pk).value == 7
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM accounts_usagemetric_default")
        assert cur.fetchone()[0] == 0
    # Again: nothing created twice.
    assert _ensure(today) == []
    names = [p.name for p in monthly_partitions(TABLE)]
    assert len(names) == len(set(names))


def test_creating_ahead_creates_each_missing_month_once():
    """Months ahead of the test database's partitions: from 2030-01, 3 ahead is 2030-01..04."""
    today = dt.date(2030, 1, 15)
    assert _ensure(today, months_ahead=3) == [
        "accounts_usagemetric_p2030_01",
        "accounts_usagemetric_p2030_02",
        "accounts_usagemetric_p2030_03",
        "accounts_usagemetric_p2030_04",
    ]
    assert _ensure(today, months_ahead=3) == []
    assert _ensure(dt.date(2030, 2, 1), months_ahead=3) == ["accounts_usagemetric_p2030_05"]


def test_a_dropped_month_takes_its_rows_and_only_them(org):
    account = AccountFactory(organization=org)
    _ensure(dt.date(2031, 1, 1), months_ahead=1)
    kept, gone = (
        UsageMetric.all_objects.create(
            organization=org, account=account, metric="logins", date=day, value=1
        )
        for day in (dt.date(2031, 2, 1), dt.date(2031, 1, 31))
    )
    with connection.cursor() as cur:  # the rows' deferred key checks, as at a commit
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert monthly_partition_drop(table=TABLE, month=dt.date(2031, 1, 1)) is True
    assert list(UsageMetric.all_objects.values_list("pk", flat=True)) == [kept.pk]
    assert monthly_partition_drop(table=TABLE, month=dt.date(2031, 1, 1)) is False


@pytest.mark.django_db(transaction=True)
def test_the_conversion_keeps_rows_keys_and_sequence_both_ways(org):
    """Three rows over two months; back to a plain table and partitioned again: same rows
    with the same ids, the id sequence continues (the next id is the largest + 1), the unique
    day still refuses a duplicate, and the composite key still refuses another org's account."""
    account = AccountFactory(organization=org)
    rows = [
        UsageMetric.all_objects.create(
            organization=org, account=account, metric="logins", date=day, value=v
        )
        for day, v in (
            (dt.date(2025, 3, 1), 1),
            (dt.date(2025, 3, 31), 2),
            (dt.date(2025, 4, 1), 3),
        )
    ]
    before = sorted(UsageMetric.all_objects.values_list("pk", "date", "value"))
    with connection.schema_editor() as editor:
        unpartition(editor, table=TABLE, column="date")
    assert monthly_partitions(TABLE) == []
    assert sorted(UsageMetric.all_objects.values_list("pk", "date", "value")) == before
    with connection.schema_editor() as editor:
        partition_by_month(editor, table=TABLE, column="date")
    assert [p.name for p in monthly_partitions(TABLE)][:2] == [
        "accounts_usagemetric_p2025_03",
        "accounts_usagemetric_p2025_04",
    ]
    assert sorted(UsageMetric.all_objects.values_list("pk", "date", "value")) == before
    assert _where(rows[2].pk) == "accounts_usagemetric_p2025_04"
    nxt = UsageMetric.all_objects.create(
        organization=org, account=account, metric="logins", date=dt.date(2025, 4, 2), value=4
    )
    assert nxt.pk == max(r.pk for r in rows) + 1
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        UsageMetric.all_objects.create(
            organization=org, account=account, metric="logins", date=dt.date(2025, 3, 1), value=9
        )
    other = AccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        UsageMetric.all_objects.create(
            organization=org, account=other, metric="logins", date=dt.date(2025, 3, 2), value=9
        )
