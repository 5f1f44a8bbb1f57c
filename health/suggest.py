"""Suggested weights, learned from the organization's own churn: a regularized logistic
regression on the indicators' 0-100 scores at a lead time, validated on a time split.

Snapshots are (account, scored day) rows with each indicator's score and whether the account
churned within `lead` days after the day. The older part of the days trains, the newer part
tests (no shuffling: the model is judged on a future it did not see). The regression says how
much each indicator's score lowers the odds of churning; the suggested weight is that effect
(negative coefficients, which would reward a worse score, become the smallest allowed weight),
rescaled to the current weights' total. Both the current and the suggested weights are then
scored on the held-out days the way the nightly run scores (a weighted mean over the
indicators with data) and compared by AUC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fitness import MIN_CHURNERS, auc

TRAIN_SHARE = 0.7
MIN_WEIGHT_SHARE = 0.02  # no indicator's suggested weight falls below 2% of the total
SEED = 20240630


def weighted_score(scores: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """The nightly run's mean: weights re-shared over the indicators with data."""
    keys = list(weights)
    w = pd.Series(weights, dtype="float64")
    present = scores[keys].notna()
    total = present.mul(w, axis=1).sum(axis=1)
    mean = scores[keys].fillna(0.0).mul(w, axis=1).sum(axis=1) / total.where(total > 0)
    return mean


def _auc_of(score: pd.Series, churned: pd.Series) -> float | None:
    value = auc(score[~churned], score[churned])
    return None if value is None else round(value, 4)


def suggest_weights(
    snapshots: pd.DataFrame,
    current: dict[str, float],
    *,
    seed: int = SEED,
    c: float = 1.0,
    progress=None,
) -> dict:
    """snapshots: date, churned (bool) and one column per indicator key (0-100 or NaN).
    Returns the split, sample sizes, suggested weights beside the current ones, and the
    held-out AUC of both; `error` instead when the data cannot support a fit."""
    from sklearn.linear_model import LogisticRegression

    keys = list(current)
    report = progress or (lambda share, note: None)
    frame = snapshots.dropna(subset=keys, how="all").sort_values("date")
    days = np.sort(frame["date"].unique())
    out: dict = {"keys": keys, "current": current, "samples": len(frame)}
    if len(days) < 2:
        return {**out, "error": "too few scored days to split in time"}
    split_day = days[max(1, int(len(days) * TRAIN_SHARE)) - 1]
    train = frame[frame["date"] <= split_day]
    test = frame[frame["date"] > split_day]
    out["split"] = {
        "train_until": str(pd.Timestamp(split_day).date()),
        "train": len(train),
        "train_churned": int(train["churned"].sum()),
        "test": len(test),
        "test_churned": int(test["churned"].sum()),
    }
    report(0.3, "split")
    if train["churned"].nunique() < 2 or test["churned"].nunique() < 2:
        return {**out, "error": "both parts of the split need churners and stayers"}
    means = train[keys].mean().fillna(50.0)
    x_train = (train[keys].fillna(means) / 100.0).to_numpy()
    fit = LogisticRegression(C=c, class_weight="balanced", max_iter=1000, random_state=seed)
    fit.fit(x_train, train["churned"].to_numpy())
    report(0.7, "fitted")
    effect = np.clip(-fit.coef_[0], 0.0, None)
    total = float(sum(current.values()))
    # no indicator lowered the odds of churning: nothing to learn, keep them equal
    even = np.full(len(keys), 1.0 / len(keys))
    shares = even if effect.sum() <= 0 else effect / effect.sum()
    shares = np.maximum(shares, MIN_WEIGHT_SHARE)
    shares = shares / shares.sum()
    suggested = {
        key: round(float(share * total), 3) for key, share in zip(keys, shares, strict=True)
    }
    churned = test["churned"].astype(bool)
    out.update(
        suggested=suggested,
        coefficients={key: round(float(v), 4) for key, v in zip(keys, fit.coef_[0], strict=True)},
        auc_current=_auc_of(weighted_score(test, current), churned),
        auc_suggested=_auc_of(weighted_score(test, suggested), churned),
        small=int(test["churned"].sum()) < MIN_CHURNERS,
    )
    report(1.0, "done")
    return out
