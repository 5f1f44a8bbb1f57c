"""Signal frames of the demo portfolio, pure numpy/pandas: daily usage, tickets, invoices,
survey answers and interactions, drawn for chunks of accounts so memory stays bounded. For
churners (and the at-risk accounts that will churn soon) usage falls, tickets breach their
SLA, invoices go unpaid and NPS drops over the 50-120 days before the churn date; usage grows
over the 2-4 months before an expansion."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalogue import (
    INTERACTION_KIND_BY_TOUCH,
    INTERACTION_KINDS,
    INTERACTION_SUMMARIES,
    INTERACTIONS_PER_MONTH_BY_TOUCH,
    NPS_COMMENTS,
    PRODUCTS,
    SLA_HOURS,
    TICKET_PRIORITIES,
    TICKET_SUBJECTS,
    TX_PRODUCTS,
    USAGE_METRICS,
    DemoSpec,
)
from .frames import _pick_rows, _timestamps
from .words import demo_words

# Accounts x days per chunk of signal generation: bounds memory at any portfolio size.
_CELLS_PER_CHUNK = 500_000


def _risk(days: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """How far each account is into its deterioration, 0 (none) to 1 (the churn date)."""
    start = np.asarray(start, dtype=float)
    end = np.asarray(end, dtype=float)
    span = np.where(start >= 0, np.maximum(end - start, 1.0), 1.0)
    r = (days - start) / span
    return np.where(start >= 0, np.clip(r, 0.0, 1.0), 0.0)


@dataclass
class SignalChunk:
    """Signals of one range of accounts. Account columns are positions in the accounts frame;
    contact columns are positions in the contacts frame (-1: none)."""

    usage: dict[str, np.ndarray]
    tickets: pd.DataFrame
    invoices: pd.DataFrame
    surveys: pd.DataFrame
    interactions: pd.DataFrame


def signal_chunks(
    accounts: pd.DataFrame,
    movements: pd.DataFrame,
    subs: pd.DataFrame,
    contacts: pd.DataFrame,
    spec: DemoSpec,
) -> Iterator[SignalChunk]:
    """Daily usage, tickets, invoices, survey answers and interactions over the window, for
    chunks of accounts in order; each chunk draws from its own stream so memory stays bounded
    whatever the portfolio size."""
    n = len(accounts)
    days_n = spec.window_days
    per_chunk = max(1, _CELLS_PER_CHUNK // days_n)
    cols = {c: accounts[c].to_numpy() for c in accounts.columns}
    tx = np.zeros(n, dtype=bool)
    tx[subs.loc[subs["product_code"].isin(TX_PRODUCTS), "account"].to_numpy()] = True
    gross = subs["mrr"] / (1 - subs["discount_pct"] / 100.0)
    disc_ratio = (
        (gross - subs["mrr"]).groupby(subs["account"]).sum() / subs.groupby("account")["mrr"].sum()
    ).reindex(range(n), fill_value=0.0)
    cols["discount_ratio"] = disc_ratio.to_numpy()
    cols["tx"] = tx
    codes = [p[0] for p in PRODUCTS]
    held = np.zeros((n, len(codes)), dtype=bool)
    held[subs["account"].to_numpy(), subs["product_code"].map(codes.index).to_numpy()] = True
    cols["held"] = held
    contact_count = np.bincount(contacts["account"].to_numpy(), minlength=n)
    cols["contact_first"] = np.cumsum(contact_count) - contact_count
    cols["contact_count"] = contact_count
    mv_acc = movements["account"].to_numpy()
    mv_day = movements["date"].to_numpy()
    mv_delta = movements["delta_mrr"].to_numpy()
    ticket_seq = 0
    for number, lo in enumerate(range(0, n, per_chunk)):
        hi = min(n, lo + per_chunk)
        rng = np.random.default_rng([spec.seed, 1 + number])
        chunk = {c: v[lo:hi] for c, v in cols.items()}
        sel = (mv_acc >= lo) & (mv_acc < hi)
        ledger = (mv_acc[sel] - lo, mv_day[sel], mv_delta[sel])
        usage = _usage(chunk, spec, rng)
        usage["account"] += lo
        tickets = _tickets(chunk, spec, rng, ticket_seq)
        ticket_seq += len(tickets)
        invoices = _invoices(chunk, ledger, spec, rng)
        surveys = _surveys(chunk, tickets, spec, rng)
        interactions = _interactions(chunk, spec, rng)
        for frame in (tickets, invoices, surveys, interactions):
            frame["account"] += lo
        yield SignalChunk(usage, tickets, invoices, surveys, interactions)


def _grid(chunk: dict, spec: DemoSpec):
    """Days of the window as a row, and per-account columns, for (accounts x days) maths."""
    days = np.arange(spec.window_start, spec.today_day)[None, :]
    since = chunk["since"][:, None]
    churn = chunk["churn_day"][:, None]
    alive = (days >= since) & ((churn < 0) | (days < churn))
    risk = _risk(days, chunk["risk_start"][:, None], chunk["risk_end"][:, None])
    return days, alive, risk


def _usage(chunk: dict, spec: DemoSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Rows only for days with use: how often an account uses the product (frequency) and how
    much (volume) both fall as it deteriorates and rise before an expansion."""
    days, alive, risk = _grid(chunk, spec)
    dow = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    doy = (days - days.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]")
           .astype(np.int64))  # fmt: skip
    weekend = chunk["weekend"][:, None]
    weekly = np.where(
        dow == 5,
        np.where(weekend, 0.85, 0.25),
        np.where(dow == 6, np.where(weekend, 0.6, 0.1), 1.0),
    )
    used_p = chunk["active_p"][:, None] * np.where(dow < 5, 1.0, np.sqrt(weekly))
    yearly = 1 + chunk["season_amp"][:, None] * np.cos(
        2 * np.pi * (doy - chunk["season_peak"][:, None]) / 365.25
    )
    trend = np.exp(chunk["trend"][:, None] * (days - spec.today_day) / 365.0)
    ramp = np.clip(0.3 + 0.7 * (days - chunk["since"][:, None]) / 60.0, 0.3, 1.0)
    grow_start = chunk["grow_start"][:, None].astype(float)
    span = np.maximum(chunk["expansion_day"][:, None] - grow_start, 1.0)
    growth = 1 + chunk["growth"][:, None] * np.clip((days - grow_start) / span, 0.0, 1.0)
    mean = (
        (chunk["seats"] * chunk["engagement"])[:, None]
        * weekly
        * yearly
        * trend
        * ramp
        * growth
        * (1 - 0.85 * risk)
        * rng.lognormal(0, 0.15, alive.shape)
    )
    used_p = used_p * (0.5 + 0.5 * ramp) * np.minimum(growth, 1.3) * (1 - 0.7 * risk)
    used = alive & (rng.random(alive.shape) < used_p)
    users = np.where(used, np.maximum(1, rng.poisson(mean)), 0)
    logins = users + rng.poisson(users * (chunk["logins_per_user"][:, None] - 1))
    txn = np.where(chunk["tx"][:, None], rng.poisson(users * chunk["tx_per_user"][:, None]), 0)
    volume = np.round(txn * chunk["ticket_value"][:, None] * rng.lognormal(0, 0.3, alive.shape), 2)
    values = np.stack([logins, users, txn, volume]).astype(float)  # metric, account, day
    present = np.stack([users > 0, users > 0, txn > 0, txn > 0])
    metric, acc, day = np.nonzero(present)  # ordered by metric, account, day
    names = np.array(USAGE_METRICS, dtype=object)[metric]
    vals = values[metric, acc, day]
    # Per held product, "product:<code>" on some days of use: the raw material of product
    # adoption. Many accounts never adopt their add-ons, more so as they deteriorate (most
    # churners never adopted the product, says the source case).
    held = chunk["held"]
    adopt_p = np.where(np.arange(held.shape[1]) == 0, 0.95, 0.7)[None, :]
    doomed = (chunk["risk_start"] >= 0)[:, None]
    adopted = held & (rng.random(held.shape) < adopt_p * np.where(doomed, 0.4, 1.0))
    extra_names, extra_acc, extra_day, extra_val = [names], [acc], [day], [vals]
    for p, (code, *_rest) in enumerate(PRODUCTS):
        if not adopted[:, p].any():
            continue
        on = used & adopted[:, p][:, None] & (rng.random(alive.shape) < 0.35 * (1 - 0.9 * risk))
        a, d = np.nonzero(on)
        extra_names.append(np.full(len(a), f"product:{code}", dtype=object))
        extra_acc.append(a)
        extra_day.append(d)
        extra_val.append(np.maximum(1, users[a, d]).astype(float))
    return {
        "metric": np.concatenate(extra_names),
        "account": np.concatenate(extra_acc),
        "date": days[0, np.concatenate(extra_day)],
        "value": np.concatenate(extra_val),
    }


