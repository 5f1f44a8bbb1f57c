"""The survey report on a hand-built set: response rate, NPS per month and persona, the
detractor's loop, the comments; and the loop's maths on a hand-made table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import SurveyKind, SurveyResponse
from orgs.tenancy import org_context
from playbooks.models import Playbook, PlaybookKind, PlaybookStatus
from reports import metrics
from reports.definitions import REPORTS
from reports.filters import ReportFilters
from reports.models import ReportSettings
from reports.periods import QUARTER, Period
from surveys.services import survey_answer
from tests.builders import template
from tests.factories import (
    AccountFactory,
    ContactFactory,
    PersonaFactory,
    SurveyCampaignFactory,
    SurveyInvitationFactory,
)

pytestmark = pytest.mark.django_db

ZONE = dt.UTC


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=ZONE)


def test_the_loop_counts_on_a_hand_made_table():
    """Five detractor answers: two without a follow-up, one followed up but still open, two
    called back; of those, one answered again with 8 (turned) and one never answered again.
    Detractors 5, followed up 3, contacted 2, answered again 1, turned 1 = 100%."""
    rows = [
        {"followup_status": None, "next_score": None},
        {"followup_status": None, "next_score": 9},
        {"followup_status": "open", "next_score": 2},
        {"followup_status": "completed", "next_score": 8},
        {"followup_status": "completed", "next_score": None},
    ]
    assert metrics.survey_loop(rows) == {
        "detractors": 5,
        "followed_up": 3,
        "contacted": 2,
        "answered_again": 1,
        "turned": 1,
        "turned_pct": 100.0,
    }


def test_rate_nps_loop_and_comments_in_a_quarter(org, csm):
    """Q2 2024. Persona P: account A (contacts c1, c2). Four invitations sent in April: c1
    answers 3 "Too slow" (a detractor: its follow-up opens, then is completed), c2 answers
    10, two are never answered. In May c1 answers again 8 (imported, no invitation) and an
    imported 9 comes from A without a contact. One invitation sent in March (outside).
    Rate: 2 / 4 = 50%. NPS, April: 2 answers, 1 promoter, 1 detractor -> 0; May: 2 answers,
    1 promoter, 1 passive -> 50; quarter: 4 answers, 2 promoters, 1 detractor -> 25.
    Loop: 1 detractor, followed up 1, called back 1, answered again 1, turned 1."""
    with org_context(org), timezone.override(ZONE):
        p = PersonaFactory(organization=org, name="P")
        a = AccountFactory(organization=org, persona=p, owner=csm)
        c1, c2 = ContactFactory(account=a), ContactFactory(account=a)
        followup = template(org, "Call back", PlaybookKind.RETENTION)
        campaign = SurveyCampaignFactory(organization=org, name="NPS", followup_template=followup)
        sent = _at("2024-04-02")
        far = sent + dt.timedelta(days=60)
        inv = [
            SurveyInvitationFactory(
                campaign=campaign, contact=c, sent_at=sent, expires_at=far, period=f"p{i}"
            )
            for i, c in enumerate((c1, c2, c1, c2))
        ]
        SurveyInvitationFactory(
            campaign=campaign, contact=c1, sent_at=_at("2024-03-20"), expires_at=far
        )
        survey_answer(invitation_id=inv[0].pk, score=3, comment="Too slow", now=_at("2024-04-03"))
        survey_answer(invitation_id=inv[1].pk, score=10, now=_at("2024-04-04"))
        Playbook.objects.filter(account=a).update(
            status=PlaybookStatus.COMPLETED, closed_at=_at("2024-04-10")
        )
        for contact, score in ((c1, 8), (None, 9)):
            SurveyResponse.objects.create(
                organization=org,
                account=a,
                contact=contact,
                kind=SurveyKind.NPS,
                score=score,
                answered_at=_at("2024-05-15"),
            )
        f = ReportFilters(
            period=Period(
                QUARTER, dt.date(2024, 4, 1), dt.date(2024, 6, 30), dt.date(2024, 6, 30), "2024-Q2"
            ),
            today=dt.date(2024, 7, 1),
        )
        report = REPORTS["surveys"].build(
            f, currency="BRL", goal_pct=70, settings=ReportSettings(organization=org)
        )
    (rate,) = report.table("rate").totals
    assert (rate.values["sent"], rate.values["answered"], rate.values["rate"]) == (4, 2, 50.0)
    months = {r.values["month"]: r.values for r in report.table("nps").rows}
    assert [(v["group"], v["answers"], v["nps"]) for v in months.values()] == [
        ("P", 2, 0.0),
        ("P", 2, 50.0),
    ]
    (total,) = report.table("nps").totals
    assert (total.values["answers"], total.values["nps"]) == (4, 25.0)
    (loop,) = report.table("loop").rows
    assert {k: loop.values[k] for k in ("detractors", "followed_up", "contacted", "turned")} == {
        "detractors": 1,
        "followed_up": 1,
        "contacted": 1,
        "turned": 1,
    }
    comments = [r.values["comment"] for r in report.table("comments").rows]
    assert comments == ["Too slow"]
