"""Scoring maths on a small table computed by hand (no database)."""

import math

import pandas as pd
import pytest

from health.fitness import auc, lead_fitness
from health.scoring import IndicatorSpec, ModelSpec, colour_for, indicator_score, score_frame

MODEL = ModelSpec(
    id=1,
    version=1,
    red_max=50,
    yellow_max=75,
    indicators=(
        # usage: higher is better, 0 days -> 0, 20 days -> 100, weight 2
        IndicatorSpec(key="a", measure="usage_frequency", bad=0, good=20, weight=2),
        # tickets: lower is better, 10 -> 0, 0 -> 100, weight 1
        IndicatorSpec(key="b", measure="tickets_over_sla", bad=10, good=0, weight=1),
        IndicatorSpec(key="c", measure="product_adoption", bad=0, good=100, weight=1),
    ),
)

RAW = pd.DataFrame(
    {
        "a": [15, 30, None, 20, 10, 10],
        "b": [4, 12, None, 0, 5, 5],
        "c": [None, 50, None, 100, 50, 54],
    },
    index=[1, 2, 3, 4, 5, 6],
    dtype="float64",
)


def test_indicator_score_is_linear_between_bad_and_good_and_clamped():
    raw = pd.Series([-5, 0, 5, 20, 25, None], dtype="float64")
    assert indicator_score(raw, 0, 20).tolist()[:5] == [0.0, 0.0, 25.0, 100.0, 100.0]
    assert math.isnan(indicator_score(raw, 0, 20).iloc[5])
    # lower is better: bad above good
    assert indicator_score(pd.Series([10.0, 4.0, 0.0, -1.0]), 10, 0).tolist() == [
        0.0,
        60.0,
        100.0,
        100.0,
    ]


def test_weighted_mean_by_hand():
    out = score_frame(RAW, MODEL)
    # 1: a=75 (w2), b=60 (w1), c missing -> (150+60)/3 = 70
    # 2: a=100, b=0, c=50 -> (200+0+50)/4 = 62.5 -> 63 (half up)
    # 4: all 100; 5: all 50; 6: (2*50+50+54)/4 = 51
    assert out.loc[1, "score"] == 70
    assert out.loc[2, "score"] == 63
    assert out.loc[4, "score"] == 100
    assert out.loc[5, "score"] == 50
    assert out.loc[6, "score"] == 51


def test_missing_indicator_weight_is_redistributed_and_flagged():
    out = score_frame(RAW, MODEL)
    assert math.isnan(out.loc[1, "s:c"])
    assert out.loc[1, "w:c"] == 0
    assert out.loc[1, "w:a"] == pytest.approx(2 / 3)
    assert out.loc[1, "w:b"] == pytest.approx(1 / 3)
    assert out.loc[2, "w:a"] == pytest.approx(0.5)


def test_no_data_at_all_gives_no_score():
    out = score_frame(RAW, MODEL)
    assert math.isnan(out.loc[3, "score"])
    assert out.loc[3, "colour"] == "none"


def test_colour_bands_default_and_boundaries():
    out = score_frame(RAW, MODEL)
    assert out["colour"].to_dict() == {
        1: "yellow",
        2: "yellow",
        3: "none",
        4: "green",
        5: "red",
        6: "yellow",
    }
    scores = pd.Series([0, 50, 51, 75, 76, 100], dtype="float64")
    assert colour_for(scores, 50, 75).tolist() == [
        "red",
        "red",
        "yellow",
        "yellow",
        "green",
        "green",
    ]
    assert colour_for(scores, 30, 60).tolist() == [
        "red",
        "yellow",
        "yellow",
        "green",
        "green",
        "green",
    ]


def test_auc_by_hand():
    # stayers 80, 60; churners 70, 20: pairs (80>70, 80>20, 60<70, 60>20) -> 3/4
    assert auc(pd.Series([80.0, 60.0]), pd.Series([70.0, 20.0])) == 0.75
    # a tie counts half: stayers 50, churners 50 -> 0.5
    assert auc(pd.Series([50.0]), pd.Series([50.0])) == 0.5
    assert auc(pd.Series([90.0, 80.0]), pd.Series([10.0])) == 1.0
    assert auc(pd.Series([], dtype="float64"), pd.Series([1.0])) is None


def test_lead_fitness_bands_by_hand():
    churners = pd.DataFrame({"score": [20, 40, 60], "colour": ["red", "red", "yellow"]})
    stayers = pd.DataFrame(
        {"score": [30, 70, 80, 90], "colour": ["red", "yellow", "green", "green"]}
    )
    out = lead_fitness(churners, stayers)
    assert out["bands"]["red"] == {"accounts": 3, "churned": 2, "churn_rate": round(2 / 3, 4)}
    assert out["bands"]["yellow"] == {"accounts": 2, "churned": 1, "churn_rate": 0.5}
    assert out["bands"]["green"] == {"accounts": 2, "churned": 0, "churn_rate": 0.0}
    assert out["churners_red_share"] == round(2 / 3, 4)
    # pairs stayer > churner: 30:{20} 1; 70:{20,40,60} 3; 80: 3; 90: 3 -> 10/12
    assert out["auc"] == round(10 / 12, 4)
