"""Sending is idempotent; an answer closes the loop (one follow-up playbook for a detractor,
none for a promoter) and moves the account's health at once."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Account
from health.models import HealthModel, HealthScore
from playbooks.models import Playbook, PlaybookKind, PlaybookStatus
from surveys.models import SurveyInvitation
from surveys.services import SurveyAnswerRefused, survey_answer, surveys_send
from tests.builders import indicator, template
from tests.factories import (
    AccountFactory,
    ContactFactory,
    SurveyCampaignFactory,
    SurveyInvitationFactory,
)

pytestmark = pytest.mark.django_db


def test_a_second_run_sends_nothing_twice(org):
    """Three consenting contacts: the first run sends three, the second (same day, the
    30-day interval) none; the dry run lists and writes nothing."""
    account = AccountFactory(organization=org)
    for _ in range(3):
        ContactFactory(account=account)
    SurveyCampaignFactory(organization=org)
    dry = surveys_send(org=org, dry_run=True)
    assert dry.campaigns[0]["due"] == 3 and len(dry.campaigns[0]["contacts"]) == 3
    assert not SurveyInvitation.all_objects.exists() and not mail.outbox
    assert surveys_send(org=org).sent == 3
    assert surveys_send(org=org).sent == 0
    assert SurveyInvitation.all_objects.count() == 3 and len(mail.outbox) == 3


def test_a_detractor_opens_exactly_one_follow_up_for_the_owner(org, csm, in_org):
    """Two detractors (4 with a comment, then 2) and a promoter (10) of one account: one open
    follow-up playbook, owned by the account's owner, its evidence the first answer."""
    followup = template(org, "Detractor call-back", PlaybookKind.RETENTION)
    campaign = SurveyCampaignFactory(organization=org, followup_template=followup)
    account = AccountFactory(organization=org, owner=csm)
    invitations = [
        SurveyInvitationFactory(campaign=campaign, contact=ContactFactory(account=account))
        for _ in range(3)
    ]
    survey_answer(invitation_id=invitations[0].pk, score=4, comment="Too slow")
    survey_answer(invitation_id=invitations[1].pk, score=2)
    survey_answer(invitation_id=invitations[2].pk, score=10)
    playbooks = list(Playbook.all_objects.filter(account=account))
    assert len(playbooks) == 1
    playbook = playbooks[0]
    assert (playbook.owner_id, playbook.template_id, playbook.status) == (
        csm.pk,
        followup.pk,
        PlaybookStatus.OPEN,
    )
    assert playbook.origin == "survey" and playbook.origin_ref == invitations[0].pk
    assert playbook.evidence["score"] == 4 and playbook.evidence["comment"] == "Too slow"
    assert "Too slow" in playbook.evidence_text


def test_a_promoter_or_a_passive_opens_nothing(org, csm, in_org):
    followup = template(org, "Detractor call-back", PlaybookKind.RETENTION)
    campaign = SurveyCampaignFactory(organization=org, followup_template=followup)
    account = AccountFactory(organization=org, owner=csm)
    for score in (7, 9):
        inv = SurveyInvitationFactory(campaign=campaign, contact=ContactFactory(account=account))
        survey_answer(invitation_id=inv.pk, score=score)
    assert not Playbook.all_objects.filter(account=account).exists()


def test_a_low_csat_opens_the_follow_up_and_a_3_does_not(org, csm, in_org):
    followup = template(org, "CSAT call-back", PlaybookKind.RETENTION)
    campaign = SurveyCampaignFactory(organization=org, kind="csat", followup_template=followup)
    calm, upset = AccountFactory(organization=org, owner=csm), AccountFactory(organization=org)
    for account, score in ((calm, 3), (upset, 2)):
        inv = SurveyInvitationFactory(campaign=campaign, contact=ContactFactory(account=account))
        survey_answer(invitation_id=inv.pk, score=score)
    assert list(Playbook.all_objects.values_list("account_id", flat=True)) == [upset.pk]
    with pytest.raises(SurveyAnswerRefused) as refused:
        inv = SurveyInvitationFactory(campaign=campaign, contact=ContactFactory(account=calm))
        survey_answer(invitation_id=inv.pk, score=6)
    assert refused.value.reason == "score"


def test_an_answer_rescored_the_account_today(org, in_org, django_capture_on_commit_callbacks):
    """A default model with one indicator, the latest NPS, 0 scores 0 and 10 scores 100: the
    account, unscored before, scores 80 today once an 8 is answered (the task runs in-process
    in the tests, after the commit)."""
    model = HealthModel.all_objects.create(organization=org, name="NPS only")
    indicator(org, model, measure="nps_latest", window_days=365, bad_value=0, good_value=10).save()
    campaign = SurveyCampaignFactory(organization=org)
    inv = SurveyInvitationFactory(campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        survey_answer(invitation_id=inv.pk, score=8)
    account = Account.all_objects.get(pk=inv.account_id)
    assert account.health_score == 80
    today = timezone.now().date()
    assert HealthScore.all_objects.get(account=account, date=today).score == 80
    assert account.health_scored_on == today - dt.timedelta(days=0)
