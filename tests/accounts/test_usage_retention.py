"""Raw daily usage retention (accounts.services.usage_partitions_maintain): whole months before
the kept days are rolled up into UsageMonth, per organization, and their raw rows dropped (the
month's partition on PostgreSQL, and any rows DEFAULT held); a dry run lists and writes nothing;
a second roll-up of a month replaces the first; the command refuses bad arguments in one line."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from accounts.models import UsageMetric, UsageMonth
from accounts.services import usage_keep_from, usage_month_roll_up, usage_partitions_maintain
from csplatform.db.partitions import monthly_partitions, monthly_partitions_ensure
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

TABLE = "accounts_usagemetric"
TODAY = dt.date(2026, 3, 10)  # with 400 days kept, the oldest kept day is 2025-02-04


def _usage(org, account, rows):
    for metric, day, value in rows:
        UsageMetric.all_objects.create(
            organization=org, account=account, metric=metric, date=day, value=value
        )


def _months(org):
    return sorted(
        UsageMonth.all_objects.filter(organization=org).values_list(
            "account_id", "metric", "month", "total", "days", "active_days", "peak"
        )
    )


@pytest.fixture
def history(org, other_org):
    """Partitions for 2025-01 and 2025-02 (created as the night would on 2025-01-01), then:
    acme's account: logins 2025-01-05 = 2, 2025-01-06 = 0, 2025-01-20 = 5; active_users
    2025-01-10 = 3; logins 2025-02-01 = 4 (a kept month: 2025-02-04 is in it); and, in DEFAULT
    (no partition for it), logins 2024-11-30 = 1. The other organization: logins 2025-01-07 = 9."""
    monthly_partitions_ensure(table=TABLE, column="date", today=dt.date(2025, 1, 1), months_ahead=1)
    account, theirs = AccountFactory(organization=org), AccountFactory(organization=other_org)
    _usage(
        org,
        account,
        [
            ("logins", dt.date(2025, 1, 5), 2),
            ("logins", dt.date(2025, 1, 6), 0),
            ("logins", dt.date(2025, 1, 20), 5),
            ("active_users", dt.date(2025, 1, 10), 3),
            ("logins", dt.date(2025, 2, 1), 4),
            ("logins", dt.date(2024, 11, 30), 1),
        ],
    )
    _usage(other_org, theirs, [("logins", dt.date(2025, 1, 7), 9)])
    with connection.cursor() as cur:  # the rows' deferred key checks, as at a commit
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return account, theirs


def test_the_kept_days_are_the_last_retention_days_up_to_today():
    """400 days up to 2026-03-10 inclusive start on 2025-02-04 (2026-03-10 - 399 days)."""
    assert usage_keep_from(today=TODAY, retention_days=400) == dt.date(2025, 2, 4)
    assert usage_keep_from(today=TODAY, retention_days=None) is None


def test_whole_months_before_the_kept_days_are_rolled_up_per_organization_and_dropped(
    org, other_org, history
):
    """By hand: acme's January logins total 2 + 0 + 5 = 7 over 3 rows, 2 of them above 0, peak
    5; active_users 3 over 1 row; November 2024's one login 1 (DEFAULT's: the pass first gives
    it its month's partition, then rolls that up). February stays
    raw (it holds kept days). The other organization's January: 9 over 1 row, in its own
    rows."""
    account, theirs = history
    result = usage_partitions_maintain(today=TODAY, months_ahead=1, retention_days=400)
    assert [m["month"] for m in result.months] == ["2024-11", "2025-01"]
    assert result.months[1]["partition_dropped"] is True
    assert result.months[1]["monthly_rows"] == 3  # acme's two metrics and the other org's
    assert _months(org) == [
        (account.pk, "active_users", dt.date(2025, 1, 1), 3.0, 1, 1, 3.0),
        (account.pk, "logins", dt.date(2024, 11, 1), 1.0, 1, 1, 1.0),
        (account.pk, "logins", dt.date(2025, 1, 1), 7.0, 3, 2, 5.0),
    ]
    assert _months(other_org) == [(theirs.pk, "logins", dt.date(2025, 1, 1), 9.0, 1, 1, 9.0)]
    assert list(UsageMetric.all_objects.values_list("date", "value")) == [
        (dt.date(2025, 2, 1), 4.0)
    ]
    names = [p.name for p in monthly_partitions(TABLE)]
    assert "accounts_usagemetric_p2025_01" not in names
    assert "accounts_usagemetric_p2025_02" in names
    # Nothing left to roll up: a second pass does nothing.
    assert usage_partitions_maintain(today=TODAY, months_ahead=1, retention_days=400).months == []


def test_without_a_retention_nothing_is_rolled_up(history):
    result = usage_partitions_maintain(today=TODAY, months_ahead=1, retention_days=None)
    assert result.months == [] and result.keep_from is None
    assert UsageMetric.all_objects.count() == 7 and UsageMonth.all_objects.count() == 0


def test_a_dry_run_lists_the_months_and_their_rows_and_writes_nothing(history):
    """November 2024: 1 raw row; January 2025: 4 of acme's and 1 of the other org's = 5."""
    result = usage_partitions_maintain(
        today=TODAY, months_ahead=1, retention_days=400, dry_run=True
    )
    assert result.months == [
        {"month": "2024-11", "raw_rows": 1},
        {"month": "2025-01", "raw_rows": 5},
    ]
    assert result.partitions_created == []
    assert UsageMetric.all_objects.count() == 7 and UsageMonth.all_objects.count() == 0


def test_a_second_roll_up_of_a_month_replaces_the_first(org, history):
    """A month rolled up once (stale figures: total 99) and raw again (rows re-imported):
    the second roll-up writes 7 over the first's 99, one row per key."""
    account, _ = history
    UsageMonth.all_objects.create(
        organization=org, account=account, metric="logins", month=dt.date(2025, 1, 1),
        total=99, days=9, active_days=9, peak=99,
    )  # fmt: skip
    usage_month_roll_up(month=dt.date(2025, 1, 1))
    assert (
        UsageMonth.all_objects.get(
            organization=org, metric="logins", month=dt.date(2025, 1, 1)
        ).total
        == 7.0
    )