def _tickets(chunk: dict, spec: DemoSpec, rng: np.random.Generator, seq: int) -> pd.DataFrame:
    days, alive, risk = _grid(chunk, spec)
    rate = chunk["ticket_rate"][:, None] * (1 + 2.5 * risk) * alive
    count = rng.poisson(rate)
    acc, day = np.nonzero(count)
    reps = count[acc, day]
    acc, day = np.repeat(acc, reps), np.repeat(day, reps)
    r = risk[acc, day]
    m = len(acc)
    d = days[0, day]
    priority = _pick_rows(
        rng, np.array([0.3, 0.45, 0.18, 0.07])[None, :] + np.outer(r, [-0.15, -0.05, 0.12, 0.08])
    )
    opened = _timestamps(d, rng.uniform(11.5, 21.5, m))
    sla = SLA_HOURS[priority]
    resolution = sla * rng.lognormal(np.log(0.45) + 1.4 * r, 0.8)
    sla_due = opened + (sla * 3600).astype(np.int64).astype("timedelta64[s]")
    closed = opened + (resolution * 3600).astype(np.int64).astype("timedelta64[s]")
    now = np.datetime64(spec.today, "s")
    still_open = closed > now
    breached = np.where(still_open, now > sla_due, closed > sla_due)
    return pd.DataFrame(
        {
            "account": acc,
            "external_id": [f"TCK-{seq + i + 1:07d}" for i in range(m)],
            "subject": np.array([demo_words(spec.locale)(t) for t in TICKET_SUBJECTS])[
                rng.integers(0, len(TICKET_SUBJECTS), m)
            ],
            "priority": TICKET_PRIORITIES[priority],
            "opened_at": opened,
            "closed_at": np.where(still_open, np.datetime64("NaT", "s"), closed),
            "sla_due_at": sla_due,
            "sla_breached": breached,
            "risk": r,
        }
    )


