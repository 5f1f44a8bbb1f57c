"""The reports' maths, pure: ratios that are None (shown "—") rather than a division by zero,
the finance definitions of GRR and NRR, medians from day histograms, predictability of churn,
the cohort triangle, the churn forecast and the effect of playbooks against their comparison
group. No database: reports/selectors.py reads the rows, reports/catalogue.py calls these, and
the same figures feed the page, the CSV export and `manage.py report`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

PREDICTABILITY_LEADS = (30, 60, 90)
# A retention firing more than a year before the churn did not flag that churn.
PREDICTABILITY_LOOKBACK_DAYS = 365


def ratio(numerator, denominator) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by (shown "—")."""
    if denominator is None or numerator is None:
        return None
    denominator = float(denominator)
    if denominator == 0 or math.isnan(denominator):
        return None
    return float(numerator) / denominator


def pct(numerator, denominator) -> float | None:
    """The share as a percentage (0-100), or None with no denominator."""
    value = ratio(numerator, denominator)
    return None if value is None else 100.0 * value


# -- retention from the MRR ledger --------------------------------------------------------


@dataclass(frozen=True)
class Retention:
    """Retention over a period for the accounts active at its start (the base)."""

    start_mrr: float  # the base's MRR at the period's start
    churned: float  # MRR the base lost to churn (positive)
    contraction: float  # MRR the base lost to downgrades (positive)
    expansion: float  # MRR the base gained (upgrades, add-ons, coming back)
    # churned + contraction with each account's losses capped at its start MRR (an account
    # that expanded and then churned loses no more than it started with); None: uncapped
    gross_loss: float | None = None

    @property
    def grr(self) -> float | None:
        """Gross revenue retention, %: (start − churned − contraction) / start."""
        loss = self.churned + self.contraction if self.gross_loss is None else self.gross_loss
        return pct(self.start_mrr - loss, self.start_mrr or 0)

    @property
    def nrr(self) -> float | None:
        """Net revenue retention, %: (start − churned − contraction + expansion) / start."""
        return pct(
            self.start_mrr - self.churned - self.contraction + self.expansion,
            self.start_mrr or 0,
        )


def retention(*, start_mrr, churned, contraction, expansion, gross_loss=None) -> Retention:
    return Retention(
        start_mrr=float(start_mrr or 0),
        churned=float(churned or 0),
        contraction=float(contraction or 0),
        expansion=float(expansion or 0),
        gross_loss=None if gross_loss is None else float(gross_loss),
    )


def mrr_bridge(*, start, new, expansion, reactivation, contraction, churned) -> float:
    """The MRR at the period's end from its start and the ledger's movements in between (all
    accounts): start + new + expansion + reactivation − contraction − churned."""
    return (
        float(start)
        + float(new)
        + float(expansion)
        + float(reactivation)
        - float(contraction)
        - float(churned)
    )


# -- medians ------------------------------------------------------------------------------


