"""The Django admin stays inside the organization: another organization's account, contact
or subscription is a 404 for an organization admin, by change URL and in listings."""

import pytest

from tests.factories import AccountFactory, ContactFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign(other_org):
    account = AccountFactory(organization=other_org, name="Globex Customer")
    return {
        "account": account,
        "contact": ContactFactory(account=account, name="Foreign Contact"),
        "subscription": SubscriptionFactory(account=account),
    }


@pytest.fixture
def own(org):
    account = AccountFactory(organization=org, name="Acme Customer")
    return {
        "account": account,
        "contact": ContactFactory(account=account, name="Own Contact"),
        "subscription": SubscriptionFactory(account=account),
    }


@pytest.mark.parametrize("model", ["account", "contact", "subscription"])
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_other_organizations_rows_are_404_in_the_admin(client, org_admin, foreign, model, view):
    client.force_login(org_admin)
    response = client.get(f"/admin/accounts/{model}/{foreign[model].pk}/{view}/")
    assert response.status_code == 404


@pytest.mark.parametrize("model", ["account", "contact", "subscription"])
def test_own_rows_open_in_the_admin(client, org_admin, own, model):
    client.force_login(org_admin)
    response = client.get(f"/admin/accounts/{model}/{own[model].pk}/change/")
    assert response.status_code == 200


def test_listings_show_only_the_organization(client, org_admin, own, foreign):
    client.force_login(org_admin)
    accounts = client.get("/admin/accounts/account/").content.decode()
    assert "Acme Customer" in accounts and "Globex Customer" not in accounts
    contacts = client.get("/admin/accounts/contact/").content.decode()
    assert "Own Contact" in contacts and "Foreign Contact" not in contacts


def test_org_admin_cannot_post_a_change_to_another_organizations_account(
    client, org_admin, foreign
):
    client.force_login(org_admin)
    account = foreign["account"]
    response = client.post(f"/admin/accounts/account/{account.pk}/change/", {"name": "Hijacked"})
    assert response.status_code == 404
    account.refresh_from_db()
    assert account.name == "Globex Customer"


def test_superuser_sees_every_organization(client, own, foreign):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    html = client.get("/admin/accounts/account/").content.decode()
    assert "Acme Customer" in html and "Globex Customer" in html
    response = client.get(f"/admin/accounts/account/{foreign['account'].pk}/change/")
    assert response.status_code == 200
