"""The tenancy mechanism itself: scoping by context, failing closed without one."""

import pytest

from accounts.models import Account
from orgs.tenancy import TenantContextMissing, org_context
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_default_manager_sees_only_the_current_organization(org, other_org):
    mine = AccountFactory(organization=org)
    AccountFactory(organization=other_org)
    with org_context(org):
        assert list(Account.objects.values_list("pk", flat=True)) == [mine.pk]


def test_queryset_built_outside_context_is_scoped_when_it_runs(org, other_org):
    AccountFactory(organization=org, name="A")
    AccountFactory(organization=other_org, name="B")
    qs = Account.objects.all()  # built with no organization, like a form field at import
    with org_context(other_org):
        assert [a.name for a in qs.all()] == ["B"]
    with org_context(org):
        assert [a.name for a in qs.all()] == ["A"]


def test_query_without_organization_fails_closed(org):
    AccountFactory(organization=org)
    with pytest.raises(TenantContextMissing):
        list(Account.objects.all())
    assert Account.all_objects.count() == 1