def _invoices(chunk: dict, ledger, spec: DemoSpec, rng: np.random.Generator) -> pd.DataFrame:
    today = spec.today_day
    months = np.arange(
        np.datetime64(spec.window_start, "D").astype("datetime64[M]"),
        np.datetime64(today - 1, "D").astype("datetime64[M]") + 1,
    )
    issue = months.astype("datetime64[D]").astype(np.int64)
    issue = issue[(issue >= spec.window_start) & (issue < today)]
    a = len(chunk["since"])
    mv_acc, mv_day, mv_delta = ledger
    mrr = np.stack(
        [np.bincount(mv_acc, weights=mv_delta * (mv_day <= d), minlength=a) for d in issue],
        axis=1,
    ) if len(issue) else np.zeros((a, 0))  # fmt: skip
    since, churn = chunk["since"][:, None], chunk["churn_day"][:, None]
    exists = (mrr > 0.5) & (issue[None, :] >= since) & ((churn < 0) | (issue[None, :] < churn))
    acc, k = np.nonzero(exists)
    m = len(acc)
    issued = issue[k]
    due = issued + 10
    r = _risk(due, chunk["risk_start"][acc], chunk["risk_end"][acc])
    amount = np.round(mrr[acc, k], 2)
    p_unpaid = 0.01 + 0.45 * r
    p_late = 0.07 + 0.4 * r + 0.3 * chunk["late_payer"][acc]
    u = rng.random(m)
    late_days = 1 + rng.exponential(8 + 25 * r).astype(np.int64)
    paid = np.where(
        u < p_unpaid,
        -1,
        np.where(u < p_unpaid + p_late, due + late_days, due - rng.integers(0, 9, m)),
    )
    paid = np.where((paid >= 0) & (paid < issued), issued, paid)
    paid = np.where(paid >= today, -1, paid)  # not paid yet
    ext = chunk["external_id"][acc]
    months_str = np.datetime_as_string(issued.astype("datetime64[D]").astype("datetime64[M]"))
    number = np.char.add(np.char.add("NF-", np.char.replace(months_str, "-", "")), "-")
    number = np.char.add(number, np.char.replace(ext.astype(str), "ACC-", ""))
    return pd.DataFrame(
        {
            "account": acc,
            "external_id": number,
            "number": number,
            "issued_on": issued,
            "due_on": due,
            "paid_on": paid,
            "amount": amount,
            "discount_amount": np.round(amount * chunk["discount_ratio"][acc], 2),
        }
    )


