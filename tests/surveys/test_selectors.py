"""Who a campaign is due to: consent, roles, stages, persona and the three cadences, on
hand-counted sets."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import ContactRole, LifecycleChange, LifecycleStage
from orgs.tenancy import org_context
from playbooks.models import Playbook, PlaybookKind, PlaybookStatus
from surveys import selectors
from surveys.models import Cadence
from tests.builders import template
from tests.factories import (
    AccountFactory,
    ContactFactory,
    PersonaFactory,
    SurveyCampaignFactory,
    SurveyInvitationFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _due(campaign, now):
    return selectors.campaign_due(campaign=campaign, today=now.date(), now=now, zone=UTC)


def test_every_n_days_targets_consent_roles_stages_persona_and_the_interval(org, other_org):
    """Campaign: persona P, stages ongoing and renewal, roles champion and decision maker,
    every 30 days. By hand:
      A1 (P, ongoing): c1 champion, consent            -> due
                       c2 champion, never consented     -> no (consent)
                       c3 champion, withdrew            -> no (consent)
                       c4 billing, consent              -> no (role)
                       c5 decision maker, asked 10 d ago -> no (interval)
                       c6 decision maker, asked 40 d ago -> due
                       c7 champion, no email            -> no (nowhere to send)
      A2 (P, onboarding): c8                            -> no (stage)
      A3 (P, ongoing, churned): c9                      -> no (churned)
      A4 (Q, renewal): c10                              -> no (persona)
      A5 (P, renewal): c11 champion                     -> due
      another organization's lookalike                  -> no (tenancy)
    Due: c1, c6, c11."""
    now = timezone.now()
    p = PersonaFactory(organization=org, name="P")
    q = PersonaFactory(organization=org, name="Q")
    campaign = SurveyCampaignFactory(
        organization=org,
        persona=p,
        lifecycle_stages=[LifecycleStage.ONGOING, LifecycleStage.RENEWAL],
        contact_roles=[ContactRole.CHAMPION, ContactRole.DECISION_MAKER],
        days=30,
    )
    a1 = AccountFactory(organization=org, persona=p)
    champ, dm = ContactRole.CHAMPION, ContactRole.DECISION_MAKER
    c1 = ContactFactory(account=a1, role=champ)
    ContactFactory(account=a1, role=champ, consent_given_at=None)
    ContactFactory(account=a1, role=champ, consent_withdrawn_at=now - dt.timedelta(days=1))
    ContactFactory(account=a1, role=ContactRole.BILLING)
    c5 = ContactFactory(account=a1, role=dm)
    c6 = ContactFactory(account=a1, role=dm)
    ContactFactory(account=a1, role=champ, email="")
    SurveyInvitationFactory(campaign=campaign, contact=c5, sent_at=now - dt.timedelta(days=10))
    SurveyInvitationFactory(campaign=campaign, contact=c6, sent_at=now - dt.timedelta(days=40))
    a2 = AccountFactory(organization=org, persona=p, lifecycle_stage=LifecycleStage.ONBOARDING)
    ContactFactory(account=a2, role=champ)
    a3 = AccountFactory(organization=org, persona=p, churned_at=now.date())
    ContactFactory(account=a3, role=champ)
    a4 = AccountFactory(organization=org, persona=q, lifecycle_stage=LifecycleStage.RENEWAL)
    ContactFactory(account=a4, role=champ)
    a5 = AccountFactory(organization=org, persona=p, lifecycle_stage=LifecycleStage.RENEWAL)
    c11 = ContactFactory(account=a5, role=champ)
    other = AccountFactory(organization=other_org)
    ContactFactory(account=other, role=champ)
    with org_context(org):
        due = _due(campaign, now)
    assert sorted(d.contact_id for d in due) == sorted([c1.pk, c6.pk, c11.pk])
    assert {d.period for d in due} == {now.date().isoformat()}


def test_after_a_playbook_closes_counts_n_days_with_a_week_of_catch_up(org, in_org):
    """N = 7, catch-up 7 days: a playbook completed 7 to 13 days ago makes its account's
    contacts due, once per playbook. By hand:
      B1 completed 7 days ago           -> due
      B2 completed 3 days ago           -> not yet
      B3 completed 20 days ago          -> too old
      B4 completed 9 days ago, already asked for that playbook -> no
      B5 cancelled 8 days ago           -> no (only a completed playbook)
    Due: B1's contact."""
    now = timezone.now()
    campaign = SurveyCampaignFactory(organization=org, cadence=Cadence.AFTER_PLAYBOOK, days=7)
    t = template(org, "Check-in", PlaybookKind.CUSTOM)

    def closed(account, days_ago, status=PlaybookStatus.COMPLETED):
        return Playbook.all_objects.create(
            organization=org,
            account=account,
            template=t,
            kind=t.kind,
            title=t.name,
            status=status,
            opened_on=now.date() - dt.timedelta(days=days_ago + 5),
            closed_at=now - dt.timedelta(days=days_ago),
        )

    accounts = [AccountFactory(organization=org) for _ in range(5)]
    contacts = [ContactFactory(account=a) for a in accounts]
    closed(accounts[0], 7)
    closed(accounts[1], 3)
    closed(accounts[2], 20)
    p4 = closed(accounts[3], 9)
    SurveyInvitationFactory(campaign=campaign, contact=contacts[3], period=f"playbook:{p4.pk}")
    closed(accounts[4], 8, status=PlaybookStatus.CANCELLED)
    due = _due(campaign, now)
    assert [d.contact_id for d in due] == [contacts[0].pk]
    assert due[0].period.startswith("playbook:")


def test_after_onboarding_counts_from_the_move_out_of_onboarding(org, in_org):
    """N = 10: an account that left onboarding 10 days ago is due, one that left 5 days ago
    is not yet, one that moved from adoption (not onboarding) 10 days ago is not."""
    now = timezone.now()
    today = now.date()
    campaign = SurveyCampaignFactory(organization=org, cadence=Cadence.AFTER_ONBOARDING, days=10)
    accounts = [AccountFactory(organization=org) for _ in range(3)]
    contacts = [ContactFactory(account=a) for a in accounts]
    for account, days_ago, source in (
        (accounts[0], 10, "onboarding"),
        (accounts[1], 5, "onboarding"),
        (accounts[2], 10, "adoption"),
    ):
        LifecycleChange.all_objects.create(
            organization=org,
            account=account,
            from_stage=source,
            to_stage=LifecycleStage.ONGOING,
            changed_on=today - dt.timedelta(days=days_ago),
        )
    due = _due(campaign, now)
    assert [d.contact_id for d in due] == [contacts[0].pk]
    assert due[0].period == f"onboarding:{(today - dt.timedelta(days=10)).isoformat()}"
