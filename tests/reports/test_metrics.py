"""The reports' maths on small tables computed by hand (no database)."""

import datetime as dt

import pandas as pd
import pytest

from reports import metrics

D = dt.date


def test_ratios_are_none_without_a_denominator():
    assert metrics.ratio(1, 4) == 0.25
    assert metrics.pct(1, 4) == 25.0
    assert metrics.ratio(3, 0) is None
    assert metrics.pct(0, 0) is None
    assert metrics.ratio(None, 5) is None


def test_grr_and_nrr_by_the_finance_definitions():
    """Start 1,000; churned 200, contraction 50, expansion 150:
    GRR = (1000 − 200 − 50) / 1000 = 75%; NRR = (1000 − 200 − 50 + 150) / 1000 = 90%."""
    r = metrics.retention(start_mrr=1000, churned=200, contraction=50, expansion=150)
    assert r.grr == pytest.approx(75.0)
    assert r.nrr == pytest.approx(90.0)


def test_a_zero_start_mrr_has_no_grr_nor_nrr():
    r = metrics.retention(start_mrr=0, churned=0, contraction=0, expansion=500)
    assert r.grr is None and r.nrr is None


def test_grr_counts_each_accounts_losses_up_to_its_start():
    """An account of 100 grew by 50 then churned (−150): GRR loses its 100, not 150
    (gross_loss is the capped sum); NRR nets the 50 back: (100 − 150 + 50) / 100 = 0%."""
    r = metrics.retention(start_mrr=100, churned=150, contraction=0, expansion=50, gross_loss=100)
    assert r.grr == 0.0
    assert r.nrr == 0.0


def test_mrr_bridge():
    """1000 + 300 new + 100 expansion + 40 back − 60 contraction − 200 churn = 1180."""
    assert (
        metrics.mrr_bridge(
            start=1000, new=300, expansion=100, reactivation=40, contraction=60, churned=200
        )
        == 1180
    )


@pytest.mark.parametrize(
    "counts, median",
    [
        ([(3, 1), (1, 1), (2, 1)], 2.0),  # 1 2 3
        ([(1, 2), (5, 2)], 3.0),  # 1 1 5 5: (1 + 5) / 2
        ([(10, 1), (2, 3)], 2.0),  # 2 2 2 10
        ([(4, 0), (7, 1)], 7.0),  # a zero count is no value
        ([], None),
    ],
)
def test_median_from_a_histogram(counts, median):
    assert metrics.median_from_counts(counts) == median


def test_conversion_and_save_rate():
    assert metrics.conversion(successes=12, playbooks=40) == 30.0
    assert metrics.conversion(successes=0, playbooks=0) is None  # a trigger that never fired
    assert metrics.save_rate(retained=8, churned=2) == 80.0
    assert metrics.save_rate(retained=0, churned=0) is None


def test_best_and_worst_triggers_need_a_sample():
    rows = [
        {"name": "A", "conversion": 46.0, "sample": 50},
        {"name": "B", "conversion": 10.0, "sample": 30},
        {"name": "C", "conversion": 90.0, "sample": 2},  # too few to rank
        {"name": "D", "conversion": 30.0, "sample": 10},
        {"name": "E", "conversion": None, "sample": 0},  # never fired
    ]
    ranked = metrics.rank_triggers(rows, n=1)
    assert [r["name"] for r in ranked["best"]] == ["A"]
    assert [r["name"] for r in ranked["worst"]] == ["B"]
    assert {r["name"] for r in ranked["unranked"]} == {"C", "E"}


