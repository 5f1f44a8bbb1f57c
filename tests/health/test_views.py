"""Health pages: the account's health panel, the models and their fitness, scoped per
organization."""

import datetime as dt

import pytest

from health import services
from health.models import FitnessSnapshot
from orgs.tenancy import org_context
from tests import factories as f
from tests.builders import DAY, active_days, simple_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(org):
    account = f.AccountFactory(
        organization=org, name="Acme Ltda", customer_since=dt.date(2020, 1, 1)
    )
    active_days(org, account, 4)
    model = simple_model(org)
    for back in (30, 7, 0):
        services.health_score_day(org=org, day=DAY - dt.timedelta(days=back))
    return account, model


def test_account_health_panel_shows_score_breakdown_and_history(client, csm, scored):
    account, _ = scored
    client.force_login(csm)
    response = client.get(f"/health/accounts/{account.pk}/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # the fragment only, for the account page
    assert "Usage frequency" in html and "active 4 of the last 10 days (logins)" in html
    assert (
        'data-chart-json="{&quot;points&quot;: [{&quot;date&quot;' in html
    )  # the series, on the canvas
    assert ">40<" in html and "Red" in html  # 4 of 10 days -> 40, red band (label, not colour)
    full = client.get(f"/health/accounts/{account.pk}/")
    assert "<html" in full.content.decode()


def test_account_health_panel_queries_are_bounded(
    client, csm, scored, django_assert_max_num_queries
):
    account, _ = scored
    client.force_login(csm)
    # 12, and the chart's event markers: the contacts and the playbooks of its days
    with django_assert_max_num_queries(14):
        response = client.get(f"/health/accounts/{account.pk}/", HTTP_HX_REQUEST="true")
    # the bound is worth something only if it measured the real panel, with its data
    assert response.status_code == 200
    html = response.content.decode()
    assert ">40<" in html and "active 4 of the last 10 days (logins)" in html
    assert html.count("&quot;date&quot;") == 3  # the three scored days of the chart


def test_another_organizations_account_and_model_are_404(client, other_org, scored):
    account, model = scored
    stranger = f.UserFactory(username="otto")
    f.MembershipFactory(user=stranger, organization=other_org, role="admin")
    client.force_login(stranger)
    assert client.get(f"/health/accounts/{account.pk}/").status_code == 404
    assert client.get(f"/health/models/{model.pk}/").status_code == 404


def test_analyst_reads_the_model_and_its_fitness(client, analyst, scored):
    _, model = scored
    client.force_login(analyst)
    listing = client.get("/health/models/").content.decode()
    assert "Simple" in listing
    page = client.get(f"/health/models/{model.pk}/").content.decode()
    # the first visit of the day asks the background for the fitness snapshot, and polls
    assert "Computing the fitness in the background" in page and 'hx-trigger="every 2s"' in page
    # analysts draft models in the configuration area's editor (admins publish)
    assert f'href="/configuration/health-models/{model.pk}/">Edit in configuration' in page
    with org_context(model.organization):
        snapshot = FitnessSnapshot.objects.get(model=model, kind="fitness")
    services.fitness_snapshot_compute(snapshot_id=snapshot.pk)  # what the worker does
    page = client.get(f"/health/models/{model.pk}/").content.decode()
    assert "Fitness against real churn" in page and 'data-chart="fitness-bands"' in page
    assert "Each indicator on its own" in page and "every 2s" not in page


def test_a_churned_accounts_panel_says_its_last_score_came_before_the_churn(client, csm, scored):
    account, _ = scored
    type(account).all_objects.filter(pk=account.pk).update(
        churned_at=DAY + dt.timedelta(days=3), lifecycle_stage="churned"
    )
    client.force_login(csm)
    html = client.get(f"/health/accounts/{account.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "before the account churned on" in html and "not scored" in html
    assert "health-card__changes" not in html  # no 'change over 7 days' about a customer gone
