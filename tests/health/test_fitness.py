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
    assert lead30["bands"]["red"] == {"accounts": 2, "churned": 1, "churn_rate": 0.5}
    assert lead30["bands"]["green"] == {"accounts": 1, "churned": 0, "churn_rate": 0.0}
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
