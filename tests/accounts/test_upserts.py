"""The usage upsert (accounts/upserts.py) on PostgreSQL: what it counts as created, updated
and unchanged comes from the write itself, its tolerance is `_same`'s, and an account id of
another organization is refused unless the caller resolved the ids inside the organization."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts import upserts
from accounts.models import Account, UsageMetric
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 1)


def _rows(account, values, metric="logins"):
    return [
        {"account_id": account.pk, "metric": metric, "date": DAY + dt.timedelta(days=d), "value": v}
        for d, v in enumerate(values)
    ]


def _stored(org):
    return list(
        UsageMetric.all_objects.filter(organization=org)
        .order_by("date")
        .values_list("value", flat=True)
    )


def test_a_new_day_an_identical_resend_and_a_change_are_counted_by_the_write(org):
    """Three days sent as 10, 20, 30: all created (the straight COPY). Sent again with day 2
    at 25, day 3 at 30 + 1e-8 and a fourth day at 40. Day 3 moved by 1e-8, within the
    tolerance (1e-9 x 30 = 3e-8): unchanged, and it keeps the 30 stored first. So created 1
    (day 4), updated 1 (day 2), unchanged 2 (days 1 and 3). Then all four again: 0, 0, 4."""
    account = AccountFactory(organization=org)
    first = upserts.usage_upsert(org=org, records=_rows(account, [10.0, 20.0, 30.0]))
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    again = upserts.usage_upsert(org=org, records=_rows(account, [10.0, 25.0, 30.0 + 1e-8, 40.0]))
    assert (again.created, again.updated, again.unchanged) == (1, 1, 2)
    assert _stored(org) == [10.0, 25.0, 30.0, 40.0]
    resent = upserts.usage_upsert(
        org=org, records=_rows(account, [10.0, 25.0, 30.0, 40.0]), accounts_resolved=True
    )
    assert (resent.created, resent.updated, resent.unchanged) == (0, 0, 4)


def test_the_same_key_twice_in_one_batch_is_refused_by_index(org):
    account = AccountFactory(organization=org)
    rows = _rows(account, [1.0, 2.0]) + _rows(account, [3.0])
    with pytest.raises(upserts.RecordsRefused) as refused:
        upserts.usage_upsert(org=org, records=rows)
    assert [(i, f) for i, f, _m in refused.value.errors] == [(2, "account_id")]
    assert _stored(org) == []


def test_another_organizations_account_is_refused_unless_resolved_inside_the_organization(
    org, other_org
):
    """The service's own tenancy check: a caller handing in an id it did not resolve gets
    record 1 refused and nothing written. `accounts_resolved` is for callers that found every
    id by its key inside the organization (api.resolve), which never yields another's id."""
    mine = AccountFactory(organization=org)
    theirs = AccountFactory(organization=other_org)
    rows = _rows(mine, [1.0]) + _rows(theirs, [2.0])
    rows[1]["date"] = DAY + dt.timedelta(days=5)
    with pytest.raises(upserts.RecordsRefused) as refused:
        upserts.usage_upsert(org=org, records=rows)
    assert [(i, f) for i, f, _m in refused.value.errors] == [(1, "account")]
    assert UsageMetric.all_objects.count() == 0


def test_filter_in_finds_ids_and_keys_through_a_typed_array(org):
    """150 accounts; asked for the first 120 (over the 100 where filter_in switches to one
    array parameter) by id, those 120 come back; by external id, the same 120. The array is
    cast to the column's type (bigint[] for ids): an integer[] against a bigint column cannot
    be hashed, which made a filter over a freshly loaded table compare every row with every
    id."""
    accounts = [AccountFactory(organization=org, external_id=f"E{i}") for i in range(150)]
    wanted = accounts[:120]
    qs = Account.all_objects.filter(organization=org).order_by()
    by_id = upserts.filter_in(qs, "id", [a.pk for a in wanted])
    assert sorted(by_id.values_list("pk", flat=True)) == sorted(a.pk for a in wanted)
    assert "::bigint[]" in str(by_id.query)
    by_key = upserts.filter_in(qs, "external_id", [a.external_id for a in wanted])
    assert sorted(by_key.values_list("pk", flat=True)) == sorted(a.pk for a in wanted)


def test_filter_in_sends_texts_as_one_literal_that_keeps_quotes_and_backslashes(org):
    """120 external ids (over filter_in's 100) of which five are awkward for an array literal:
    a double quote, a backslash, a comma with braces, a space at both ends, and NULL-looking
    text. All 120 are found, and nothing else: 130 accounts exist, the last 10 not asked."""
    awkward = ['say "hi"', "back\\slash", "{a,b}", " spaced ", "NULL"]
    keys = awkward + [f"K{i}" for i in range(115)]
    accounts = [AccountFactory(organization=org, external_id=k) for k in keys]
    for i in range(10):
        AccountFactory(organization=org, external_id=f"other{i}")
    qs = Account.all_objects.filter(organization=org).order_by()
    found = upserts.filter_in(qs, "external_id", keys).values_list("external_id", flat=True)
    assert sorted(found) == sorted(keys)
    assert sorted(a.pk for a in accounts) == sorted(
        upserts.filter_in(qs, "external_id", keys).values_list("pk", flat=True)
    )


