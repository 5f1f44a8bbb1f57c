"""The backtest's maths, pure: from the days a trigger's condition held for an account (the
replayed history) to its firings per week after the cool-down, and what became of the
accounts it fired on within the horizon (churn, expansion), beside the base rate of the same
accounts in scope. Tested with hand-computed tables (tests/configuration/test_backtest.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

HORIZON_DAYS = 90


@dataclass
class Outcome:
    """Of `judged` accounts (their horizon has passed), how many churned and expanded."""

    judged: int = 0
    churned: int = 0
    expanded: int = 0

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.judged if self.judged else None

    @property
    def expansion_rate(self) -> float | None:
        return self.expanded / self.judged if self.judged else None


@dataclass
class Backtest:
    days: list[dt.date]
    firings: list[int]  # per replayed day (one a week), after the cool-down
    accounts_fired: int = 0
    fired: Outcome = field(default_factory=Outcome)
    base: Outcome = field(default_factory=Outcome)

    @property
    def total_firings(self) -> int:
        return int(sum(self.firings))

    @staticmethod
    def _lift(rate, base) -> float | None:
        if rate is None or not base:
            return None
        return rate / base

    @property
    def churn_lift(self) -> float | None:
        return self._lift(self.fired.churn_rate, self.base.churn_rate)

    @property
    def expansion_lift(self) -> float | None:
        return self._lift(self.fired.expansion_rate, self.base.expansion_rate)

    def as_dict(self) -> dict:
        return {
            "weeks": [
                {"day": d.isoformat(), "firings": int(n)}
                for d, n in zip(self.days, self.firings, strict=True)
            ],
            "firings": self.total_firings,
            "accounts_fired": self.accounts_fired,
            "fired": _outcome_dict(self.fired),
            "base": _outcome_dict(self.base),
            "churn_lift": self.churn_lift,
            "expansion_lift": self.expansion_lift,
            "horizon_days": HORIZON_DAYS,
        }


def _outcome_dict(o: Outcome) -> dict:
    return {
        "judged": o.judged,
        "churned": o.churned,
        "expanded": o.expanded,
        "churn_rate": o.churn_rate,
        "expansion_rate": o.expansion_rate,
    }


def apply_cooldown(hits: pd.DataFrame, days: list[dt.date], cooldown_days: int) -> pd.DataFrame:
    """The firings among `hits` (columns day, account_id: the condition held and the account
    was in scope): an account fires on a replayed day unless it fired less than
    `cooldown_days` before. One vectorized step per replayed day."""
    last = pd.Series(dtype="datetime64[ns]")
    fired = []
    for day in days:
        ids = hits.loc[hits["day"] == day, "account_id"].to_numpy()
        if not len(ids):
            continue
        when = pd.Timestamp(day)
        previous = last.reindex(ids)
        age = (when - previous).dt.days
        ok = previous.isna().to_numpy() | (age.to_numpy() >= cooldown_days)
        chosen = ids[ok]
        fired.append(pd.DataFrame({"day": day, "account_id": chosen}))
        last = pd.concat([last.drop(chosen, errors="ignore"), pd.Series(when, index=chosen)])
    if not fired:
        return pd.DataFrame({"day": [], "account_id": []})
    return pd.concat(fired, ignore_index=True)


def _datetimes(days: pd.Series) -> pd.Series:
    """pd.to_datetime of a column of a few distinct dates (a replayed day on each of millions
    of rows), each date converted once."""
    codes, uniques = pd.factorize(days)
    return pd.Series(pd.to_datetime(pd.Series(uniques)).to_numpy()[codes], index=days.index)


def _outcomes(
    pairs: pd.DataFrame, churned_on: pd.Series, expansions: pd.DataFrame, today: dt.date
) -> Outcome:
    """Of `pairs` (day, account_id) whose horizon has passed by `today`: how many churned in
    (day, day + horizon], and how many had an expansion in that window."""
    if pairs.empty:
        return Outcome()
    start = _datetimes(pairs["day"])
    end = start + pd.Timedelta(days=HORIZON_DAYS)
    judged = (end <= pd.Timestamp(today)).to_numpy()
    pairs, start, end = pairs[judged], start[judged], end[judged]
    if pairs.empty:
        return Outcome()
    churn = pd.to_datetime(churned_on).reindex(pairs["account_id"]).to_numpy()
    churned = (churn > start.to_numpy()) & (churn <= end.to_numpy())
    expanded = np.zeros(len(pairs), dtype=bool)
    if not expansions.empty:
        joined = pairs.assign(_start=start.to_numpy(), _end=end.to_numpy(), _row=range(len(pairs)))
        merged = joined.merge(
            expansions.assign(date=pd.to_datetime(expansions["date"])), on="account_id"
        )
        on = merged["date"]
        inside = merged[(on > merged["_start"]) & (on <= merged["_end"])]
        expanded[inside["_row"].unique()] = True
    return Outcome(judged=len(pairs), churned=int(churned.sum()), expanded=int(expanded.sum()))


def backtest_figures(
    *,
    days: list[dt.date],
    hits: pd.DataFrame,
    population: pd.DataFrame,
    cooldown_days: int,
    churned_on: pd.Series,
    expansions: pd.DataFrame,
    today: dt.date,
) -> Backtest:
    """The backtest over replayed `days`. `hits` and `population` are (day, account_id): the
    accounts the condition held for, and every account in the trigger's scope (its persona,
    not holding its product), on each day. `churned_on` maps account ids to a churn date;
    `expansions` lists (account_id, date) of expansion movements.

    The fired outcome counts each account once, from its first firing; the base rate counts
    every (account, day) of the population, so it is the chance of the outcome within the
    horizon for an account in scope on a replayed day. Only pairs whose horizon ends by
    `today` are judged."""
    fired = apply_cooldown(hits, days, cooldown_days)
    per_day = fired.groupby("day").size() if not fired.empty else pd.Series(dtype=int)
    firings = [int(per_day.get(d, 0)) for d in days]
    first = fired.sort_values("day").drop_duplicates("account_id") if not fired.empty else fired
    return Backtest(
        days=days,
        firings=firings,
        accounts_fired=len(first),
        fired=_outcomes(first, churned_on, expansions, today),
        base=_outcomes(population, churned_on, expansions, today),
    )
