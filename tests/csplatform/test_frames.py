"""The one frame reader (csplatform/db/frames.py) on PostgreSQL: a queryset's rows read on a plain
cursor are the rows the queryset gives, its organization's only, with their nulls; a filter
that can match nothing reads nothing."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.db.models import Count

from accounts.models import Account, Invoice
from csplatform.db.frames import values_frame
from orgs.tenancy import org_context
from tests.factories import AccountFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def test_values_frame_reads_the_querysets_rows_of_the_organization_in_context(org, other_org):
    """Two accounts of ours (one with no owner, no renewal date and an MRR of 12.50) and one
    of another organization: the frame holds our two, in the queryset's order, with the
    values the queryset iterates to (a null owner is NaN, a missing date None)."""
    ours = [
        AccountFactory(organization=org, name="Beta", mrr=Decimal("12.50"), owner=None),
        AccountFactory(organization=org, name="Alfa", renewal_date=dt.date(2026, 3, 1)),
    ]
    AccountFactory(organization=other_org, name="Theirs")
    columns = ["pk", "name", "owner_id", "mrr", "renewal_date"]
    with org_context(org):
        qs = Account.objects.order_by("name").values_list(*columns)
        frame = values_frame(qs, columns)
        expected = pd.DataFrame(list(qs), columns=columns)
    assert list(frame["name"]) == ["Alfa", "Beta"]
    assert list(frame["pk"]) == [ours[1].pk, ours[0].pk]
    pd.testing.assert_frame_equal(frame, expected)
    assert frame["mrr"].iloc[1] == Decimal("12.50")
    assert pd.isna(frame["owner_id"].iloc[1])
    assert frame["renewal_date"].tolist()[0] == dt.date(2026, 3, 1)
    assert frame["renewal_date"].tolist()[1] is None


def test_values_frame_reads_grouped_rows_and_nothing_for_an_empty_filter(org):
    """Three invoices of one account and one of another: the grouped count per account is
    3 and 1; a filter on no ids reads an empty frame with the columns asked for."""
    a, b = AccountFactory(organization=org), AccountFactory(organization=org)
    for account, n in ((a, 3), (b, 1)):
        for _ in range(n):
            InvoiceFactory(account=account)
    with org_context(org):
        grouped = (
            Invoice.objects.values("account_id")
            .annotate(n=Count("id"))
            .order_by("account_id")
            .values_list("account_id", "n")
        )
        frame = values_frame(grouped, ["account_id", "n"])
        empty = values_frame(Account.objects.filter(pk__in=[]).values_list("pk"), ["pk"])
    assert dict(zip(frame["account_id"], frame["n"], strict=True)) == {a.pk: 3, b.pk: 1}
    assert empty.empty and list(empty.columns) == ["pk"]