def test_the_command_prints_what_it_did_and_refuses_bad_arguments(history):
    out = io.StringIO()
    call_command(
        "usage_partitions", retention_days="400", date="2026-03-10", dry_run=True, stdout=out
    )
    printed = json.loads(out.getvalue())
    assert printed["dry_run"] is True and printed["keep_from"] == "2025-02-04"
    assert [m["month"] for m in printed["months"]] == ["2024-11", "2025-01"]
    with pytest.raises(CommandError, match="--retention-days must be between 365"):
        call_command("usage_partitions", retention_days="30")
    with pytest.raises(CommandError, match="--months-ahead must be a whole number"):
        call_command("usage_partitions", months_ahead="two")
    with pytest.raises(CommandError, match="--date: 'soon' is not a date"):
        call_command("usage_partitions", date="soon")


def test_a_month_without_its_partition_is_rolled_up_from_default_and_deleted(org, history):
    """November 2024 has no partition: its one row (logins 1) sits in DEFAULT; rolled up
    directly, it becomes total 1 over 1 day and is deleted from DEFAULT (nothing to drop)."""
    account, _ = history
    done = usage_month_roll_up(month=dt.date(2024, 11, 1))
    assert done == {"month": "2024-11", "monthly_rows": 1, "partition_dropped": False}
    assert _months(org) == [(account.pk, "logins", dt.date(2024, 11, 1), 1.0, 1, 1, 1.0)]
    assert not UsageMetric.all_objects.filter(date__lt=dt.date(2025, 1, 1)).exists()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM accounts_usagemetric_default")
        assert cur.fetchone()[0] == 0
