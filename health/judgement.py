"""The disagreement rules, pure: when does a CSM's judgement and the model's colour disagree
long enough for a manager to look?

A judgement says green or red (its override colour, or its sentiment read as a band: 4-5
green, 1-2 red; yellow never disagrees). The model disagrees on a scored day when it says the
opposite (red against green, green against red). An account enters the queue when the model
has disagreed on every scored day of an unbroken run that ends on its latest score and spans
more than `min_days` calendar days (first disagreeing day to the latest, both counted), all on
or after the day the judgement was set. It leaves when the model's latest colour stops
disagreeing, when the judgement expires or is replaced, or when a manager resolves it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

OPPOSITE = {"green": "red", "red": "green"}


def disagreement_streaks(
    judgements: pd.DataFrame, scores: pd.DataFrame, *, today: dt.date, min_days: int
) -> pd.DataFrame:
    """judgements: judgement_id, account_id, says (colour), set_on, expires_on.
    scores: account_id, date, colour, model_id.
    Returns the disagreements: judgement_id, account_id, says, model_colour, since (the first
    disagreeing day of the run), latest (the latest scored day), days, model_id."""
    columns = [
        "judgement_id",
        "account_id",
        "says",
        "model_colour",
        "since",
        "latest",
        "days",
        "model_id",
    ]
    live = judgements[
        judgements["says"].isin(list(OPPOSITE))
        & (pd.to_datetime(judgements["expires_on"]) >= pd.Timestamp(today))
    ]
    if live.empty or scores.empty:
        return pd.DataFrame(columns=columns)
    merged = scores.merge(live, on="account_id")
    merged = merged[pd.to_datetime(merged["date"]) >= pd.to_datetime(merged["set_on"])]
    merged = merged.sort_values(["judgement_id", "date"])
    merged["disagrees"] = merged["colour"] == merged["says"].map(OPPOSITE)
    out = []
    for judgement_id, group in merged.groupby("judgement_id", sort=True):
        last = group.iloc[-1]
        if not last["disagrees"]:
            continue
        agreeing = group[~group["disagrees"]]
        run = group if agreeing.empty else group[group["date"] > agreeing["date"].max()]
        since, latest = run["date"].min(), last["date"]
        days = (pd.Timestamp(latest) - pd.Timestamp(since)).days + 1
        if days > min_days:
            out.append(
                [
                    judgement_id,
                    last["account_id"],
                    last["says"],
                    last["colour"],
                    since,
                    latest,
                    days,
                    last["model_id"],
                ]
            )
    return pd.DataFrame(out, columns=columns)
