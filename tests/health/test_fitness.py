"""Fitness on the database against a fixture whose AUC is known."""

import datetime as dt

import pytest

from health.models import HealthModel, HealthScore
from health.selectors import model_fitness
from orgs.tenancy import org_context
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = dt.date(2024, 12, 31)


def score(org, account, day, value, model):
    colour = "red" if value <= 50 else "yellow" if value <= 75 else "green"
    HealthScore.all_objects.create(
        organization=org, account=account, date=day, score=value, colour=colour, model=model
    )


def test_fitness_by_hand(org):
    model = HealthModel.all_objects.create(organization=org, name="M")
    # churners: churned on 2024-10-31 and 2024-11-30; scores 30 and 60 days before
    c1 = f.AccountFactory(organization=org, churned_at=dt.date(2024, 10, 31))
    c2 = f.AccountFactory(organization=org, churned_at=dt.date(2024, 11, 30))
    score(org, c1, dt.date(2024, 10, 1), 20, model)  # 30 days before
    score(org, c2, dt.date(2024, 10, 31), 70, model)  # 30 days before
    score(org, c1, dt.date(2024, 9, 1), 40, model)  # 60 days before
    score(org, c2, dt.date(2024, 10, 1), 80, model)  # 60 days before
    # stayers, scored on the reference date: the median churner date (upper middle of 2)
    ref30 = dt.date(2024, 10, 31)
    ref60 = dt.date(2024, 10, 1)
    stayers = [f.AccountFactory(organization=org) for _ in range(3)]
    for account, value in zip(stayers, [90, 60, 10], strict=True):
        score(org, account, ref30, value, model)
        score(org, account, ref60, value, model)
    with org_context(org):
        out = model_fitness(org=org, model=model, today=TODAY)
    lead30 = out["leads"][30]
    assert lead30["reference_date"] == ref30.isoformat()
    # stayers 90, 60, 10 vs churners 20, 70: pairs won by stayers:
    # 90>20, 90>70, 60>20, 10<20 & 10<70, 60<70 -> 3 of 6
    assert lead30["auc"] == 0.5
    assert lead30["churners_red_share"] == 0.5
    assert lead30["bands"]["red"] == {
        "accounts": 2,
        "churned": 1,
        "churn_rate": 0.5,
        "small": True,
    }
    assert lead30["bands"]["green"] == {
        "accounts": 1,
        "churned": 0,
        "churn_rate": 0.0,
        "small": True,
    }
    lead60 = out["leads"][60]
    # churners 40, 80 vs stayers 90, 60, 10: 90>40, 90>80, 60>40 -> 3 of 6
    assert lead60["auc"] == 0.5
    assert out["leads"][90]["churners"] == 0 and out["leads"][90]["auc"] is None
    assert out["churned_accounts"] == 2


def test_perfect_model_has_auc_one(org):
    model = HealthModel.all_objects.create(organization=org, name="M")
    ref = dt.date(2024, 10, 1)
    for i in range(3):
        c = f.AccountFactory(organization=org, churned_at=ref + dt.timedelta(days=30))
        score(org, c, ref, 10 + i, model)
        s = f.AccountFactory(organization=org)
        score(org, s, ref, 80 + i, model)
    with org_context(org):
        out = model_fitness(org=org, model=model, today=TODAY)
    assert out["leads"][30]["auc"] == 1.0
    assert out["leads"][30]["churners_red_share"] == 1.0


def test_weekly_history_counts_the_latest_score_within_six_days(org):
    """The churner's score 30 days before its churn (31 Oct) is the latest within six days
    of 1 Oct: 28 Sep's 30. The reference day is then 28 Sep; the churner was still a customer
    30 days after it (28 Oct), but it is counted once, as a churner, not as a stayer too:
    1 churner (30), 1 stayer (80) -> AUC 1.0."""
    model = HealthModel.all_objects.create(organization=org, name="M")
    churner = f.AccountFactory(organization=org, churned_at=dt.date(2024, 10, 31))
    # 30 days before churn is 2024-10-01; the weekly history has 09-28 and 09-21
    score(org, churner, dt.date(2024, 9, 21), 70, model)
    score(org, churner, dt.date(2024, 9, 28), 30, model)
    stayer = f.AccountFactory(organization=org)
    score(org, stayer, dt.date(2024, 9, 28), 80, model)
    score(org, stayer, dt.date(2024, 9, 20), 10, model)  # older than 6 days: ignored
    with org_context(org):
        lead30 = model_fitness(org=org, model=model, today=TODAY)["leads"][30]
    assert (lead30["churners"], lead30["stayers"]) == (1, 1)
    assert lead30["churner_mean_score"] == 30 and lead30["stayer_mean_score"] == 80
    assert lead30["auc"] == 1.0


def test_overall_fitness_counts_by_the_strict_rules(org):
    """Every model's scores together (model=None: the API's and `health_fitness`'s overall
    figure), today 31 Dec 2024, lead 30, scores split over two models A and B.
      c1 churned 20 Dec, scored 20 Nov (30 days before): 20 (A)
      c2 churned 30 Dec, scored 30 Nov: 40 (B)
      c3 churned 20 Dec, scored 20 Nov: 90, but a customer only since 10 Nov (10 days of
         history, less than the lead): left out
      reference day: the upper median of 20 Nov and 30 Nov -> 30 Nov; stayers scored then:
      s1 80 (A), s2 60 (B); s3 (10) a customer only since 15 Nov: left out; s4 (95) churned
      15 Dec, within 30 days of the reference: no stayer (and no churner: unscored on 15 Nov).
    Strict: churners 20, 40 vs stayers 80, 60: all 4 pairs won by stayers -> AUC 1.0;
      red 2 accounts, 2 churned; yellow 1, 0; green 1, 0.
    The old lenient rule counted c3 and s3: churners 20, 40, 90 vs stayers 80, 60, 10 -> 4
    of 9 pairs -> 0.4444, and 3 churners, 3 stayers.
    Churned in the window: c1, c2, c3, s4 -> 4."""
    model_a = HealthModel.all_objects.create(organization=org, name="A")
    model_b = HealthModel.all_objects.create(
        organization=org, name="B", persona=f.PersonaFactory(organization=org)
    )
    acc = lambda **kw: f.AccountFactory(organization=org, **kw)  # noqa: E731
    nov = lambda d: dt.date(2024, 11, d)  # noqa: E731
    score(org, acc(churned_at=dt.date(2024, 12, 20)), nov(20), 20, model_a)
    score(org, acc(churned_at=dt.date(2024, 12, 30)), nov(30), 40, model_b)
    young = acc(churned_at=dt.date(2024, 12, 20), customer_since=nov(10))
    score(org, young, nov(20), 90, model_a)
    score(org, acc(), nov(30), 80, model_a)
    score(org, acc(), nov(30), 60, model_b)
    score(org, acc(customer_since=nov(15)), nov(30), 10, model_b)
    score(org, acc(churned_at=dt.date(2024, 12, 15)), nov(30), 95, model_a)
    with org_context(org):
        out = model_fitness(org=org, today=TODAY)
    lead30 = out["leads"][30]
    assert lead30["reference_date"] == "2024-11-30"
    assert (lead30["churners"], lead30["stayers"], lead30["auc"]) == (2, 2, 1.0)
    assert {c: (b["accounts"], b["churned"]) for c, b in lead30["bands"].items()} == {
        "red": (2, 2),
        "yellow": (1, 0),
        "green": (1, 0),
    }
    assert lead30["small"] is True and out["churned_accounts"] == 4
    assert out["keys"] == [] and lead30["indicators"] == {}