def test_text_array_writes_postgresql_array_literals():
    """By hand: plain texts are quoted as they are; a double quote and a backslash are
    escaped with a backslash; None is NULL; no texts is {}."""
    assert upserts.text_array(["a", "b c"]) == '{"a","b c"}'
    assert upserts.text_array(['x"y', "p\\q"]) == '{"x\\"y","p\\\\q"}'
    assert upserts.text_array(["a", None]) == '{"a",NULL}'
    assert upserts.text_array([]) == "{}"


def test_usage_given_as_columns_counts_and_writes_as_usage_upsert_does(org):
    """Days 1-3 as columns 10, 20, 30: created 3. Again with day 2 at 25 and a day 4 at 40:
    created 1, updated 1, unchanged 2, the values stored those of the columns."""
    account = AccountFactory(organization=org)
    days = [DAY + dt.timedelta(days=d) for d in range(4)]

    def write(values):
        n = len(values)
        return upserts.usage_columns_upsert(
            org=org,
            account_ids=[account.pk] * n,
            metrics=["logins"] * n,
            dates=days[:n],
            values=values,
            accounts_resolved=True,
        )

    first = write([10.0, 20.0, 30.0])
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    again = write([10.0, 25.0, 30.0, 40.0])
    assert (again.created, again.updated, again.unchanged) == (1, 1, 2)
    assert _stored(org) == [10.0, 25.0, 30.0, 40.0]


def test_usage_columns_refuse_what_usage_upsert_refuses_with_the_same_index(org, other_org):
    """Record 1 repeats record 0's key: refused at index 1. Not resolved by the caller, an
    account of another organization at index 1 is refused there. Nothing written."""
    mine = AccountFactory(organization=org)
    theirs = AccountFactory(organization=other_org)
    with pytest.raises(upserts.RecordsRefused) as repeated:
        upserts.usage_columns_upsert(
            org=org,
            account_ids=[mine.pk, mine.pk],
            metrics=["logins", "logins"],
            dates=[DAY, DAY],
            values=[1.0, 2.0],
            accounts_resolved=True,
        )
    assert [(i, f) for i, f, _m in repeated.value.errors] == [(1, "account_id")]
    with pytest.raises(upserts.RecordsRefused) as foreign:
        upserts.usage_columns_upsert(
            org=org,
            account_ids=[mine.pk, theirs.pk],
            metrics=["logins", "logins"],
            dates=[DAY, DAY],
            values=[1.0, 2.0],
        )
    assert [(i, f) for i, f, _m in foreign.value.errors] == [(1, "account")]
    assert UsageMetric.all_objects.count() == 0


# -- many new rows by COPY (_copy_new) ---------------------------------------------------


def _account_records(prefix: str, n: int) -> list[dict]:
    """n accounts whose texts COPY's CSV must keep as they are: a quote, a comma, a line
    break, a backslash-N (COPY's text NULL) and an empty text; every second one without a
    customer-since day (NULL) and all without tier, touch model or MRR (their defaults)."""
    odd = ['Padaria "Estrela", Ltda', "Linha\nquebrada", "\\N", "Ação; São Paulo"]
    return [
        {
            "external_id": f"{prefix}{i:04d}",
            "name": odd[i % len(odd)],
            "region": "" if i % 3 else "Sul",
            "customer_since": None if i % 2 else DAY - dt.timedelta(days=i),
        }
        for i in range(n)
    ]


def _account_rows(org):
    skip = {"id", "organization_id", "external_id", "created_at", "updated_at"}
    return [
        (a["external_id"][1:], {k: v for k, v in a.items() if k not in skip})
        for a in Account.all_objects.filter(organization=org).order_by("external_id").values()
    ]


def test_many_new_accounts_are_copied_with_the_values_bulk_create_writes(org, other_org):
    """The same 600 accounts through accounts_upsert, once in batches of 100 (bulk_create,
    under COPY_NEW_MIN = 500) into one organization and once in one batch (COPY) into
    another: every stored field but the id and times is the same, the texts as sent (a quote,
    a comma, a line break, "\\N"), the absent days NULL, tier, touch model and MRR their
    defaults (silver, low, 0); each id the result gives is its record's account; and both
    ways stamp created_at and updated_at."""
    assert upserts.COPY_NEW_MIN == 500
    small = _account_records("S", 600)
    for start in range(0, 600, 100):
        done = upserts.accounts_upsert(org=org, records=small[start : start + 100])
        assert done.created == 100
    big = _account_records("B", 600)
    result = upserts.accounts_upsert(org=other_org, records=big)
    assert (result.created, result.updated, result.unchanged) == (600, 0, 0)
    assert _account_rows(other_org) == _account_rows(org)
    copied = Account.all_objects.filter(organization=other_org)
    by_id = dict(copied.values_list("pk", "external_id"))
    assert [by_id[pk] for pk in result.ids] == [f"B{i:04d}" for i in range(600)]
    first = copied.get(external_id="B0000")
    assert (first.name, first.tier, first.touch_model, first.mrr) == (
        'Padaria "Estrela", Ltda',
        "silver",
        "low",
        0,
    )
    assert copied.get(external_id="B0002").name == "\\N"
    assert copied.get(external_id="B0001").customer_since is None
    assert not copied.filter(created_at__isnull=True).exists()
    assert not copied.filter(updated_at__isnull=True).exists()
    again = upserts.accounts_upsert(org=other_org, records=_account_records("B", 600))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 600)
