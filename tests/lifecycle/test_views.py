"""The journey card on the account page (stage, activation, time to activation, the goal of
the purchase), the stage moves on the timeline, and Configuration → Lifecycle."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import Account, LifecycleChange
from lifecycle.models import LifecycleSettings, PurchaseGoal
from tests import factories as f
from tests.conftest import _member
from triggers.models import Trigger

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(org, csm):
    """Started on 1 March 2024 (its first subscription), activated on 5 April: 35 days to
    activation; entered ongoing that day (from adoption)."""
    acc = f.AccountFactory(
        organization=org,
        name="Ana",
        owner=csm,
        customer_since=dt.date(2024, 3, 1),
        activated_on=dt.date(2024, 4, 5),
    )
    f.SubscriptionFactory(account=acc, start_date=dt.date(2024, 3, 1))
    f.SubscriptionFactory(account=acc, start_date=dt.date(2024, 6, 1))
    LifecycleChange.all_objects.create(
        organization=org,
        account=acc,
        from_stage="adoption",
        to_stage="ongoing",
        changed_on=dt.date(2024, 4, 5),
    )
    return acc


def card(client, account, **kw):
    return client.get(reverse("lifecycle:account", args=[account.pk]), HTTP_HX_REQUEST="true")


def test_the_card_shows_the_stage_activation_and_time_to_activation(client, csm, account):
    client.force_login(csm)
    response = card(client, account)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="journey"' in page and "<html" not in page
    assert "since 04/05/2024" in page  # the stage's change, in the organization's format
    assert "35 days" in page  # 1 March -> 5 April
    assert "Activated" in page and "Not activated" not in page


def test_an_account_past_its_activation_day_says_so(client, csm, org, in_org):
    """First subscription 50 days before today, not activated, due by day 45 (default)."""
    today = dt.date.today()
    late = f.AccountFactory(organization=org, owner=csm, customer_since=today)
    f.SubscriptionFactory(account=late, start_date=today - dt.timedelta(days=50))
    client.force_login(csm)
    page = card(client, late).content.decode()
    assert "Not activated" in page and "day 50 since the first subscription" in page
    assert "expected by day 45" in page


def test_the_owner_records_the_goal_and_another_csm_may_not(client, csm, org, account):
    client.force_login(csm)
    url = reverse("lifecycle:account", args=[account.pk])
    response = client.post(url, {"text": "Cut onboarding time by half"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Cut onboarding time by half" in response.content.decode()
    goal = PurchaseGoal.all_objects.get(account=account)
    assert (goal.text, goal.recorded_by) == ("Cut onboarding time by half", csm)
    assert client.post(url, {"text": "  "}, HTTP_HX_REQUEST="true").status_code == 422
    other = _member(org, "csm", "otto.csm")
    client.force_login(other)
    assert client.post(url, {"text": "Mine now"}).status_code == 403
    assert PurchaseGoal.all_objects.get(account=account).text == "Cut onboarding time by half"


def test_another_organizations_account_is_not_found(client, csm, other_org):
    theirs = f.AccountFactory(organization=other_org)
    client.force_login(csm)
    url = reverse("lifecycle:account", args=[theirs.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"text": "x"}).status_code == 404
    assert not PurchaseGoal.all_objects.exists()


def test_the_stage_move_is_an_event_on_the_timeline(client, csm, account):
    client.force_login(csm)
    page = client.get(
        reverse("workspace:account_timeline", args=[account.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Entered the Ongoing stage" in page and "From Adoption" in page


def test_the_account_page_loads_the_card(client, csm, account):
    client.force_login(csm)
    page = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert reverse("lifecycle:account", args=[account.pk]) in page


# -- Configuration → Lifecycle -----------------------------------------------------------------

URL = "/configuration/lifecycle/"


def test_an_admin_sets_the_days_and_the_defaults_follow(client, org, org_admin):
    client.force_login(org_admin)
    page = client.get(URL).content.decode()
    assert "Days since the first subscription is less than 30" in page
    data = {
        "onboarding_days": "60",
        "renewal_days": "120",
        "activation_due_days": "50",
        "welcome_text": "Hello! Start at https://example.com/start",
    }
    assert client.post(URL, data).status_code == 302
    s = LifecycleSettings.all_objects.get(organization=org)
    assert (s.onboarding_days, s.renewal_days, s.activation_due_days) == (60, 120, 50)
    assert "Days since the first subscription is less than 60" in client.get(URL).content.decode()
    bad = client.post(URL, {**data, "onboarding_days": "0"})
    assert bad.status_code == 422 and "greater than or equal to 1" in bad.content.decode()


def test_an_admin_replaces_a_rule_with_the_builder_and_puts_the_default_back(
    client, org, org_admin
):
    client.force_login(org_admin)
    url = reverse("configuration:lifecycle_rule", args=["activation"])
    assert client.get(url).status_code == 200
    posted = {
        "c.kind": "cmp",
        "c.field": "usage.logins.active_days_30d",
        "c.op": ">=",
        "c.value": "5",
    }
    assert client.post(url, posted).status_code == 302
    s = LifecycleSettings.all_objects.get(organization=org)
    assert s.activation == {"field": "usage.logins.active_days_30d", "op": ">=", "value": 5}
    wrong = client.post(url, {**posted, "c.value": "many"})
    assert wrong.status_code == 422
    assert client.post(url, {"use_default": "1"}).status_code == 302
    assert LifecycleSettings.all_objects.get(organization=org).activation == {}
    assert client.get(reverse("configuration:lifecycle_rule", args=["nope"])).status_code == 404


def test_an_analyst_reads_but_cannot_change(client, org, analyst):
    client.force_login(analyst)
    assert client.get(URL).status_code == 200
    assert client.post(URL, {"onboarding_days": "5"}).status_code == 403
    rule = reverse("configuration:lifecycle_rule", args=["onboarding"])
    assert client.post(rule, {"use_default": "1"}).status_code == 403
    assert client.post(reverse("configuration:lifecycle_triggers")).status_code == 403
    assert not LifecycleSettings.all_objects.exists()


def test_an_admin_creates_the_journey_triggers_once(client, org, org_admin):
    client.force_login(org_admin)
    client.post(reverse("configuration:lifecycle_triggers"))
    client.post(reverse("configuration:lifecycle_triggers"))
    triggers = {
        t.name: (t.kind, t.action, t.condition)
        for t in Trigger.all_objects.filter(organization=org)
    }
    assert triggers == {
        "Entered renewal": (
            "renewal",
            "playbook",
            {"field": "stage_entered_today", "op": "=", "value": "renewal"},
        ),
        "Not activated in time": (
            "retention",
            "alert",
            {
                "all": [
                    {"field": "activated", "op": "=", "value": False},
                    {
                        "field": "days_since_first_subscription",
                        "op": "between",
                        "value": [45, 75],
                    },
                ]
            },
        ),
    }
    assert Account.all_objects.count() == 0
