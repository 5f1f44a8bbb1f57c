"""The CSM's judgement beside the model's score: set by the owner CSM or a manager, never
overwritten by the nightly run, expiring on its date and asking to be renewed; the
disagreement queue on the database, and its resolutions stored as rows."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Account
from health import selectors, services
from health.models import CsmJudgement, DisagreementResolution, HealthScore
from orgs.tenancy import org_context
from tests import factories as f
from tests.builders import DAY, active_days, simple_model
from triggers.services import nightly_run_inline

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(org, csm):
    account = f.AccountFactory(
        organization=org, name="Acme Ltda", owner=csm, customer_since=dt.date(2020, 1, 1)
    )
    active_days(org, account, 2)  # 2 of 10 days -> 20: red
    simple_model(org)
    return account


def judge(account, user, role="csm", **kw):
    data = dict(
        account=account,
        acting_user=user,
        role=role,
        today=DAY,
        reason="Sponsor is happy",
        expires_on=DAY + dt.timedelta(days=90),
        sentiment=5,
        colour="green",
    )
    data.update(kw)
    return services.csm_judgement_set(**data)


def test_a_judgement_survives_the_nightly_run_beside_the_models_score(org, csm, account):
    with org_context(org):
        judgement = judge(account, csm, sentiment=None)
    nightly_run_inline(org=org, day=DAY)
    with org_context(org):
        account = Account.objects.get(pk=account.pk)
        current = selectors.current_judgement(account=account)
        assert current.pk == judgement.pk and current.colour == "green"
        assert current.reason == "Sponsor is happy" and current.is_live(DAY)
        # the model's own verdict is untouched and differs: 2 of 10 days -> 20, red
        assert account.health_colour == "red" and account.health_score == 20


def test_the_sentiment_goes_on_the_account_for_the_indicator_and_expires_on_its_date(
    org, csm, account
):
    with org_context(org):
        judge(account, csm, expires_on=DAY + dt.timedelta(days=10))
        account.refresh_from_db()
        assert account.csm_sentiment == 5
        assert account.csm_sentiment_expires_on == DAY + dt.timedelta(days=10)
        current = selectors.current_judgement(account=account)
    assert current.is_live(DAY + dt.timedelta(days=10))  # the last day it holds
    assert not current.is_live(DAY + dt.timedelta(days=11))


def test_only_the_owner_csm_or_a_manager_judges_and_a_reason_is_required(
    org, csm, manager, account
):
    other = f.UserFactory(username="olga")
    f.MembershipFactory(user=other, organization=org, role="csm")
    with org_context(org):
        with pytest.raises(PermissionDenied):
            judge(account, other)
        with pytest.raises(ValidationError) as err:
            judge(account, csm, reason="  ")
        assert "reason" in err.value.message_dict
        with pytest.raises(ValidationError) as err:
            judge(account, csm, sentiment=None, colour="")
        assert "colour" in err.value.message_dict
        with pytest.raises(ValidationError) as err:
            judge(account, csm, expires_on=DAY - dt.timedelta(days=1))
        assert "expires_on" in err.value.message_dict
        assert judge(account, manager, role="manager").set_by == manager


def red_days(org, account, first, last):
    for n in range((last - first).days + 1):
        HealthScore.all_objects.update_or_create(
            account=account,
            date=first + dt.timedelta(days=n),
            defaults={"organization": org, "score": 30, "colour": "red"},
        )


def test_the_queue_enters_after_more_than_n_days_and_leaves_when_resolved(
    org, csm, manager, account
):
    """CSM says green from DAY − 20; the model is red every day from DAY − 20 to DAY: 21 days,
    more than 14: in the queue. On DAY − 7 the run was 14 days (DAY − 20 .. DAY − 7): not yet."""
    red_days(org, account, DAY - dt.timedelta(days=20), DAY)
    with org_context(org):
        judgement = judge(account, csm, today=DAY - dt.timedelta(days=20), sentiment=None)
        assert selectors.disagreement_queue(today=DAY - dt.timedelta(days=7)) == []
        queue = selectors.disagreement_queue(today=DAY)
        assert [(e["judgement"].pk, e["days"], e["model_colour"]) for e in queue] == [
            (judgement.pk, 21, "red")
        ]
        resolution = services.disagreement_resolve(
            judgement=judgement,
            acting_user=manager,
            role="manager",
            decision="model_change",
            note="Usage is not what this customer values",
            model_colour="red",
            days=21,
        )
        assert DisagreementResolution.objects.get().decision == "model_change"
        assert resolution.csm_colour == "green"
        assert selectors.disagreement_queue(today=DAY) == []
        # a new judgement can disagree anew
        judge(account, csm, today=DAY - dt.timedelta(days=20), sentiment=None)
        assert len(selectors.disagreement_queue(today=DAY)) == 1
        assert CsmJudgement.objects.count() == 2


def test_the_queue_leaves_when_the_model_comes_round(org, csm, account):
    red_days(org, account, DAY - dt.timedelta(days=20), DAY)
    with org_context(org):
        judge(account, csm, today=DAY - dt.timedelta(days=20), sentiment=None)
        HealthScore.objects.filter(date=DAY).update(colour="yellow", score=60)
        assert selectors.disagreement_queue(today=DAY) == []


def test_only_managers_resolve(org, csm, account):
    with org_context(org):
        judgement = judge(account, csm)
        with pytest.raises(PermissionDenied):
            services.disagreement_resolve(
                judgement=judgement,
                acting_user=csm,
                role="csm",
                decision="agree_csm",
                model_colour="red",
                days=20,
            )


def test_the_card_sets_a_judgement_and_shows_it_beside_the_score(client, org, csm, account):
    nightly_run_inline(org=org, day=DAY)
    client.force_login(csm)
    url = f"/health/accounts/{account.pk}/judgement/"
    bad = client.post(
        url, {"reason": "", "colour": "green", "expires_on": "2024-09-28"}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 422 and "This field is required." in bad.content.decode()
    response = client.post(
        url,
        {
            "sentiment": "",
            "colour": "green",
            "reason": "Sponsor renewed verbally",
            "expires_on": "2999-01-01",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422 and "at most a year" in response.content.decode()
    with org_context(org):
        from orgs.timezones import org_today

        today = org_today(org)
    response = client.post(
        url,
        {
            "colour": "green",
            "reason": "Sponsor renewed verbally",
            "expires_on": (today + dt.timedelta(days=90)).isoformat(),
        },
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Sponsor renewed verbally" in html and "Green" in html
    card = client.get(f"/health/accounts/{account.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "The CSM says:" in card and ">20<" in card  # the model's score stays, beside it


def test_an_expired_judgement_asks_to_be_renewed(client, org, csm, account):
    nightly_run_inline(org=org, day=DAY)
    with org_context(org):
        judge(
            account, csm, today=DAY - dt.timedelta(days=100), expires_on=DAY - dt.timedelta(days=10)
        )
    client.force_login(csm)
    card = client.get(f"/health/accounts/{account.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "This judgement expired on 06/20/2024" in card and "Renew the judgement" in card


def test_the_disagreements_page_lists_and_resolves(client, org, csm, manager, account):
    with org_context(org):
        from orgs.timezones import org_today

        today = org_today(org)
        red_days(org, account, today - dt.timedelta(days=20), today)
        judgement = judge(
            account,
            csm,
            today=today - dt.timedelta(days=20),
            sentiment=None,
            expires_on=today + dt.timedelta(days=30),
        )
    client.force_login(csm)
    assert client.get("/health/disagreements/").status_code == 403  # managers' page
    client.force_login(manager)
    page = client.get("/health/disagreements/").content.decode()
    assert "Acme Ltda" in page and f'id="disagreement-{judgement.pk}"' in page
    response = client.post(
        f"/health/disagreements/{judgement.pk}/resolve/", {"decision": "agree_csm"}
    )
    assert response.status_code == 302
    with org_context(org):
        assert DisagreementResolution.objects.get().decision == "agree_csm"
    page = client.get("/health/disagreements/").content.decode()
    assert f'id="disagreement-{judgement.pk}"' not in page and "Agree with the CSM" in page
    assert (
        client.post(
            f"/health/disagreements/{judgement.pk}/resolve/", {"decision": "agree_csm"}
        ).status_code
        == 404
    )
