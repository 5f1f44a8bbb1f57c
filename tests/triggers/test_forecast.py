"""The retention forecast's maths (triggers/forecast.py) on a table worked out by hand."""

import pandas as pd
import pytest

from triggers.forecast import confirm_rate, forecast_cells, main_products

AT_RISK = ["account_id", "persona_id", "mrr"]


def test_confirm_rate():
    assert confirm_rate(confirmed=3, decided=4) == 0.75
    assert confirm_rate(confirmed=0, decided=5) == 0.0
    assert confirm_rate(confirmed=0, decided=0) == 1.0  # nothing decided yet: plan for all


def test_main_product_is_the_largest_subscription_ties_to_the_lower_id():
    subs = pd.DataFrame(
        [(1, 10, 100.0), (1, 11, 300.0), (2, 10, 50.0), (2, 12, 50.0), (3, 12, 20.0)],
        columns=["account_id", "product_id", "mrr"],
    )
    assert main_products(subs).to_dict() == {1: 11, 2: 10, 3: 12}
    # row order does not decide a tie
    assert main_products(subs.iloc[::-1]).to_dict() == {1: 11, 2: 10, 3: 12}
    assert main_products(subs.iloc[0:0]).empty


def test_forecast_cells_by_hand():
    """Accounts (persona, MRR, main product):
        a1 (P1, 1000, X)  alert, and an open playbook due in the month
        a2 (P1,  500, X)  alert
        a3 (P1,  200, X)  open playbook
        a4 (P2,  300, Y)  alert
        a5 (—,   100, —)  alert, no persona and no active product
    Confirm rate 0.5.
    P1 × X: 2 alerts, 2 playbooks -> ceil(2 × 0.5) + 2 = 3 actions; accounts a1 a2 a3 = 3;
            MRR 1000 + 500 + 200 = 1700 (a1 counted once).
    P2 × Y: 1 alert -> ceil(0.5) = 1 action; 1 account; 300.
    — × —:  1 alert -> 1 action; 1 account; 100."""
    alerts = pd.DataFrame([(1, 1, 1000), (2, 1, 500), (4, 2, 300), (5, None, 100)], columns=AT_RISK)
    playbooks = pd.DataFrame([(1, 1, 1000), (3, 1, 200)], columns=AT_RISK)
    main = pd.Series({1: 10, 2: 10, 3: 10, 4: 20})
    cells = forecast_cells(
        alerts=alerts, open_playbooks=playbooks, main_product=main, confirm_rate=0.5
    )
    got = {(c["persona_id"], c["product_id"]): c for c in cells.to_dict("records")}
    assert set(got) == {(1, 10), (2, 20), (None, None)}
    assert got[(1, 10)] == {
        "persona_id": 1,
        "product_id": 10,
        "alerts_raised": 2,
        "expected_actions": 3,
        "accounts_at_risk": 3,
        "mrr_at_risk": 1700.0,
    }
    assert (got[(2, 20)]["expected_actions"], got[(2, 20)]["mrr_at_risk"]) == (1, 300.0)
    assert got[(None, None)]["alerts_raised"] == 1
    assert got[(None, None)]["expected_actions"] == 1
    assert all(type(c["persona_id"]) in (int, type(None)) for c in got.values())


@pytest.mark.parametrize(
    "alerts, rate, expected",
    [(77, 9 / 11, 63), (10, 0.31, 4), (4, 0.0, 0), (7, 1.0, 7)],
)
def test_expected_actions_round_up_without_float_noise(alerts, rate, expected):
    """9 of 11 alerts confirmed, 77 raised: 77 × 9/11 is 63 exactly, but 63.00000000000001 in
    floating point; still 63 actions, not 64."""
    frame = pd.DataFrame([(i, 1, 10) for i in range(alerts)], columns=AT_RISK)
    cells = forecast_cells(
        alerts=frame,
        open_playbooks=pd.DataFrame(columns=AT_RISK),
        main_product=pd.Series(dtype="int64"),
        confirm_rate=rate,
    )
    assert cells.iloc[0]["expected_actions"] == expected


def test_no_risk_no_cells():
    empty = pd.DataFrame(columns=AT_RISK)
    cells = forecast_cells(
        alerts=empty, open_playbooks=empty, main_product=pd.Series(dtype="int64"), confirm_rate=1
    )
    assert cells.empty
