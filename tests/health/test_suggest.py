"""Suggested weights on a synthetic history whose informative indicator is known (pure, a
fixed random seed): the suggestion weights it highest and beats uniform weights on the
held-out, newer months."""

import datetime as dt

import numpy as np
import pandas as pd

from health.suggest import suggest_weights, weighted_score

KEYS = ["usage", "nps", "tickets"]


def synthetic(seed=7, accounts=400, months=12):
    """Each month every account gets three scores, uniform 0-100. Only `usage` matters: the
    chance of churning within the lead is 1 / (1 + exp((usage − 40) / 8)), so an account at
    usage 20 churns 92% of the time and one at 60 8%. `nps` and `tickets` are noise, and
    `tickets` is missing for a third of the rows (coverage)."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(months):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=30 * m)
        usage = rng.uniform(0, 100, accounts)
        nps = rng.uniform(0, 100, accounts)
        tickets = rng.uniform(0, 100, accounts)
        tickets[rng.random(accounts) < 1 / 3] = np.nan
        churn = rng.random(accounts) < 1 / (1 + np.exp((usage - 40) / 8))
        rows.append(
            pd.DataFrame(
                {"date": day, "churned": churn, "usage": usage, "nps": nps, "tickets": tickets}
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_the_informative_indicator_gets_the_highest_weight_and_beats_uniform():
    out = suggest_weights(synthetic(), {"usage": 1.0, "nps": 1.0, "tickets": 1.0}, seed=1)
    suggested = out["suggested"]
    assert max(suggested, key=suggested.get) == "usage"
    assert suggested["usage"] > 2 * max(suggested["nps"], suggested["tickets"])
    assert round(sum(suggested.values()), 2) == 3.0  # rescaled to the current total
    assert out["auc_suggested"] > out["auc_current"] + 0.05
    # a time split: the older 70% of the 12 days trains (int(8.4) = 8: 1 Jan + 30 × 7 = 29 Jul
    # is the 8th), the 4 newer test
    assert out["split"]["train_until"] == "2024-07-29"
    assert out["split"]["train"] == 8 * 400 and out["split"]["test"] == 4 * 400


def test_the_same_seed_gives_the_same_suggestion():
    a = suggest_weights(synthetic(), dict.fromkeys(KEYS, 1.0), seed=1)
    b = suggest_weights(synthetic(), dict.fromkeys(KEYS, 1.0), seed=1)
    assert a["suggested"] == b["suggested"] and a["auc_suggested"] == b["auc_suggested"]


def test_a_history_without_churners_on_both_sides_of_the_split_says_so():
    history = synthetic()
    history["churned"] = False
    out = suggest_weights(history, dict.fromkeys(KEYS, 1.0))
    assert "error" in out and "suggested" not in out


def test_the_weighted_score_shares_weight_over_indicators_with_data():
    """usage 80 (weight 3), tickets missing (weight 1), nps 40 (weight 1):
    (80 × 3 + 40 × 1) / (3 + 1) = 70."""
    frame = pd.DataFrame({"usage": [80.0], "nps": [40.0], "tickets": [np.nan]})
    assert weighted_score(frame, {"usage": 3, "nps": 1, "tickets": 1}).tolist() == [70.0]
