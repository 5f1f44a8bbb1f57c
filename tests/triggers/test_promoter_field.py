"""days_since_promoter_answer, the field a referral or expansion trigger reads ("a promoter
in the last N days"), on a hand-made set."""

import datetime as dt
import math

import pytest
from django.utils import timezone

from accounts.models import SurveyKind
from orgs.tenancy import org_context
from tests.factories import AccountFactory, SurveyResponseFactory
from triggers.fields import TRIGGER_FIELDS, load_frame

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 6, 30)


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def test_days_since_the_latest_promoter_answer(org):
    """A: a 10 five days before DAY -> 5. B: a 9 forty days before and a 2 two days before
    (a detractor is not a promoter) -> 40. C: only an 8 -> no value. D: a 10 the day after
    DAY (the future of the evaluated day) -> no value. E: a 9 on DAY itself -> 0."""
    a, b, c, d, e = (AccountFactory(organization=org) for _ in range(5))
    for account, days_before, score in (
        (a, 5, 10),
        (b, 40, 9),
        (b, 2, 2),
        (c, 3, 8),
        (d, -1, 10),
        (e, 0, 9),
    ):
        SurveyResponseFactory(
            account=account,
            kind=SurveyKind.NPS,
            score=score,
            answered_at=_at(DAY - dt.timedelta(days=days_before)),
        )
    assert "days_since_promoter_answer" in TRIGGER_FIELDS
    with org_context(org), timezone.override(dt.UTC):
        frame = load_frame(day=DAY, fields={"days_since_promoter_answer"})
    got = frame["days_since_promoter_answer"].to_dict()
    assert got[a.pk] == 5 and got[b.pk] == 40 and got[e.pk] == 0
    assert math.isnan(got[c.pk]) and math.isnan(got[d.pk])


def test_no_promoter_at_all_leaves_the_column_empty(org):
    account = AccountFactory(organization=org)
    with org_context(org), timezone.override(dt.UTC):
        frame = load_frame(day=DAY, fields={"days_since_promoter_answer"})
    assert math.isnan(frame.loc[account.pk, "days_since_promoter_answer"])
