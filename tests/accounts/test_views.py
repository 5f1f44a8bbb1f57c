"""Portfolio pages: filters through the URL, htmx fragments, tenancy by URL, reassignment,
and bounded query counts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, LifecycleStage, Tier
from tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    InvoiceFactory,
    MembershipFactory,
    PersonaFactory,
    SubscriptionFactory,
    SurveyResponseFactory,
    TicketFactory,
    UsageMetricFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PORTFOLIO = reverse("accounts:portfolio")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "portfolio-results"}


def shown(response) -> list[str]:
    return [a.name for a in response.context["page_obj"].object_list]


@pytest.fixture
def book(org, other_org, csm, manager):
    persona = PersonaFactory(organization=org, name="Enterprise", slug="enterprise")
    return {
        "mine": AccountFactory(
            organization=org,
            name="Alpha",
            owner=csm,
            tier=Tier.DIAMOND,
            persona=persona,
            mrr=Decimal("1234.5"),
        ),
        "theirs": AccountFactory(organization=org, name="Bravo", owner=manager, tier=Tier.GOLD),
        "nobody": AccountFactory(organization=org, name="Charlie", owner=None, tier=Tier.GOLD),
        "churned": AccountFactory(
            organization=org,
            name="Delta",
            owner=csm,
            lifecycle_stage=LifecycleStage.CHURNED,
            churned_at=dt.date(2025, 1, 1),
        ),
        "foreign": AccountFactory(organization=other_org, name="Alpha Foreign"),
    }


# -- The portfolio page -------------------------------------------------------------------


def test_portfolio_full_page(client, manager, book):
    client.force_login(manager)
    response = client.get(PORTFOLIO)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert 'id="portfolio-results"' in html
    assert shown(response) == ["Alpha", "Bravo", "Charlie"]
    assert "Alpha Foreign" not in html
    assert reverse("accounts:detail", args=[book["mine"].pk]) in html
    assert "R$1,235" in html  # MRR in the organization's currency, whole units
    assert "vendor/htmx/htmx.min.js" in html
    assert "X-CSRFToken" in html


def test_owner_me_and_none(client, csm, book):
    client.force_login(csm)
    assert shown(client.get(PORTFOLIO, {"owner": "me"})) == ["Alpha"]
    assert shown(client.get(PORTFOLIO, {"owner": "none"})) == ["Charlie"]
    theirs = book["theirs"].owner_id
    assert shown(client.get(PORTFOLIO, {"owner": theirs})) == ["Bravo"]
    # A CSM can clear "my accounts" and see and work every account.
    assert shown(client.get(PORTFOLIO)) == ["Alpha", "Bravo", "Charlie"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "alp"}, ["Alpha"]),
        ({"tier": "gold"}, ["Bravo", "Charlie"]),
        ({"include_churned": "on"}, ["Alpha", "Bravo", "Charlie", "Delta"]),
        ({"lifecycle_stage": "churned"}, ["Delta"]),
        ({"sort": "-name"}, ["Charlie", "Bravo", "Alpha"]),
        ({"sort": "-mrr"}, ["Alpha", "Bravo", "Charlie"]),
    ],
)
def test_filters_through_the_query_string(client, manager, book, params, expected):
    client.force_login(manager)
    assert shown(client.get(PORTFOLIO, params)) == expected


def test_persona_filter_through_the_query_string(client, manager, book):
    client.force_login(manager)
    response = client.get(PORTFOLIO, {"persona": book["mine"].persona_id})
    assert shown(response) == ["Alpha"]


def test_renewal_window_through_the_query_string(client, manager, org):
    from django.utils import timezone

    today = timezone.localdate()
    AccountFactory(organization=org, name="Soon", renewal_date=today + dt.timedelta(days=20))
    AccountFactory(organization=org, name="Later", renewal_date=today + dt.timedelta(days=120))
    AccountFactory(organization=org, name="Past", renewal_date=today - dt.timedelta(days=5))
    client.force_login(manager)
    assert shown(client.get(PORTFOLIO, {"renewal_within": "30"})) == ["Soon"]
    assert shown(client.get(PORTFOLIO, {"renewal_within": "180"})) == ["Later", "Soon"]
    window = {
        "renewal_from": (today + dt.timedelta(days=100)).isoformat(),
        "renewal_to": (today + dt.timedelta(days=200)).isoformat(),
    }
    assert shown(client.get(PORTFOLIO, window)) == ["Later"]


def test_invalid_filters_show_an_error_beside_the_field_and_are_ignored(client, manager, book):
    client.force_login(manager)
    response = client.get(PORTFOLIO, {"tier": "mithril", "q": "a", "renewal_from": "not-a-date"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_tier_error"' in html
    assert "Select a valid choice" in html
    assert "Enter a valid date" in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_tier_error"' in html
    # The bad tier and date are ignored; the valid search still applies.
    assert shown(response) == ["Alpha", "Bravo", "Charlie"]

    backwards = {"renewal_from": "2026-01-01", "renewal_to": "2025-01-01"}
    response = client.get(PORTFOLIO, backwards)
    assert "Must be on or after" in response.content.decode()


def test_unknown_owner_and_bad_page_do_not_crash(client, manager, book):
    client.force_login(manager)
    response = client.get(PORTFOLIO, {"owner": "999999", "page": "abc"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert shown(client.get(PORTFOLIO, {"page": "999"})) == ["Alpha", "Bravo", "Charlie"]


def test_htmx_request_returns_only_the_results_partial(client, manager, book):
    client.force_login(manager)
    response = client.get(PORTFOLIO, {"tier": "gold"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "<form" not in html
    assert html.lstrip().startswith('<section id="portfolio-results"')
    assert "Bravo" in html and "Alpha" not in html
    # Field errors and the heading travel out of band, as the form is not swapped.
    assert 'hx-swap-oob="true"' in html
    assert "HX-Request" in response["Vary"]


def test_htmx_link_in_results_returns_form_and_results(client, manager, book):
    client.force_login(manager)
    response = client.get(
        PORTFOLIO, {"sort": "-mrr"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="portfolio-body"
    )
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="portfolio-body">')
    assert "<form" in html and 'id="portfolio-results"' in html


def test_history_restore_gets_the_full_page(client, manager, book):
    client.force_login(manager)
    response = client.get(PORTFOLIO, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_links_keep_the_filters(client, manager, org):
    AccountFactory.create_batch(55, organization=org, tier=Tier.GOLD)
    client.force_login(manager)
    response = client.get(PORTFOLIO, {"tier": "gold", "sort": "-mrr"})
    html = response.content.decode()
    assert len(response.context["page_obj"].object_list) == 50
    assert "?tier=gold&amp;sort=-mrr&amp;page=2" in html
    second = client.get(PORTFOLIO, {"tier": "gold", "sort": "-mrr", "page": 2})
    assert len(second.context["page_obj"].object_list) == 5


def test_portfolio_requires_login(client):
    response = client.get(PORTFOLIO)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def _many_accounts(org, n):
    """Accounts with distinct owners and personas, so a missing select_related shows."""
    for i in range(n):
        owner = UserFactory()
        MembershipFactory(user=owner, organization=org)
        persona = PersonaFactory(organization=org) if i % 3 == 0 else None
        AccountFactory(organization=org, owner=owner, persona=persona)


def _count_queries(client, url, params=None, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {}, **headers)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_portfolio_queries_do_not_grow_with_accounts(
    client, manager, org, django_assert_max_num_queries
):
    client.force_login(manager)
    _many_accounts(org, 5)
    small = _count_queries(client, PORTFOLIO)
    small_htmx = _count_queries(client, PORTFOLIO, {"tier": "gold"}, **HTMX)
    _many_accounts(org, 55)
    with django_assert_max_num_queries(10):
        big = client.get(PORTFOLIO, {"sort": "-mrr"})
    assert len(big.context["page_obj"].object_list) == 50
    assert _count_queries(client, PORTFOLIO) == small
    assert _count_queries(client, PORTFOLIO, {"tier": "gold"}, **HTMX) == small_htmx
    with django_assert_max_num_queries(10):
        client.get(PORTFOLIO, {"q": "Account", "owner": "me", "include_churned": "on"}, **HTMX)


# -- The account page ---------------------------------------------------------------------


@pytest.fixture
def full_account(org, csm):
    account = AccountFactory(
        organization=org,
        name="Globo Health",
        owner=csm,
        industry="Healthcare",
        notes="Prefers calls on Tuesdays.",
        mrr=Decimal("5000"),
    )
    ContactFactory(account=account, name="Ana Sponsor", role="executive_sponsor")
    ContactFactory(account=account, name="Bia Never", consent_given_at=None, consent_source="")
    SubscriptionFactory(account=account, discount_pct=Decimal("15"))
    TicketFactory(account=account, subject="Cannot export", sla_breached=True)
    InvoiceFactory(account=account, due_on=dt.date(2024, 1, 31), paid_on=None)
    SurveyResponseFactory(account=account, kind="nps", score=4, comment="Too slow")
    SurveyResponseFactory(account=account, kind="csat", score=5, comment="Great support")
    InteractionFactory(account=account, author=csm, summary="Kick-off call")
    from django.utils import timezone

    UsageMetricFactory(account=account, metric="logins", date=timezone.localdate(), value=7)
    return account


def test_account_page_shows_the_record(client, csm, full_account):
    client.force_login(csm)
    response = client.get(reverse("accounts:detail", args=[full_account.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in [
        "Globo Health",
        "Prefers calls on Tuesdays.",
        "Ana Sponsor",
        "Executive sponsor",
        "Never given",
        "15%",
        "Cannot export",
        "SLA breached",
        "Overdue",
        "Too slow",
        "Detractor",
        "Great support",
        "Kick-off call",
        "Logins",
    ]:
        assert text in html, text
    assert "Reassign owner" not in html


def test_account_page_sections_render_alone_for_htmx(client, csm, full_account):
    client.force_login(csm)
    url = reverse("accounts:detail", args=[full_account.pk])
    response = client.get(url, {"section": "tickets"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="tickets"')
    assert "Cannot export" in html and "Ana Sponsor" not in html


def test_account_page_queries_are_bounded(
    client, csm, org, full_account, django_assert_max_num_queries
):
    client.force_login(csm)
    url = reverse("accounts:detail", args=[full_account.pk])
    before = _count_queries(client, url)
    ContactFactory.create_batch(5, account=full_account)
    SubscriptionFactory.create_batch(4, account=full_account)
    TicketFactory.create_batch(30, account=full_account)
    InvoiceFactory.create_batch(15, account=full_account)
    for _ in range(25):
        author = UserFactory()
        InteractionFactory(
            account=full_account,
            author=author,
            contact=ContactFactory(account=full_account),
        )
    SurveyResponseFactory.create_batch(12, account=full_account, kind="csat", score=3)
    with django_assert_max_num_queries(14):
        client.get(url)
    assert _count_queries(client, url) == before


def test_other_organizations_account_is_404_by_url(client, csm, other_org):
    foreign = AccountFactory(organization=other_org)
    ContactFactory(account=foreign)
    SubscriptionFactory(account=foreign)
    client.force_login(csm)
    assert client.get(reverse("accounts:detail", args=[foreign.pk])).status_code == 404
    assert (
        client.get(
            reverse("accounts:detail", args=[foreign.pk]),
            {"section": "contacts"},
            HTTP_HX_REQUEST="true",
        ).status_code
        == 404
    )
    assert client.get(reverse("accounts:detail", args=[987654])).status_code == 404


# -- Reassignment -------------------------------------------------------------------------


def test_manager_sees_and_uses_the_reassign_form(client, manager, csm, full_account):
    client.force_login(manager)
    url = reverse("accounts:detail", args=[full_account.pk])
    assert "Reassign owner" in client.get(url).content.decode()
    response = client.post(
        reverse("accounts:reassign", args=[full_account.pk]), {"owner": manager.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == url
    full_account.refresh_from_db()
    assert full_account.owner_id == manager.pk


def test_reassign_through_htmx_returns_the_header_and_an_event(
    client, org_admin, manager, full_account
):
    client.force_login(org_admin)
    response = client.post(
        reverse("accounts:reassign", args=[full_account.pk]),
        {"owner": manager.pk},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="account-header"')
    assert "Owner changed to" in html
    assert "accountReassigned" in response["HX-Trigger"]


def test_reassign_to_a_stranger_shows_the_error_beside_the_field(
    client, manager, other_org, full_account
):
    stranger = UserFactory()
    MembershipFactory(user=stranger, organization=other_org)
    client.force_login(manager)
    url = reverse("accounts:reassign", args=[full_account.pk])
    response = client.post(url, {"owner": stranger.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#reassign-form"
    html = response.content.decode()
    assert 'id="id_owner_error"' in html and "Select a valid choice" in html
    full_account.refresh_from_db()
    assert full_account.owner_id != stranger.pk
    page = client.post(url, {"owner": ""})
    assert page.status_code == 422
    assert "This field is required" in page.content.decode()


@pytest.mark.parametrize("role_fixture", ["csm", "analyst"])
def test_csm_and_analyst_cannot_reassign(request, client, manager, full_account, role_fixture):
    user = request.getfixturevalue(role_fixture)
    client.force_login(user)
    detail = client.get(reverse("accounts:detail", args=[full_account.pk])).content.decode()
    assert "Reassign owner" not in detail
    response = client.post(
        reverse("accounts:reassign", args=[full_account.pk]), {"owner": manager.pk}
    )
    assert response.status_code == 403
    full_account.refresh_from_db()
    assert full_account.owner.username == "carla.csm"


def test_reassign_another_organizations_account_is_404(client, manager, other_org):
    foreign = AccountFactory(organization=other_org)
    client.force_login(manager)
    response = client.post(reverse("accounts:reassign", args=[foreign.pk]), {"owner": manager.pk})
    assert response.status_code == 404
    assert Account.all_objects.get(pk=foreign.pk).owner_id is None


def test_every_filter_of_the_form_is_on_the_page_with_its_error_slot(client, manager, book):
    """htmx refreshes each field's errors out of band; a field missing from the page had no
    slot (htmx:oobErrorNoTarget) and could never show its error, nor be used."""
    from accounts.forms import PortfolioFilterForm

    client.force_login(manager)
    html = client.get(PORTFOLIO).content.decode()
    for name, field in PortfolioFilterForm.base_fields.items():
        if field.widget.is_hidden:
            continue
        assert f'name="{name}"' in html, name
        assert f'id="id_{name}_error"' in html, name
