"""The usage table's one composite foreign key (accounts/migrations/0006) on PostgreSQL: a row
must name an account that exists *in the row's organization*; what the two single keys it
replaced checked, and more."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import UsageMetric
from tests import factories as f

pytestmark = pytest.mark.django_db


def insert(org_id: int, account_id: int) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the key is deferred to commit
        cursor.execute(
            "INSERT INTO accounts_usagemetric (organization_id, account_id, metric, date, value) "
            "VALUES (%s, %s, 'logins', %s, 1)",
            [org_id, account_id, dt.date(2024, 6, 1)],
        )


def test_a_usage_row_of_its_accounts_organization_is_kept(org):
    account = f.AccountFactory(organization=org)
    insert(org.pk, account.pk)
    assert UsageMetric.all_objects.filter(account=account).count() == 1


def test_a_usage_row_filed_under_another_organization_is_refused(org, other_org):
    """Both the organization and the account exist, which is all the two old keys asked:
    the composite key also asks that the account be that organization's."""
    theirs = f.AccountFactory(organization=other_org)
    with pytest.raises(IntegrityError, match="usagemetric_account_in_org"):
        insert(org.pk, theirs.pk)


def test_a_usage_row_of_no_account_is_refused(org):
    with pytest.raises(IntegrityError, match="usagemetric_account_in_org"):
        insert(org.pk, 10**12)


def test_an_account_with_usage_cannot_be_removed_behind_the_rows_back(org):
    account = f.AccountFactory(organization=org)
    insert(org.pk, account.pk)
    with (
        pytest.raises(IntegrityError, match="usagemetric_account_in_org"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("DELETE FROM accounts_account WHERE id = %s", [account.pk])
