"""The one bulk writer (csplatform/db/bulk.py) on PostgreSQL: column arrays go in with their
nulls and defaults, upserts replace or keep (and count what they did), and bulk updates touch
one organization only."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.db import transaction

from accounts.models import Account, Invoice, UsageMetric
from csplatform.db.bulk import (
    _csv_rows,
    copy_text,
    insert_columns,
    update_from_values,
    upsert,
    upsert_counted,
)
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_insert_columns_writes_arrays_with_their_nulls_and_the_fields_defaults(org):
    account = AccountFactory(organization=org)
    day = int(np.datetime64("2026-01-10", "D").astype(np.int64))
    with transaction.atomic():
        n = insert_columns(
            model=Invoice,
            columns={
                "organization_id": org.pk,
                "account_id": np.full(2, account.pk),
                "number": np.array(["NF-1", "NF-2"], dtype=object),
                "issued_on": np.array([day, day + 1]),
                "due_on": np.array(["2026-01-20", "2026-01-21"], dtype="datetime64[D]"),
                "paid_on": np.array([day + 5, -1]),  # -1: not paid
                "amount": np.array([10.004, 99.5]),
            },
            n=2,
        )
    assert n == 2
    rows = list(
        Invoice.all_objects.filter(organization=org)
        .order_by("number")
        .values_list("number", "issued_on", "due_on", "paid_on", "amount", "discount_amount")
    )
    assert rows == [
        ("NF-1", dt.date(2026, 1, 10), dt.date(2026, 1, 20), dt.date(2026, 1, 15),
         Decimal("10.00"), Decimal("0.00")),
        ("NF-2", dt.date(2026, 1, 11), dt.date(2026, 1, 21), None, Decimal("99.50"),
         Decimal("0.00")),
    ]  # fmt: skip


def test_insert_columns_refuses_a_field_the_model_does_not_have(org):
    with pytest.raises(ValueError, match="no such fields"):
        insert_columns(model=Invoice, columns={"organization_id": org.pk, "nope": 1}, n=1)


def test_upsert_replaces_the_listed_columns_or_keeps_the_row(org):
    account = AccountFactory(organization=org)
    columns = ["organization_id", "account_id", "metric", "date", "value"]

    def write(value, update):
        with transaction.atomic():
            upsert(
                table=UsageMetric._meta.db_table,
                columns=columns,
                rows=[[org.pk, account.pk, "logins", dt.date(2026, 1, 1), value]],
                conflict=["organization_id", "metric", "account_id", "date"],
                update=update,
            )
        return list(UsageMetric.all_objects.values_list("value", flat=True))

    assert write(3.0, ["value"]) == [3.0]
    assert write(5.0, ["value"]) == [5.0]
    assert write(7.0, []) == [5.0]  # insert-if-absent leaves the existing row


def test_update_from_values_changes_only_the_named_organizations_rows(org, other_org):
    mine = AccountFactory(organization=org, notes="")
    theirs = AccountFactory(organization=other_org, notes="")
    with transaction.atomic():
        update_from_values(
            table=Account._meta.db_table,
            key="id",
            columns=[("notes", "text")],
            rows=[(mine.pk, "updated"), (theirs.pk, "updated")],
            org_id=org.pk,
        )
    assert Account.all_objects.get(pk=mine.pk).notes == "updated"
    assert Account.all_objects.get(pk=theirs.pk).notes == ""


def test_update_from_values_needs_the_organization():
    with pytest.raises(TypeError, match="org_id"):
        update_from_values(table="accounts_account", key="id", columns=[], rows=[])


def _usage_rows(org, account, values):
    return [
        [org.pk, account.pk, "logins", dt.date(2026, 1, 1) + dt.timedelta(days=d), v]
        for d, v in enumerate(values)
    ]


@pytest.mark.parametrize("as_text", [False, True])
@pytest.mark.parametrize("copy_first", [True, False])
def test_upsert_counted_says_what_it_created_and_updated(org, copy_first, as_text):
    """Days 1-2 written as 1.0 and 2.0; then days 1-4 sent as 1.0 (same), 5.0 (changed), 3.0
    and 4.0 (new): created 2, updated 1, and day 1 unchanged: 4 - 2 - 1. The same with or
    without the straight COPY tried first (it fails on day 1, which exists), and with the
    rows given as tuples or as their text (copy_text of the columns)."""
    account = AccountFactory(organization=org)

    def rows(values):
        tuples = _usage_rows(org, account, values)
        return copy_text([list(c) for c in zip(*tuples, strict=True)]) if as_text else tuples

    def write(values):
        with transaction.atomic():
            return upsert_counted(
                table=UsageMetric._meta.db_table,
                columns=["organization_id", "account_id", "metric", "date", "value"],
                rows=rows(values),
                conflict=["organization_id", "metric", "account_id", "date"],
                update=["value"],
                changed="t.value IS DISTINCT FROM EXCLUDED.value",
                copy_first=copy_first,
            )

    assert write([1.0, 2.0]) == (2, 0)
    assert write([1.0, 5.0, 3.0, 4.0]) == (2, 1)
    stored = UsageMetric.all_objects.order_by("date").values_list("value", flat=True)
    assert list(stored) == [1.0, 5.0, 3.0, 4.0]
    assert write([1.0, 5.0, 3.0, 4.0]) == (0, 0)  # a re-send changes nothing


def test_copy_text_is_the_csv_writers_text_of_the_same_rows():
    """Three rows whose text needs care: a metric with a double quote, a comma and a newline
    (quoted, the quote doubled), an id over 2**32, floats that print long (0.1 + 0.2), in
    exponent form (1e300) and whole (42.0). The text column by column is the csv writer's
    text row by row, character for character, and its length is the number of rows."""
    rows = [
        (1, 12345678901, 'lo"g,ins\n', dt.date(2025, 1, 2), 0.1 + 0.2),
        (1, 2, "x", dt.date(2025, 1, 3), 1e300),
        (1, 3, "x", dt.date(2025, 1, 3), 42.0),
    ]
    text = copy_text([list(c) for c in zip(*rows, strict=True)])
    assert str(text) == _csv_rows(rows).getvalue()
    assert str(text).splitlines()[2] == '1,2,"x","2025-01-03",1e+300'
    assert len(text) == 3


@pytest.mark.parametrize(
    "column", [["a", None], [True, False], ["a", dt.date(2025, 1, 1)], [dt.datetime(2025, 1, 1)]]
)
def test_copy_text_refuses_a_column_it_would_not_write_as_the_csv_writer(column):
    """None (csv writes an empty text), booleans (True, not 1), a column of two types, a
    datetime (a date's subclass, written with its time): refused, not written otherwise."""
    with pytest.raises(TypeError):
        copy_text([[1] * len(column), column])
