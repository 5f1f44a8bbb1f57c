"""Why a score moved: the split by indicator on hand-computed pairs of days (pure, no database)."""

import pytest

from health.explain import Day, explain_move, top_movers

USAGE = "usage_frequency:30:logins"
TICKETS = "tickets_over_sla:90"
NPS = "nps_latest:365"


def pair():
    """Weights usage 3, tickets 1, NPS 1 (shares 0.6 / 0.2 / 0.2 with all three present).

    from (2024-06-01, version 1): usage raw 18 scores 60 -> 60 × 0.6 = 36
                                   tickets raw 0 scores 100 -> 100 × 0.2 = 20
                                   NPS raw 9 scores 90 -> 90 × 0.2 = 18;  score 36+20+18 = 74
    to (2024-06-30, version 2):   usage raw 9 scores 30, share 3/4 -> 22.5
                                   tickets raw 1 scores 50, share 1/4 -> 12.5
                                   NPS missing (weight re-shared) -> 0;  score 35
    change 35 − 74 = −39 = usage (22.5 − 36 = −13.5) + tickets (12.5 − 20 = −7.5)
                         + NPS (0 − 18 = −18); rounding 0.
    """
    before = Day(
        date="2024-06-01",
        score=74,
        colour="yellow",
        model_id=7,
        model_version=1,
        breakdown={USAGE: [18.0, 60.0, 0.6], TICKETS: [0.0, 100.0, 0.2], NPS: [9.0, 90.0, 0.2]},
        model_name="Default",
    )
    after = Day(
        date="2024-06-30",
        score=35,
        colour="red",
        model_id=7,
        model_version=2,
        breakdown={USAGE: [9.0, 30.0, 0.75], TICKETS: [1.0, 50.0, 0.25], NPS: [None, None, 0.0]},
        model_name="Default",
    )
    return before, after


def test_the_change_splits_by_indicator_by_hand():
    out = explain_move(*pair())
    assert out["change"] == -39
    by_key = {line["key"]: line for line in out["lines"]}
    assert by_key[USAGE]["contribution"] == -13.5
    assert by_key[TICKETS]["contribution"] == -7.5
    assert by_key[NPS]["contribution"] == -18.0
    assert out["rounding"] == 0.0
    # largest move first
    assert [line["key"] for line in out["lines"]] == [NPS, USAGE, TICKETS]


def test_reshared_weights_and_the_missing_indicator_are_said():
    out = explain_move(*pair())
    by_key = {line["key"]: line for line in out["lines"]}
    assert out["reshared"] is True
    assert by_key[USAGE]["reshared"] and by_key[TICKETS]["reshared"]
    assert not by_key[NPS]["reshared"] and by_key[NPS]["missing_on"] == ["to"]
    assert out["to"]["missing"] == [NPS] and out["from"]["missing"] == []


def test_the_raw_values_behind_each_move_read_as_words():
    by_key = {line["key"]: line for line in explain_move(*pair())["lines"]}
    assert by_key[USAGE]["text"] == "active 18 → 9 of the last 30 days (logins)"
    assert by_key[TICKETS]["text"] == "tickets over SLA in the last 90 days: 0 → 1"
    assert by_key[NPS]["text"] == "latest NPS answer 9 → no data"


def test_a_model_version_change_is_its_own_line():
    before, after = pair()
    out = explain_move(before, after)
    assert out["model_change"] == {
        "from_model": "Default",
        "to_model": "Default",
        "from_version": 1,
        "to_version": 2,
        "same_model": True,
    }
    same = Day(**{**after.__dict__, "model_version": 1})
    assert explain_move(before, same)["model_change"] is None


def test_rounding_is_its_own_line_so_the_lines_add_up():
    """Two indicators, weights 1 and 1 (shares 0.5, 0.5).
    from: 61 × 0.5 + 40 × 0.5 = 50.5 -> stored 51;  to: 61 × 0.5 + 39 × 0.5 = 50 -> 50.
    change −1; the second indicator contributes 19.5 − 20 = −0.5; rounding −1 − (−0.5) = −0.5.
    Nothing was missing on either day, so nothing is re-shared."""
    a = Day("2024-06-01", 51, "yellow", 1, 1, {USAGE: [6.1, 61.0, 0.5], TICKETS: [3.0, 40.0, 0.5]})
    b = Day("2024-06-02", 50, "red", 1, 1, {USAGE: [6.1, 61.0, 0.5], TICKETS: [3.0, 39.0, 0.5]})
    out = explain_move(a, b)
    assert out["change"] == -1
    assert [line["contribution"] for line in out["lines"]] == [-0.5, 0.0]
    assert out["rounding"] == -0.5
    assert out["reshared"] is False


def test_top_movers_leave_out_indicators_that_did_not_move():
    a = Day("2024-06-01", 51, "yellow", 1, 1, {USAGE: [6.1, 61.0, 0.5], TICKETS: [3.0, 40.0, 0.5]})
    b = Day("2024-06-02", 50, "red", 1, 1, {USAGE: [6.1, 61.0, 0.5], TICKETS: [3.0, 39.0, 0.5]})
    assert top_movers(a, b) == [{"label": "Tickets over SLA", "contribution": -0.5}]


@pytest.mark.parametrize("missing_side", ["from", "to"])
def test_a_day_without_score_gives_no_change(missing_side):
    before, after = pair()
    if missing_side == "from":
        before = Day(**{**before.__dict__, "score": None})
    else:
        after = Day(**{**after.__dict__, "score": None})
    out = explain_move(before, after)
    assert out["change"] is None and out["rounding"] is None