def _pick_contacts(chunk: dict, acc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    count = chunk["contact_count"][acc]
    return chunk["contact_first"][acc] + (rng.random(len(acc)) * count).astype(np.int64)


def _surveys(
    chunk: dict, tickets: pd.DataFrame, spec: DemoSpec, rng: np.random.Generator
) -> pd.DataFrame:
    today = spec.today_day
    a = len(chunk["since"])
    now = np.datetime64(spec.today, "s")
    # NPS: quarterly waves; each account answers some of them, sooner or later in the wave.
    waves = np.arange(spec.window_start + 20, today, 91)
    respond_p = np.array([0.55, 0.40, 0.30, 0.22])[chunk["touch_idx"]]
    answers = rng.random((a, len(waves))) < respond_p[:, None]
    acc, w = np.nonzero(answers)
    day = waves[w] + rng.integers(0, 15, len(acc))
    alive = (
        (day < today)
        & (day >= chunk["since"][acc])
        & ((chunk["churn_day"][acc] < 0) | (day < chunk["churn_day"][acc]))
    )
    acc, day = acc[alive], day[alive]
    r = _risk(day, chunk["risk_start"][acc], chunk["risk_end"][acc])
    nps = np.clip(np.round(rng.normal(8.5 + chunk["nps_bias"][acc] - 6.5 * r, 1.4)), 0, 10)
    category = np.where(nps >= 9, "promoter", np.where(nps >= 7, "passive", "detractor"))
    nps_at = _timestamps(day, rng.uniform(11, 23, len(acc)))

    # CSAT: some closed tickets get an answer within two days of closing.
    closed = tickets[tickets["closed_at"].notna()]
    ask = rng.random(len(closed)) < 0.45
    closed = closed[ask]
    csat_at = closed["closed_at"].to_numpy() + rng.integers(600, 48 * 3600, len(closed)).astype(
        "timedelta64[s]"
    )
    keep = csat_at < now
    closed, csat_at = closed[keep], csat_at[keep]
    csat_mean = 4.4 - 2.2 * closed["risk"].to_numpy() - 0.8 * closed["sla_breached"].to_numpy()
    csat = np.clip(np.round(rng.normal(csat_mean, 0.8)), 1, 5)
    csat_acc = closed["account"].to_numpy()

    comment_pick = rng.integers(0, 12, len(acc))
    w = demo_words(spec.locale)
    said = {c: [w(t) for t in texts] for c, texts in NPS_COMMENTS.items()}
    comments = [
        said[c][p % len(said[c])] if p < 5 else ""
        for c, p in zip(category, comment_pick, strict=True)
    ]
    frame = pd.DataFrame(
        {
            "account": np.concatenate([acc, csat_acc]),
            "kind": ["nps"] * len(acc) + ["csat"] * len(csat_acc),
            "score": np.concatenate([nps, csat]).astype(np.int64),
            "comment": comments + [""] * len(csat_acc),
            "answered_at": np.concatenate([nps_at, csat_at]).astype("datetime64[s]"),
        }
    )
    frame["contact"] = _pick_contacts(chunk, frame["account"].to_numpy(), rng)
    return frame


def _interactions(chunk: dict, spec: DemoSpec, rng: np.random.Generator) -> pd.DataFrame:
    days, alive, risk = _grid(chunk, spec)
    weekday = ((days + 3) % 7) < 5
    touch = chunk["touch_idx"]
    rate = INTERACTIONS_PER_MONTH_BY_TOUCH[touch][:, None] / 21.0 * weekday * alive
    onboarding = (days - chunk["since"][:, None]) < 60
    rate = rate * np.where(onboarding, 2.0, 1.0)
    # A neglected account loses its CSM's attention as it deteriorates; the others get more.
    rate = rate * np.where(chunk["neglected"][:, None], 1 - 0.9 * (risk > 0), 1 + 1.5 * risk)
    count = rng.poisson(rate)
    acc, day = np.nonzero(count)
    reps = count[acc, day]
    acc, day = np.repeat(acc, reps), np.repeat(day, reps)
    m = len(acc)
    kind = _pick_rows(rng, INTERACTION_KIND_BY_TOUCH[touch[acc]])
    kinds = INTERACTION_KINDS[kind]
    pick = rng.integers(0, 5, m)
    w = demo_words(spec.locale)
    said = {k: [w(t) for t in texts] for k, texts in INTERACTION_SUMMARIES.items()}
    summaries = [said[k][p % len(said[k])] for k, p in zip(kinds, pick, strict=True)]
    return pd.DataFrame(
        {
            "account": acc,
            "kind": kinds,
            "occurred_at": _timestamps(days[0, day], rng.uniform(11.5, 21.5, m)),
            "summary": summaries,
            "contact": _pick_contacts(chunk, acc, rng),
            "owner": chunk["owner"][acc],
        }
    )