def test_predictability_per_persona():
    """Four churners. Persona 1: #1 churned 06-30 with a firing on 05-01 (60 days before: it
    counts at 30 and 60, not 90); #2 churned 06-30 with a firing on 06-20 (10 days: none).
    Persona 2: #3 churned 06-30, fired 2023-01-01 (546 days: more than a year, none) and
    2024-03-01 (121 days: all three). No persona: #4 never fired.
    30 days: persona 1 1/2 = 50%, persona 2 1/1, none 0/1; all 2/4 = 50%.
    90 days: persona 1 0/2, persona 2 1/1; all 1/4 = 25%."""
    churners = pd.DataFrame(
        [
            (1, 1, D(2024, 6, 30)),
            (2, 1, D(2024, 6, 30)),
            (3, 2, D(2024, 6, 30)),
            (4, None, D(2024, 6, 30)),
        ],
        columns=["account_id", "persona_id", "churned_at"],
    )
    firings = pd.DataFrame(
        [(1, D(2024, 5, 1)), (2, D(2024, 6, 20)), (3, D(2023, 1, 1)), (3, D(2024, 3, 1))],
        columns=["account_id", "fired_on"],
    )
    out = metrics.predictability(churners, firings).set_index("persona_id", drop=False)
    rows = {(None if pd.isna(k) else k): r for k, r in out.iterrows()}
    assert rows[1]["churners"] == 2 and rows[1]["flagged_30"] == 1 and rows[1]["share_30"] == 50.0
    assert rows[1]["flagged_60"] == 1 and rows[1]["flagged_90"] == 0
    assert rows[2]["share_90"] == 100.0
    assert rows[None]["flagged_30"] == 0
    assert rows["all"]["share_30"] == 50.0 and rows["all"]["share_90"] == 25.0


def test_predictability_of_no_churn_is_none_not_zero():
    empty = pd.DataFrame(columns=["account_id", "persona_id", "churned_at"])
    out = metrics.predictability(empty, pd.DataFrame(columns=["account_id", "fired_on"]))
    assert out.iloc[0]["churners"] == 0 and out.iloc[0]["share_30"] is None


def test_cohort_triangle_with_an_empty_month_and_a_comeback():
    """Cohort January 2024: +1000 new in January, −400 churn in March (an account left), +400
    back in May (it returned); nothing in February or April (empty months carry the MRR on).
    Month 0 (Jan) 1000 → 100%; Feb 100%; Mar 600 → 60%; Apr 60%; May 1000 → 100%; June is
    after the last month: None. Cohort February 2024 has no movements: no MRR at month 0, so
    every cell is None rather than a division by zero."""
    movements = pd.DataFrame(
        [
            (D(2024, 1, 1), D(2024, 1, 1), 1000),
            (D(2024, 1, 1), D(2024, 3, 1), -400),
            (D(2024, 1, 1), D(2024, 5, 1), 400),
        ],
        columns=["cohort", "month", "delta"],
    )
    out = metrics.cohort_triangle(
        movements,
        cohorts=[D(2024, 1, 1), D(2024, 2, 1)],
        months=6,
        last_month=D(2024, 5, 1),
    )
    assert out[0]["start_mrr"] == 1000
    assert out[0]["cells"] == [100.0, 100.0, 60.0, 60.0, 100.0, None]
    assert out[1]["cells"] == [None] * 6


def test_portfolio_cells_of_a_day():
    """Day 2024-06-30. Three customers of persona 7, owner 5, gold, mid:
    #1 red 40, MRR 100, active, contacted 06-25 (5 days: touched for every window);
    #2 red 30, MRR 200, not active, contacted 05-01 (60 days: untouched at 14, 30 and 60, not
    90); #3 green 90, MRR 300, active, never contacted, customer since 2024-06-20 (10 days:
    untouched at none). One more of persona 0 (none), owner 0, not scored, signed 2020: never
    contacted, untouched everywhere.
    Cells: (7, 5, gold, mid, red): 2 customers, MRR 300, scored 2, score sum 70, active 1,
    untouched 14/30/60/90 = 1/1/1/0; (7, 5, gold, mid, green): 1, 300, 1, 90, 1, 0/0/0/0;
    (0, 0, silver, low, ""): 1, MRR 0, scored 0, 0, 0, 1/1/1/1."""
    accounts = pd.DataFrame(
        [
            (1, 7, 5, "gold", "mid", D(2022, 1, 1)),
            (2, 7, 5, "gold", "mid", D(2022, 1, 1)),
            (3, 7, 5, "gold", "mid", D(2024, 6, 20)),
            (4, 0, 0, "silver", "low", D(2020, 1, 1)),
        ],
        columns=["account_id", "persona_key", "owner_key", "tier", "touch_model", "customer_since"],
    )
    scores = pd.DataFrame(
        [(1, 40.0, "red"), (2, 30.0, "red"), (3, 90.0, "green")],
        columns=["account_id", "score", "colour"],
    )
    mrr = pd.DataFrame([(1, 100), (2, 200), (3, 300)], columns=["account_id", "mrr"])
    touches = pd.DataFrame(
        [(1, D(2024, 6, 25)), (2, D(2024, 5, 1))], columns=["account_id", "touched_on"]
    )
    cells = metrics.portfolio_cells(
        accounts, scores=scores, mrr=mrr, active_ids={1, 3}, last_touch=touches, day=D(2024, 6, 30)
    )
    by = {tuple(r[:5]): r for r in cells.itertuples(index=False, name=None)}
    red = by[(7, 5, "gold", "mid", "red")]
    assert red[5:] == (2, 300.0, 2, 70.0, 1, 1, 1, 1, 0)
    assert by[(7, 5, "gold", "mid", "green")][5:] == (1, 300.0, 1, 90.0, 1, 0, 0, 0, 0)
    assert by[(0, 0, "silver", "low", "")][5:] == (1, 0.0, 0, 0.0, 0, 1, 1, 1, 1)


