"""Roles in the browser: where each lands, what each sees, and who reaches configuration."""

import pytest
from django.urls import reverse

from tests.factories import AccountFactory, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

PORTFOLIO = reverse("accounts:portfolio")
MY_WORK = reverse("workspace:my_work")


def test_csms_land_on_my_work(client, csm):
    """My Work is the CSM's home (their alerts and steps, their own book first)."""
    client.force_login(csm)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == MY_WORK


def test_managers_land_on_the_reports_home(client, manager):
    """A manager's home is the team's headline figures, with a way into My Work."""
    client.force_login(manager)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:home")
    page = client.get(response["Location"]).content.decode()
    assert f'href="{MY_WORK}"' in page


def test_csm_nav_leads_to_their_own_accounts(client, csm):
    client.force_login(csm)
    html = client.get(MY_WORK).content.decode()
    assert f'href="{PORTFOLIO}?owner=me"' in html and "My accounts" in html


@pytest.mark.parametrize("role_fixture", ["analyst", "org_admin"])
def test_others_land_on_the_whole_portfolio(request, client, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))
    response = client.get(reverse("home"))
    assert response["Location"] == PORTFOLIO


def test_login_brings_a_csm_to_my_work(client, csm):
    response = client.post(reverse("login"), {"username": csm.username, "password": "pass12345"})
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == MY_WORK


def test_login_errors_are_shown(client, csm):
    response = client.post(reverse("login"), {"username": csm.username, "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "correct username and password" in html
    empty = client.post(reverse("login"), {"username": "", "password": ""}).content.decode()
    assert 'id="id_username_error"' in empty and "This field is required" in empty


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert "Skip to main content" in html


def test_csm_navigation_and_my_accounts(client, csm, manager, org):
    AccountFactory(organization=org, name="Mine", owner=csm)
    AccountFactory(organization=org, name="Not mine", owner=manager)
    client.force_login(csm)
    response = client.get(PORTFOLIO, {"owner": "me"})
    html = response.content.decode()
    assert "My accounts" in html
    assert 'href="/accounts/?owner=me" aria-current="page"' in html
    assert "Configuration" not in html
    assert [a.name for a in response.context["page_obj"]] == ["Mine"]
    assert "Show all accounts" in html
    everything = client.get(PORTFOLIO)
    assert [a.name for a in everything.context["page_obj"]] == ["Mine", "Not mine"]


def test_manager_sees_every_account_and_no_configuration(client, manager, csm, org):
    AccountFactory(organization=org, name="One", owner=csm)
    AccountFactory(organization=org, name="Two", owner=None)
    client.force_login(manager)
    response = client.get(PORTFOLIO)
    html = response.content.decode()
    assert [a.name for a in response.context["page_obj"]] == ["One", "Two"]
    assert "My accounts" not in html
    assert "Configuration" not in html


def test_admin_sees_configuration_link(client, org_admin):
    client.force_login(org_admin)
    assert 'href="/admin/"' in client.get(PORTFOLIO).content.decode()


def test_analyst_can_read_the_portfolio_and_accounts(client, analyst, org):
    account = AccountFactory(organization=org, name="Readable")
    client.force_login(analyst)
    response = client.get(PORTFOLIO)
    assert response.status_code == 200
    assert [a.name for a in response.context["page_obj"]] == ["Readable"]
    assert client.get(reverse("accounts:detail", args=[account.pk])).status_code == 200


def test_only_admins_reach_configuration(client, org_admin, manager, csm, analyst):
    client.force_login(org_admin)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/account/").status_code == 200
    for user in (manager, csm, analyst):
        client.force_login(user)
        response = client.get("/admin/")
        assert response.status_code in (302, 403), user
        if response.status_code == 302:
            assert response["Location"].startswith("/admin/login/")
        listing = client.get("/admin/accounts/account/")
        assert listing.status_code in (302, 403)


def test_user_without_organization_gets_a_clear_page(client):
    loner = UserFactory(username="loner")
    client.force_login(loner)
    for url in (reverse("home"), PORTFOLIO, reverse("accounts:detail", args=[1])):
        response = client.get(url)
        assert response.status_code == 403
        assert "You do not belong to an organization yet" in response.content.decode()


def test_org_switcher_shows_for_several_memberships(client, csm, org):
    second = OrganizationFactory(name="Second Org", slug="second")
    MembershipFactory(user=csm, organization=second, role="analyst")
    client.force_login(csm)
    assert client.get(reverse("home"))["Location"] == MY_WORK  # a CSM in the first
    html = client.get(PORTFOLIO).content.decode()
    assert 'action="/org/switch/"' in html
    assert "Second Org" in html and "Acme CS" in html
    response = client.post(reverse("switch_organization"), {"organization": second.pk})
    assert response.status_code == 302
    # Now an analyst in the second organization: lands on the whole portfolio.
    assert client.get(reverse("home"))["Location"] == PORTFOLIO


def test_single_membership_has_no_switcher(client, csm):
    client.force_login(csm)
    html = client.get(PORTFOLIO).content.decode()
    assert 'action="/org/switch/"' not in html
    assert "Acme CS" in html


def test_logout_is_a_post_form(client, csm):
    client.force_login(csm)
    html = client.get(PORTFOLIO).content.decode()
    assert 'action="/logout/"' in html
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(PORTFOLIO).status_code == 302
