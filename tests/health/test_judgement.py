"""The disagreement rules on hand-built frames (pure, no database): enter after more than N
days of the model saying the opposite colour, leave when it stops, when the judgement expires,
and never for yellow."""

import datetime as dt

import pandas as pd

from health.judgement import disagreement_streaks

TODAY = dt.date(2024, 6, 30)


def d(day: int) -> dt.date:
    return dt.date(2024, 6, day)


def judgements(*rows):
    return pd.DataFrame(
        rows, columns=["judgement_id", "account_id", "says", "set_on", "expires_on"]
    )


def scores(*rows):
    return pd.DataFrame(rows, columns=["account_id", "date", "colour", "model_id"])


def daily(account, first, last, colour):
    return [(account, d(day), colour, 9) for day in range(first, last + 1)]


def test_enters_after_more_than_n_days_of_the_opposite_colour():
    """CSM says green from 1 Jun. The model: yellow 1-15 Jun, red 16-30 Jun: an unbroken run of
    15 days (16..30, both counted). With N = 14, 15 > 14: in the queue. With N = 15: not yet."""
    j = judgements((1, 100, "green", d(1), d(30)))
    s = scores(*daily(100, 1, 15, "yellow"), *daily(100, 16, 30, "red"))
    out = disagreement_streaks(j, s, today=TODAY, min_days=14)
    assert out[["judgement_id", "since", "latest", "days", "model_colour"]].values.tolist() == [
        [1, d(16), d(30), 15, "red"]
    ]
    assert disagreement_streaks(j, s, today=TODAY, min_days=15).empty


def test_leaves_when_the_model_stops_disagreeing_or_the_judgement_expires():
    """Red 1-29 Jun, then yellow on 30 Jun: the latest score no longer disagrees. And a
    judgement that expired on 29 Jun is out on 30 Jun whatever the model says."""
    stopped = scores(*daily(100, 1, 29, "red"), (100, d(30), "yellow", 9))
    j = judgements((1, 100, "green", d(1), d(30)))
    assert disagreement_streaks(j, stopped, today=TODAY, min_days=14).empty
    expired = judgements((1, 100, "green", d(1), d(29)))
    red = scores(*daily(100, 1, 30, "red"))
    assert disagreement_streaks(expired, red, today=TODAY, min_days=14).empty


def test_only_days_since_the_judgement_count_and_yellow_never_disagrees():
    """The model was red all month, but the CSM said green on 20 Jun: 20..30 is 11 days, not
    more than 14. A CSM saying red while the model is green is the reverse case: in (30 days).
    A CSM saying yellow disagrees with nobody."""
    red = scores(*daily(100, 1, 30, "red"))
    late = judgements((1, 100, "green", d(20), d(30)))
    assert disagreement_streaks(late, red, today=TODAY, min_days=14).empty
    green = scores(*daily(200, 1, 30, "green"))
    reverse = judgements((2, 200, "red", d(1), d(30)))
    out = disagreement_streaks(reverse, green, today=TODAY, min_days=14)
    assert out["days"].tolist() == [30] and out["model_colour"].tolist() == ["green"]
    yellow = judgements((3, 200, "yellow", d(1), d(30)))
    assert disagreement_streaks(yellow, green, today=TODAY, min_days=14).empty


def test_a_broken_run_starts_again():
    """Red 1-10, yellow 11, red 12-30: the run is 12..30, 19 days."""
    s = scores(*daily(100, 1, 10, "red"), (100, d(11), "yellow", 9), *daily(100, 12, 30, "red"))
    j = judgements((1, 100, "green", d(1), d(30)))
    out = disagreement_streaks(j, s, today=TODAY, min_days=14)
    assert out["since"].tolist() == [d(12)] and out["days"].tolist() == [19]
