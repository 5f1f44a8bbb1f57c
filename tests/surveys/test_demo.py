"""The demo's survey: one NPS campaign, and its past NPS answers (those with a contact) given
the invitations they came through; a second run writes nothing."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import SurveyKind
from surveys.demo import survey_demo_create
from surveys.models import SurveyCampaign, SurveyInvitation
from tests.factories import AccountFactory, ContactFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db


def test_past_answers_come_through_the_campaign_once(org):
    """Four NPS answers with a contact (two by each contact, on different days, one at 06:30),
    one without a contact, one CSAT: four invitations, each sent before its answer."""
    account = AccountFactory(organization=org)
    a, b = ContactFactory(account=account), ContactFactory(account=account)
    now = timezone.now()
    mine = [
        SurveyResponseFactory(
            account=account, contact=c, score=s, answered_at=now - dt.timedelta(days=d)
        )
        for c, s, d in ((a, 9, 100), (a, 4, 10), (b, 7, 12))
    ]
    # answered at 06:30, before the morning send: the invitation went out the day before
    early = now.replace(hour=6, minute=30) - dt.timedelta(days=20)
    mine.append(SurveyResponseFactory(account=account, contact=b, score=10, answered_at=early))
    SurveyResponseFactory(account=account, contact=None)
    SurveyResponseFactory(account=account, contact=a, kind=SurveyKind.CSAT, score=4)
    result = survey_demo_create(org=org)
    assert result["invitations"] == 4
    campaign = SurveyCampaign.all_objects.get(organization=org)
    assert campaign.followup_template is not None and campaign.days == 90
    invitations = SurveyInvitation.all_objects.filter(campaign=campaign)
    assert sorted(invitations.values_list("response_id", flat=True)) == sorted(r.pk for r in mine)
    assert all(i.sent_at <= i.answered_at == i.response.answered_at for i in invitations)
    assert survey_demo_create(org=org) == {"campaign": None, "invitations": 0}
    assert SurveyInvitation.all_objects.count() == 4


def test_the_rest_of_each_wave_was_asked_and_did_not_answer(org):
    """Account with contacts A (answers 100 and 10 days ago), B (consented 50 days ago), C
    (consented 200 days ago, withdrew since) and D (consented 200 days ago), and one other
    account's contact E (consented 200 days ago). Waves: 100 and 10 days ago. Asked without
    answering: D in both waves, B in the second only (not yet consented at the first), C never
    (withdrawn), E never (another account): 3 unanswered invitations, a response rate of 2/5."""
    account = AccountFactory(organization=org)
    now = timezone.now()
    a = ContactFactory(account=account)
    b = ContactFactory(account=account, consent_given_at=now - dt.timedelta(days=50))
    ContactFactory(
        account=account,
        consent_given_at=now - dt.timedelta(days=200),
        consent_withdrawn_at=now - dt.timedelta(days=5),
    )
    d = ContactFactory(account=account, consent_given_at=now - dt.timedelta(days=200))
    ContactFactory(consent_given_at=now - dt.timedelta(days=200))
    for days in (100, 10):
        SurveyResponseFactory(
            account=account, contact=a, score=8, answered_at=now - dt.timedelta(days=days)
        )
    result = survey_demo_create(org=org)
    assert (result["invitations"], result["unanswered"]) == (2, 3)
    waiting = SurveyInvitation.all_objects.filter(answered_at__isnull=True)
    assert sorted(waiting.values_list("contact_id", flat=True)) == sorted([d.pk, d.pk, b.pk])
    assert all(i.expires_at == i.sent_at + dt.timedelta(days=30) for i in waiting)
