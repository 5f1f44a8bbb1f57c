"""Health scoring maths: pure functions from DataFrames to DataFrames, no database.

An indicator maps its raw value to 0-100 piecewise linearly: the `bad` value scores 0, the
`good` value 100, in between is interpolated and beyond is clamped (so direction is the order
of bad and good). The account's score is the weighted mean of the indicators that have data;
a missing indicator's weight is redistributed over the others and the indicator is listed as
missing. Scores are whole numbers (half up), so the colour bands 0-50 / 51-75 / 76-100 are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class IndicatorSpec:
    key: str  # the column of the raw frame
    measure: str
    bad: float
    good: float
    weight: float
    window: int | None = None
    metric: str = ""


@dataclass(frozen=True)
class ModelSpec:
    id: int | None
    version: int
    red_max: int
    yellow_max: int
    indicators: tuple[IndicatorSpec, ...]


def indicator_score(raw: pd.Series, bad: float, good: float) -> pd.Series:
    """0 at `bad`, 100 at `good`, linear between, clamped outside; NaN stays NaN."""
    # numpy on the values: the same arithmetic, without pandas' overhead per operation
    # (called for every indicator of every model, every scored day of a backfill).
    values = np.asarray(raw.to_numpy(dtype="float64", na_value=np.nan))
    scaled = np.clip((values - float(bad)) / (float(good) - float(bad)), 0.0, 1.0) * 100.0
    return pd.Series(scaled, index=raw.index, name=raw.name)


def round_half_up(values: pd.Series) -> pd.Series:
    return np.floor(values + 0.5)


def colour_for(score: pd.Series, red_max: int, yellow_max: int) -> pd.Series:
    colour = np.select(
        [score.isna(), score <= red_max, score <= yellow_max],
        ["none", "red", "yellow"],
        default="green",
    )
    return pd.Series(colour, index=score.index, dtype="object")


def score_frame(raw: pd.DataFrame, model: ModelSpec) -> pd.DataFrame:
    """Score every row of `raw` (index: account id; a column per indicator key).

    Returns, per account: `score` (0-100 or NaN when no indicator had data), `colour`,
    `s:<key>` (each indicator's 0-100 score, NaN when missing) and `w:<key>` (the share of the
    score each indicator carried after redistribution, 0 when missing).
    """
    keys = [ind.key for ind in model.indicators]
    scores = pd.DataFrame(
        {ind.key: indicator_score(raw[ind.key], ind.bad, ind.good) for ind in model.indicators},
        index=raw.index,
    )
    weights = pd.Series({ind.key: float(ind.weight) for ind in model.indicators})
    available = scores.notna()
    weight_present = available.mul(weights, axis=1)
    total = weight_present.sum(axis=1)
    share = weight_present.div(total.where(total > 0), axis=0).fillna(0.0)
    mean = (scores.fillna(0.0) * share).sum(axis=1).where(total > 0)
    out = pd.DataFrame(index=raw.index)
    out["score"] = round_half_up(mean)
    out["colour"] = colour_for(out["score"], model.red_max, model.yellow_max)
    for key in keys:
        out[f"s:{key}"] = scores[key]
        out[f"w:{key}"] = share[key]
    return out


def changes(current: pd.Series, previous: pd.Series) -> pd.Series:
    """Score change against an earlier day's score (NaN where either is missing)."""
    return (current - previous.reindex(current.index)).astype("float64")