def test_churn_forecast():
    """20 at risk, 60% saved historically: 20 × 0.4 = 8; plus 50 renewing × 4% = 2: 10."""
    assert metrics.churn_forecast(
        at_risk=20, saved_share=0.6, renewing=50, renewal_churn_share=0.04
    ) == pytest.approx(10.0)
    # no history yet: every account at risk counts as lost, renewals as kept
    assert (
        metrics.churn_forecast(at_risk=5, saved_share=None, renewing=9, renewal_churn_share=None)
        == 5
    )


def test_nps():
    """10 answers: 5 promoters, 2 detractors: 50% − 20% = 30."""
    assert metrics.nps(promoters=5, detractors=2, responses=10) == 30.0
    assert metrics.nps(promoters=0, detractors=0, responses=0) is None


def test_average_lifetime_in_months():
    """304.4 and 608.8 days: 10 and 20 months, 15 on average."""
    churners = pd.DataFrame(
        {
            "customer_since": [D(2023, 1, 1), D(2022, 1, 1)],
            "churned_at": [
                D(2023, 1, 1) + dt.timedelta(days=304.4),
                D(2022, 1, 1) + dt.timedelta(days=609),
            ],
        }
    )
    assert metrics.average_lifetime_months(churners) == pytest.approx(15.0, abs=0.05)
    assert metrics.average_lifetime_months(churners.iloc[:0]) is None


def test_risk_cells():
    """Persona 1 owner 9: accounts 1 (at risk, renewing too: counted at risk only), 2
    (renewing), 3 (neither); persona 2 owner 9: account 4 (at risk). History: persona 1 owner
    9 kept 3 and lost 1; a persona with history but no customer today still gets its row."""
    customers = pd.DataFrame(
        [(1, 1, 9), (2, 1, 9), (3, 1, 9), (4, 2, 9)],
        columns=["account_id", "persona_key", "owner_key"],
    )
    history = pd.DataFrame(
        [(1, 9, 3, 1, 4, 1), (5, 9, 0, 2, 0, 0)],
        columns=["persona_key", "owner_key", "retained", "lost", "renewals", "renewals_lost"],
    )
    out = metrics.risk_cells(customers, at_risk={1, 4}, renewing={1, 2}, history=history)
    rows = {(r.persona_key, r.owner_key): r for r in out.itertuples()}
    assert (rows[(1, 9)].customers, rows[(1, 9)].at_risk, rows[(1, 9)].renewing) == (3, 1, 1)
    assert (rows[(1, 9)].retained_12m, rows[(1, 9)].lost_12m) == (3, 1)
    assert (rows[(2, 9)].at_risk, rows[(2, 9)].renewing) == (1, 0)
    assert rows[(5, 9)].customers == 0 and rows[(5, 9)].lost_12m == 2
