"""Fitness per indicator, by rules that cannot flatter, on a hand-built fixture (database)."""

import datetime as dt

import pytest

from health.models import HealthScore
from health.selectors import model_fitness, weight_snapshots
from orgs.tenancy import org_context
from tests import factories as f
from tests.builders import usage_nps_model

pytestmark = pytest.mark.django_db

TODAY = dt.date(2024, 12, 31)
USAGE, NPS = "usage_frequency:30:logins", "nps_latest:365"


def score(org, account, day, total, usage, nps, model):
    colour = "red" if total <= 50 else "yellow" if total <= 75 else "green"
    HealthScore.all_objects.create(
        organization=org,
        account=account,
        date=day,
        score=total,
        colour=colour,
        model=model,
        breakdown={USAGE: [1.0, usage, 0.5], NPS: [1.0, nps, 0.5 if nps is not None else 0.0]},
    )


def test_indicator_auc_coverage_and_the_rules_by_hand(org):
    """Lead 30. Churners: c1 (churned 31 Oct, scored 1 Oct: total 20, usage 10, NPS 30) and
    c2 (30 Nov, scored 31 Oct: 70, usage 40, NPS missing). c3 churned 30 Nov too but became a
    customer on 15 Oct, less than 30 days before its scored day: left out. The reference day
    is the upper median of 1 Oct and 31 Oct: 31 Oct. Stayers scored then: s1 (90, 90, 80),
    s2 (60, 70, 20), s3 (10, 5, 50); s4 churned on 15 Nov, within 30 days of the reference, so
    it is no stayer (and, unscored 30 days before its churn, no churner).
      model: stayers 90, 60, 10 vs churners 20, 70 -> 3 of 6 pairs -> 0.5
      usage: 90, 70, 5 vs 10, 40 -> 90>10, 90>40, 70>10, 70>40 -> 4 of 6 -> 0.6667
      NPS:   80, 20, 50 vs 30 (c2 has none) -> 80>30, 50>30 -> 2 of 3 -> 0.6667;
             coverage 4 of the 5 accounts -> 0.8
    Two churners: fewer than 10, so every figure is flagged small."""
    model = usage_nps_model(org)
    acc = lambda **kw: f.AccountFactory(organization=org, **kw)  # noqa: E731
    c1 = acc(churned_at=dt.date(2024, 10, 31))
    c2 = acc(churned_at=dt.date(2024, 11, 30))
    c3 = acc(churned_at=dt.date(2024, 11, 30), customer_since=dt.date(2024, 10, 15))
    score(org, c1, dt.date(2024, 10, 1), 20, 10, 30, model)
    score(org, c2, dt.date(2024, 10, 31), 70, 40, None, model)
    score(org, c3, dt.date(2024, 10, 31), 0, 0, 0, model)
    ref = dt.date(2024, 10, 31)
    for values in ((90, 90, 80), (60, 70, 20), (10, 5, 50)):
        score(org, acc(), ref, *values, model)
    score(org, acc(churned_at=dt.date(2024, 11, 15)), ref, 95, 95, 95, model)
    with org_context(org):
        out = model_fitness(org=org, model=model, today=TODAY)
    lead = out["leads"][30]
    assert lead["reference_date"] == "2024-10-31"
    assert (lead["churners"], lead["stayers"], lead["auc"]) == (2, 3, 0.5)
    assert lead["indicators"][USAGE] == {
        "auc": 0.6667,
        "coverage": 1.0,
        "churners": 2,
        "stayers": 3,
        "small": True,
    }
    assert lead["indicators"][NPS] == {
        "auc": 0.6667,
        "coverage": 0.8,
        "churners": 1,
        "stayers": 3,
        "small": True,
    }
    assert lead["small"] is True and lead["bands"]["red"]["small"] is True


def test_snapshots_know_their_outcome_and_leave_young_accounts_out(org):
    """Lead 90, today 31 Dec: the latest snapshot day is 2 Oct (31 Dec − 90). An account
    scored then that churned on 1 Dec (60 days later) churned within the lead; one that churned
    on 15 Jan 2025 (105 days later) did not; one that became a customer on 1 Sep (31 days of
    history) is left out."""
    model = usage_nps_model(org)
    day = dt.date(2024, 10, 2)
    early = f.AccountFactory(organization=org, churned_at=dt.date(2024, 12, 1))
    late = f.AccountFactory(organization=org, churned_at=dt.date(2025, 1, 15))
    young = f.AccountFactory(organization=org, customer_since=dt.date(2024, 9, 1))
    for account in (early, late, young):
        score(org, account, day, 50, 50, 50, model)
    with org_context(org):
        frame = weight_snapshots(org=org, model=model, lead=90, today=TODAY)
    assert sorted(frame["churned"].tolist()) == [False, True]
    assert frame[USAGE].tolist() == [50.0, 50.0]