def median_from_counts(counts: Iterable[tuple[float, int]]) -> float | None:
    """The median of a distribution given as (value, how many) pairs, in any order; the mean
    of the two middle values when the count is even. None for no values."""
    pairs = sorted((float(v), int(n)) for v, n in counts if n and v is not None)
    total = sum(n for _, n in pairs)
    if total == 0:
        return None
    wanted = [(total - 1) // 2, total // 2]  # 0-based positions of the middle value(s)
    found, seen = [], 0
    for value, n in pairs:
        while wanted and wanted[0] < seen + n:
            found.append(value)
            wanted.pop(0)
        seen += n
    return sum(found) / len(found)


def activation_summary(rows: Iterable[tuple[dt.date, dt.date | None]]) -> dict:
    """Of accounts given as (first subscription start, activation date or None): how many
    started, how many are activated, that share in %, and the median days from the start to
    the activation among the activated."""
    rows = list(rows)
    days = [(activated - start).days for start, activated in rows if activated is not None]
    return {
        "started": len(rows),
        "activated": len(days),
        "activated_pct": pct(len(days), len(rows)),
        "median_days": median_from_counts((d, 1) for d in days),
    }


def activation_summary_from_counts(counts: Iterable[tuple[int | None, int]]) -> dict:
    """activation_summary of accounts given as (days from the start to the activation, or
    None when not activated; how many accounts)."""
    counts = [(days, int(n)) for days, n in counts]
    started = sum(n for _, n in counts)
    activated = sum(n for days, n in counts if days is not None)
    return {
        "started": started,
        "activated": activated,
        "activated_pct": pct(activated, started),
        "median_days": median_from_counts((d, n) for d, n in counts if d is not None),
    }


# -- triggers -----------------------------------------------------------------------------

# What "converted" means for each kind of playbook: the outcome a trigger of that kind is for.
SUCCESS_OUTCOME = {
    "expansion": "won",
    "retention": "retained",
    "onboarding": "activated",
    "renewal": "retained",
    "custom": "done",
}
MIN_RANK_SAMPLE = 5  # playbooks a trigger needs before it is ranked best or worst


def conversion(*, successes: int, playbooks: int) -> float | None:
    """Of the playbooks a trigger made, the share that reached its kind's success outcome."""
    return pct(successes, playbooks)


def save_rate(*, retained: int, churned: int) -> float | None:
    """Of the accounts whose risk was real (retained or churned), the share kept."""
    return pct(retained, retained + churned)


def rank_triggers(rows: list[dict], *, key: str = "conversion", n: int = 3) -> dict:
    """Best and worst rows by `key` among those with at least MIN_RANK_SAMPLE playbooks
    (`sample`); ties go to the larger sample, then the name. Rows below the sample size are
    listed as too few to rank."""
    ranked = [r for r in rows if r.get(key) is not None and r["sample"] >= MIN_RANK_SAMPLE]
    ranked.sort(key=lambda r: (-r[key], -r["sample"], r["name"]))
    best = ranked[:n]
    rest = [r for r in ranked if r not in best]
    worst = sorted(rest, key=lambda r: (r[key], -r["sample"], r["name"]))[:n]
    return {
        "best": best,
        "worst": worst,
        "unranked": [r for r in rows if r not in ranked],
    }


# -- churn predictability -------------------------------------------------------------------


def predictability(
    churners: pd.DataFrame,
    firings: pd.DataFrame,
    *,
    leads: tuple[int, ...] = PREDICTABILITY_LEADS,
    lookback: int = PREDICTABILITY_LOOKBACK_DAYS,
) -> pd.DataFrame:
    """Of the accounts that churned, per persona, how many had a retention firing at least
    `lead` days before their churn (and within `lookback` days of it).

    churners: account_id, persona_id (None: no persona), churned_at.
    firings: account_id, fired_on (the retention firings of those accounts).
    Out: one row per persona (persona_id None for no persona) with churners, flagged_<lead>
    and share_<lead> (%, None with no churners), plus a total row (persona_id "all")."""
    columns = ["persona_id", "churners"]
    for lead in leads:
        columns += [f"flagged_{lead}", f"share_{lead}"]
    if churners.empty:
        total = {"persona_id": "all", "churners": 0}
        for lead in leads:
            total[f"flagged_{lead}"], total[f"share_{lead}"] = 0, None
        return pd.DataFrame([total], columns=columns)
    frame = churners[["account_id", "persona_id", "churned_at"]].copy()
    frame["churned_at"] = pd.to_datetime(frame["churned_at"])
    fired = firings[["account_id", "fired_on"]].copy()
    fired["fired_on"] = pd.to_datetime(fired["fired_on"])
    both = frame.merge(fired, on="account_id", how="left")
    gap = (both["churned_at"] - both["fired_on"]).dt.days
    for lead in leads:
        hit = (gap >= lead) & (gap <= lookback)
        flagged = both.loc[hit, "account_id"].unique()
        frame[f"flag_{lead}"] = frame["account_id"].isin(flagged)
    frame["persona_id"] = (
        frame["persona_id"].astype(object).where(frame["persona_id"].notna(), None)
    )
    rows = []
    groups = [(None if pd.isna(k) else k, g) for k, g in frame.groupby("persona_id", dropna=False)]
    for persona_id, group in [*groups, ("all", frame)]:
        row = {"persona_id": persona_id, "churners": len(group)}
        for lead in leads:
            flagged = int(group[f"flag_{lead}"].sum())
            row[f"flagged_{lead}"] = flagged
            row[f"share_{lead}"] = pct(flagged, len(group))
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


# -- the next quarter's churn ---------------------------------------------------------------


def churn_forecast(
    *, at_risk: int, saved_share: float | None, renewing: int, renewal_churn_share: float | None
) -> float:
    """Accounts expected to churn: those at risk that the team historically fails to save,
    plus those renewing that historically leave at renewal. A share not known yet (no history)
    counts as 0 for renewals and as 0 saved (every account at risk lost) for risk, so a new
    organization does not plan for no churn."""
    lost = 1.0 - (saved_share if saved_share is not None else 0.0)
    return at_risk * lost + renewing * (renewal_churn_share or 0.0)


# -- cohorts --------------------------------------------------------------------------------


def cohort_triangle(
    movements: pd.DataFrame, *, cohorts: list[dt.date], months: int, last_month: dt.date
) -> list[dict]:
    """MRR retention by start month: for each cohort (the accounts that became customers in
    that month), its MRR at the end of each later month as a share of its MRR at the end of
    its first month (month 0).

    movements: cohort (first of month), month (first of month), delta (the MRR ledger's
    movements of the cohort's accounts, summed per month). Out: per cohort, accounts (given in
    a `accounts` column of the first row per cohort, if any), start MRR and `cells`: a list of
    `months` percentages, None for months not reached yet (after `last_month`) or with no MRR
    at month 0."""
    frame = movements.copy()
    if not frame.empty:
        frame["cohort"] = pd.to_datetime(frame["cohort"]).dt.date
        frame["month"] = pd.to_datetime(frame["month"]).dt.date
        frame["delta"] = frame["delta"].astype("float64")
    out = []
    for cohort in cohorts:
        mine = frame[frame["cohort"] == cohort] if not frame.empty else frame
        by_month = (
            mine.groupby("month")["delta"].sum() if not mine.empty else pd.Series(dtype=float)
        )
        # the MRR carried into the cohort's first month (movements dated before its start,
        # e.g. a contract signed ahead) counts in month 0
        running = float(by_month[by_month.index < cohort].sum()) if len(by_month) else 0.0
        values = []
        for k in range(months):
            month = _add_months(cohort, k)
            if month > last_month:
                values.append(None)
                continue
            running += float(by_month.get(month, 0.0))
            values.append(running)
        start = values[0] if values and values[0] is not None else None
        cells = [
            None if v is None or not start or start <= 0 else round(100.0 * v / start, 1)
            for v in values
        ]
        out.append({"cohort": cohort, "start_mrr": start, "cells": cells})
    return out


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


# -- the portfolio snapshot ------------------------------------------------------------------

UNTOUCHED_DAYS = (14, 30, 60, 90)
ACTIVE_DAYS = 30


def portfolio_cells(
    accounts: pd.DataFrame,
    *,
    scores: pd.DataFrame,
    mrr: pd.DataFrame,
    active_ids: Iterable[int],
    last_touch: pd.DataFrame,
    day: dt.date,
) -> pd.DataFrame:
    """One day's portfolio per persona, owner, tier, touch model and colour.

    accounts: account_id, persona_key, owner_key, tier, touch_model, customer_since (the
    customers on `day`). scores: account_id, score, colour (that day's). mrr: account_id, mrr
    (on that day, from the ledger). active_ids: accounts that used the product in the 30 days
    up to `day`. last_touch: account_id, touched_on (the last contact logged by then).
    An account never contacted counts from the day it became a customer."""
    keys = ["persona_key", "owner_key", "tier", "touch_model", "colour"]
    out_columns = [
        *keys,
        "customers",
        "mrr",
        "scored",
        "score_sum",
        "active_30d",
        *[f"untouched_{d}" for d in UNTOUCHED_DAYS],
    ]
    if accounts.empty:
        return pd.DataFrame(columns=out_columns)
    frame = accounts.set_index("account_id")
    s = scores.set_index("account_id") if not scores.empty else None
    frame["score"] = s["score"].reindex(frame.index) if s is not None else np.nan
    frame["colour"] = s["colour"].reindex(frame.index).fillna("") if s is not None else ""
    frame.loc[frame["score"].isna() & (frame["colour"] == "none"), "colour"] = ""
    m = mrr.set_index("account_id")["mrr"] if not mrr.empty else pd.Series(dtype=float)
    frame["mrr"] = m.reindex(frame.index).astype("float64").fillna(0.0)
    frame["active"] = frame.index.isin(list(active_ids))
    touched = (
        last_touch.set_index("account_id")["touched_on"] if not last_touch.empty else pd.Series()
    )
    since = pd.to_datetime(frame["customer_since"])
    last = pd.to_datetime(touched.reindex(frame.index))
    last = last.where(last.notna(), since)
    age = (pd.Timestamp(day) - last).dt.days
    for d in UNTOUCHED_DAYS:
        # no contact and no signing date: as untouched as can be
        frame[f"untouched_{d}"] = (age >= d) | age.isna()
    frame["scored"] = frame["score"].notna()
    frame["score_sum"] = frame["score"].fillna(0.0)
    frame["customers"] = 1
    for key in ("tier", "touch_model"):
        frame[key] = frame[key].fillna("")
    grouped = frame.groupby(keys, dropna=False).agg(
        customers=("customers", "sum"),
        mrr=("mrr", "sum"),
        scored=("scored", "sum"),
        score_sum=("score_sum", "sum"),
        active_30d=("active", "sum"),
        **{f"untouched_{d}": (f"untouched_{d}", "sum") for d in UNTOUCHED_DAYS},
    )
    out = grouped.reset_index()
    out["mrr"] = out["mrr"].round(2)
    for column in (
        "customers",
        "scored",
        "active_30d",
        *[f"untouched_{d}" for d in UNTOUCHED_DAYS],
    ):
        out[column] = out[column].astype("int64")
    return out[out_columns]


# -- playbook effectiveness ----------------------------------------------------------------


def mean(total, count) -> float | None:
    return ratio(total, count)


def lift(change: float | None, baseline: float | None) -> float | None:
    """How many points more the health moved after the playbooks than in the comparison
    group (None when either is unknown)."""
    if change is None or baseline is None:
        return None
    return change - baseline


def nps(*, promoters: int, detractors: int, responses: int) -> float | None:
    """Net promoter score: % promoters (9-10) − % detractors (0-6), −100 to 100."""
    if not responses:
        return None
    return 100.0 * (promoters - detractors) / responses


def average_lifetime_months(churners: pd.DataFrame) -> float | None:
    """The mean time from becoming a customer to churning, in months (30.44 days), over the
    churners with both dates."""
    if churners.empty:
        return None
    since = pd.to_datetime(churners["customer_since"])
    churned = pd.to_datetime(churners["churned_at"])
    days = (churned - since).dt.days.dropna()
    if days.empty:
        return None
    return float(days.mean()) / 30.44


def risk_cells(
    customers: pd.DataFrame,
    *,
    at_risk: Iterable[int],
    renewing: Iterable[int],
    history: pd.DataFrame,
) -> pd.DataFrame:
    """The day's risk per persona and owner, pure. customers: account_id, persona_key,
    owner_key (the customers that day). at_risk / renewing: account ids (an account at risk
    is not also counted renewing). history: persona_key, owner_key, retained, lost, renewals,
    renewals_lost (the year before's closed playbooks, grouped)."""
    keys = ["persona_key", "owner_key"]
    columns = [
        *keys,
        "customers",
        "at_risk",
        "renewing",
        "retained_12m",
        "lost_12m",
        "renewals_12m",
        "renewals_lost_12m",
    ]
    frame = customers.copy()
    risky = set(at_risk)
    frame["at_risk"] = frame["account_id"].isin(risky)
    frame["renewing"] = frame["account_id"].isin(set(renewing) - risky)
    frame["customers"] = 1
    cells = (
        frame.groupby(keys)[["customers", "at_risk", "renewing"]].sum().reset_index()
        if not frame.empty
        else pd.DataFrame(columns=[*keys, "customers", "at_risk", "renewing"])
    )
    hist = history.rename(
        columns={
            "retained": "retained_12m",
            "lost": "lost_12m",
            "renewals": "renewals_12m",
            "renewals_lost": "renewals_lost_12m",
        }
    )
    out = cells.merge(hist, on=keys, how="outer").fillna(0)
    for column in columns:
        out[column] = out[column].astype("int64")
    return out[columns]


EFFECT_VALUES = (
    "score_at_close",
    "colour",
    "score_30",
    "score_90",
    "baseline_30",
    "baseline_90",
)
SCORE_TOLERANCE_DAYS = 6


def _latest_at(rows: pd.DataFrame, scores: pd.DataFrame, offset: int) -> pd.DataFrame:
    """For each row, the account's score on closed_on + offset or the latest within the
    tolerance before it (score and colour; NaN when none)."""
    target = rows[["id", "account_id"]].copy()
    target["on"] = (pd.to_datetime(rows["closed_on"]) + pd.Timedelta(days=offset)).astype(
        "datetime64[ns]"
    )
    s = scores.rename(columns={"date": "on"}).copy()
    s["on"] = pd.to_datetime(s["on"]).astype("datetime64[ns]")
    s["account_id"] = s["account_id"].astype("int64")
    target["account_id"] = target["account_id"].astype("int64")
    merged = pd.merge_asof(
        target.sort_values("on"),
        s.sort_values("on"),
        on="on",
        by="account_id",
        direction="backward",
        tolerance=pd.Timedelta(days=SCORE_TOLERANCE_DAYS),
    )
    return merged.set_index("id")[["score", "colour"]]


def effect_updates(
    pending: pd.DataFrame, *, scores: pd.DataFrame, baselines: pd.DataFrame, day: dt.date
) -> pd.DataFrame:
    """What the playbook effect rows can know by `day`, pure: each row's score and colour
    when its playbook closed (that day's score or the latest within 6 days before), its score
    30 and 90 days later once that day has come, and the comparison group's mean change for
    its week, persona and colour (HealthBaseline: change_sum / accounts). Out: the rows that
    changed (id and EFFECT_VALUES)."""
    columns = ["id", *EFFECT_VALUES]
    if pending.empty:
        return pd.DataFrame(columns=columns)
    rows = pending.copy().set_index("id", drop=False)
    numbers = [c for c in EFFECT_VALUES if c != "colour"]
    rows[numbers] = rows[numbers].astype("float64")
    rows["colour"] = rows["colour"].astype(object).fillna("")
    before = rows[list(EFFECT_VALUES)].copy()
    closed = pd.to_datetime(rows["closed_on"])
    if scores.empty:
        scores = pd.DataFrame(columns=["account_id", "date", "score", "colour"])
    scores = scores.astype({"score": "float64"})
    at_close = _latest_at(rows, scores, 0)
    need = rows["score_at_close"].isna()
    rows.loc[need, "score_at_close"] = at_close["score"].reindex(rows.index)[need]
    colour = at_close["colour"].reindex(rows.index)
    no_colour = need & (rows["colour"] == "")
    rows.loc[no_colour, "colour"] = colour[no_colour].fillna("").astype(object)
    means = {}
    if not baselines.empty:
        b = baselines[baselines["accounts"] > 0]
        for r in b.itertuples(index=False):
            means[(r.week, int(r.horizon), int(r.persona_key), r.colour)] = float(
                r.change_sum
            ) / int(r.accounts)
    for horizon in (30, 90):
        reached = closed + pd.Timedelta(days=horizon) <= pd.Timestamp(day)
        later = _latest_at(rows, scores, horizon)["score"].reindex(rows.index)
        fill = reached & rows[f"score_{horizon}"].isna()
        rows.loc[fill, f"score_{horizon}"] = later[fill]
        known_colour = rows["colour"] != ""
        fill = reached & rows[f"baseline_{horizon}"].isna() & known_colour
        rows.loc[fill, f"baseline_{horizon}"] = [
            means.get((w, horizon, int(p), c), np.nan)
            for w, p, c in zip(
                rows.loc[fill, "week"],
                rows.loc[fill, "persona_key"],
                rows.loc[fill, "colour"],
                strict=True,
            )
        ]
    after = rows[list(EFFECT_VALUES)]
    changed = ~(
        (before.isna() & after.isna()) | (before.astype(object) == after.astype(object))
    ).all(axis=1)
    out = rows.loc[changed, columns].reset_index(drop=True)
    return out.astype(object).where(out.notna(), None)


def survey_loop(rows: list[dict], *, completed: str = "completed") -> dict:
    """Closing the loop, from one row per detractor answer (its follow-up playbook's status,
    or None; the contact's next NPS score, or None): how many had a follow-up, how many were
    contacted back (the follow-up completed), how many of those answered again, and how many
    of them turned passive or promoter (7 or more) at that next answer."""
    followed = [r for r in rows if r["followup_status"] is not None]
    contacted = [r for r in followed if r["followup_status"] == completed]
    again = [r for r in contacted if r["next_score"] is not None]
    turned = [r for r in again if r["next_score"] >= 7]
    return {
        "detractors": len(rows),
        "followed_up": len(followed),
        "contacted": len(contacted),
        "answered_again": len(again),
        "turned": len(turned),
        "turned_pct": pct(len(turned), len(again)),
    }
