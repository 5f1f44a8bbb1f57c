"""Model fitness maths, pure: does the score separate accounts that churned from those that
stayed, 30/60/90 days ahead?

For a lead L, each churner contributes its score L days before its churn date, and each account
that stayed contributes its score on one reference date (the median of the churners' dates, so
both groups are measured in the same season). Reported per lead:
- AUC: the probability that a random stayer scored higher than a random churner (ties count
  half); 0.5 is a coin, 1.0 perfect separation.
- per colour band: accounts, churners, churn rate (churners / accounts in the band).
- the share of churners that were red beforehand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLOURS = ("red", "yellow", "green")


def auc(stayers: pd.Series, churners: pd.Series) -> float | None:
    """Mann-Whitney AUC of stayers' scores above churners' (average ranks for ties)."""
    s = stayers.dropna().to_numpy(dtype="float64")
    c = churners.dropna().to_numpy(dtype="float64")
    if len(s) == 0 or len(c) == 0:
        return None
    ranks = pd.Series(np.concatenate([s, c])).rank(method="average").to_numpy()
    u = ranks[: len(s)].sum() - len(s) * (len(s) + 1) / 2.0
    return float(u / (len(s) * len(c)))


def lead_fitness(churners: pd.DataFrame, stayers: pd.DataFrame) -> dict:
    """Both frames have columns score and colour (one row per account)."""
    churners = churners.dropna(subset=["score"])
    stayers = stayers.dropna(subset=["score"])
    bands = {}
    for colour in COLOURS:
        n_churned = int((churners["colour"] == colour).sum())
        n_total = n_churned + int((stayers["colour"] == colour).sum())
        bands[colour] = {
            "accounts": n_total,
            "churned": n_churned,
            "churn_rate": round(n_churned / n_total, 4) if n_total else None,
        }
    return {
        "churners": len(churners),
        "stayers": len(stayers),
        "auc": None if (a := auc(stayers["score"], churners["score"])) is None else round(a, 4),
        "bands": bands,
        "churners_red_share": (
            round(float((churners["colour"] == "red").mean()), 4) if len(churners) else None
        ),
        "churner_mean_score": round(float(churners["score"].mean()), 1) if len(churners) else None,
        "stayer_mean_score": round(float(stayers["score"].mean()), 1) if len(stayers) else None,
    }


# Fewer churners (or accounts in a band) than this and a figure is flagged as not meaning much.
MIN_CHURNERS = 10
MIN_BAND_ACCOUNTS = 10


def indicator_fitness(churners: pd.DataFrame, stayers: pd.DataFrame, keys: list[str]) -> dict:
    """Each indicator's own fitness: its 0-100 score (columns named by key) as if it were the
    whole model. Per key: auc, coverage (share of the accounts with data), churners and
    stayers with data, and `small` when fewer than MIN_CHURNERS churners had data."""
    out = {}
    total = len(churners) + len(stayers)
    for key in keys:
        c = churners[key].dropna() if key in churners else pd.Series(dtype="float64")
        s = stayers[key].dropna() if key in stayers else pd.Series(dtype="float64")
        value = auc(s, c)
        out[key] = {
            "auc": None if value is None else round(value, 4),
            "coverage": round((len(c) + len(s)) / total, 4) if total else None,
            "churners": len(c),
            "stayers": len(s),
            "small": len(c) < MIN_CHURNERS,
        }
    return out


def flag_small_samples(entry: dict) -> dict:
    """Mark a lead's figures that rest on too few accounts to mean anything."""
    entry["small"] = entry["churners"] < MIN_CHURNERS
    for band in entry["bands"].values():
        band["small"] = band["accounts"] < MIN_BAND_ACCOUNTS
    return entry
