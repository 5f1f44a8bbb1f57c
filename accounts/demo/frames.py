"""Account frames of the demo portfolio, pure numpy/pandas: the accounts with the hidden *fate*
(steady, seasonal, expanding, at risk, churned) that shapes all of their signals, their
subscriptions and the MRR ledger that explains them, lifecycle stages and contacts.

About 450 lines: each frame is one long, straight-line draw, easier to follow whole than cut
into pieces."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from .catalogue import (
    ACQUISITION_CHANNELS,
    ACTIVE_DAY_P_BY_SIZE,
    BRANDS,
    CHURN_P_BY_TIER,
    CHURN_REASONS,
    CONSENT_SOURCES,
    CONTACT_ROLES_BY_TOUCH,
    DEMO_USERS,
    FIRST_NAMES,
    INDUSTRIES,
    LEGAL_SUFFIXES,
    MRR_MEDIAN_BY_TIER,
    NOTES,
    PRODUCTS,
    PRODUCTS_COUNT_BY_TIER,
    REGIONS,
    RELATIONSHIP_BY_TOUCH,
    RELATIONSHIP_CHANNELS,
    SEATS_BY_SIZE,
    SIZE_BY_TIER,
    SIZES,
    SURNAMES,
    TICKETS_PER_MONTH_BY_SIZE,
    TIER_P,
    TIERS,
    TITLES,
    TOUCH_BY_TIER,
    TOUCHES,
    WEEKEND_INDUSTRIES,
    DemoSpec,
)
from .words import demo_words


def _pick_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of `probs` (rows need not be normalized)."""
    cum = np.cumsum(probs, axis=1)
    cum = cum / cum[:, -1:]
    return (rng.random(len(probs))[:, None] > cum).sum(axis=1)


def _pick(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _company_names(
    rng: np.random.Generator, industry: np.ndarray, size: np.ndarray
) -> tuple[list[str], list[str]]:
    """Brazilian-sounding company names and their e-mail domains."""
    n = len(industry)
    pattern = _pick(rng, n, [3, 3, 2, 1, 1])
    s1 = rng.integers(0, len(SURNAMES), n)
    s2 = rng.integers(0, len(SURNAMES), n)
    brand = rng.integers(0, len(BRANDS), n)
    word = rng.integers(0, 6, n)
    suffix = rng.integers(0, 4, n)
    names, stems = [], []
    for i in range(n):
        w = INDUSTRIES[industry[i]][3][word[i]]
        a, b, br = SURNAMES[s1[i]], SURNAMES[s2[i]], BRANDS[brand[i]]
        stem = {0: f"{a} {w}", 1: f"{br} {w}", 2: f"{w} {br}", 3: f"Grupo {a}", 4: f"{a} & {b}"}[
            pattern[i]
        ]
        legal = LEGAL_SUFFIXES[size[i]][suffix[i]]
        names.append(f"{stem} {legal}".strip())
        stems.append(stem)
    counts = pd.Series(names).groupby(names, sort=False).cumcount().to_numpy()
    names = [
        nm if k == 0 else f"{nm} - Filial {k + 1}" for nm, k in zip(names, counts, strict=True)
    ]
    domains = []
    for stem, k in zip(stems, counts, strict=True):
        base = "".join(ch for ch in _ascii(stem) if ch.isalnum())[:24]
        domains.append(f"{base}{k + 1 if k else ''}.com.br")
    return names, domains


def accounts_frame(spec: DemoSpec, rng: np.random.Generator) -> pd.DataFrame:
    """One row per account: its stored fields and the hidden fate that shapes its signals.
    Days are integers (days since 1970-01-01); -1 means none."""
    n = spec.accounts
    today, w0 = spec.today_day, spec.window_start
    tier = _pick(rng, n, TIER_P)
    touch = _pick_rows(rng, TOUCH_BY_TIER[tier])
    size = _pick_rows(rng, SIZE_BY_TIER[tier])
    industry = _pick(rng, n, [i[1] for i in INDUSTRIES])
    region = _pick(rng, n, [r[1] for r in REGIONS])
    acquisition = _pick(rng, n, ACQUISITION_CHANNELS[1])
    relationship = _pick_rows(rng, RELATIONSHIP_BY_TOUCH[touch])
    mrr = np.maximum(49.0, np.round(MRR_MEDIAN_BY_TIER[tier] * rng.lognormal(0, 0.55, n), -1))
    since = today - (20 + np.minimum(rng.exponential(650, n), 9 * 365)).astype(np.int64)

    # Fates. Churners: about 16% a year, more among small tiers, dated over the last year.
    u = rng.random(n)
    churned = u < CHURN_P_BY_TIER[tier]
    churn_day = np.where(churned, today - rng.integers(1, 366, n), -1)
    # A churner was a customer for a while before; nearly half leave at a contract anniversary.
    at_anniversary = churned & (rng.random(n) < 0.45)
    since = np.where(at_anniversary, churn_day - 365 * (1 + rng.poisson(1.2, n)), since)
    too_late = churned & (since > churn_day - 75)
    since = np.where(too_late, churn_day - 75 - rng.exponential(500, n).astype(np.int64), since)
    tenure = today - since

    rest = ~churned
    at_risk = rest & (tenure > 150) & (rng.random(n) < 0.08)
    expanding = rest & ~at_risk & (tenure > 120) & (rng.random(n) < 0.14)
    seasonal = rest & ~at_risk & ~expanding & (rng.random(n) < 0.30)
    fate = np.select(
        [churned, at_risk, expanding, seasonal],
        ["churned", "at_risk", "expanding", "seasonal"],
        default="steady",
    )

    # Deterioration runs from risk_start to risk_end (the churn date, real or coming).
    decline = rng.integers(50, 121, n)
    risk_end = np.where(churned, churn_day, -1)
    risk_start = np.where(churned, np.maximum(churn_day - decline, since + 15), -1)
    # At-risk accounts started deteriorating lately and will churn soon (not stored).
    at_risk_start = today - rng.integers(10, 91, n)
    at_risk_end = np.maximum(at_risk_start + decline, today + rng.integers(5, 60, n))
    risk_start = np.where(at_risk, at_risk_start, risk_start)
    risk_end = np.where(at_risk, at_risk_end, risk_end)
    neglected = (churned | at_risk) & (rng.random(n) < 0.5)

    lo = w0 + min(30, spec.window_days // 3)
    hi = max(lo + 1, today - 3)
    expansion_day = np.where(expanding, np.maximum(rng.integers(lo, hi, n), since + 60), -1)
    grow_start = np.where(expanding, expansion_day - rng.integers(60, 121, n), -1)

    reason_idx = np.where(churned, _pick(rng, n, [r[1] for r in CHURN_REASONS]), -1)
    has_note = rng.random(n) < 0.1
    note_idx = rng.integers(0, len(NOTES), n)
    w = demo_words(spec.locale)
    notes = np.array([w(t) for t in NOTES])
    names, domains = _company_names(rng, industry, size)

    # Usage character of each account.
    seats = SEATS_BY_SIZE[size] * rng.lognormal(0, 0.35, n)
    engagement = rng.beta(6, 3, n)
    weekend = np.array([INDUSTRIES[i][0] in WEEKEND_INDUSTRIES for i in industry])
    season_amp = np.where(seasonal, rng.uniform(0.25, 0.45, n), rng.uniform(0.0, 0.08, n))
    season_peak = np.array([INDUSTRIES[i][2] for i in industry]) + rng.integers(-20, 21, n)

    frame = pd.DataFrame(
        {
            "external_id": [f"ACC-{i + 1:06d}" for i in range(n)],
            "name": names,
            "domain": domains,
            "industry": np.array([w(i[0]) for i in INDUSTRIES])[industry],
            "region": np.array([r[0] for r in REGIONS])[region],
            "region_idx": region,
            "size_band": SIZES[size],
            "size_idx": size,
            "tier": TIERS[tier],
            "tier_idx": tier,
            "touch_model": TOUCHES[touch],
            "touch_idx": touch,
            "acquisition_channel": np.array([w(c) for c in ACQUISITION_CHANNELS[0]])[acquisition],
            "relationship_channel": np.array([w(c) for c in RELATIONSHIP_CHANNELS])[relationship],
            "target_mrr": mrr,
            "since": since,
            "churn_day": churn_day,
            "churn_reason": np.where(
                churned, np.array([r[0] for r in CHURN_REASONS])[reason_idx], None
            ),
            "notes": np.where(has_note, notes[note_idx], ""),
            "fate": fate,
            "risk_start": risk_start,
            "risk_end": risk_end,
            "neglected": neglected,
            "expansion_day": expansion_day,
            "grow_start": grow_start,
            "growth": np.where(expanding, rng.uniform(0.4, 0.9, n), 0.0),
            "seats": seats,
            "engagement": engagement,
            "active_p": np.clip(ACTIVE_DAY_P_BY_SIZE[size] + rng.normal(0, 0.08, n), 0.15, 0.99),
            "weekend": weekend,
            "season_amp": season_amp,
            "season_peak": season_peak,
            "trend": rng.normal(0.0, 0.12, n),
            "logins_per_user": rng.uniform(1.3, 3.0, n),
            "tx_per_user": rng.lognormal(np.log(6), 0.6, n),
            "ticket_value": rng.lognormal(np.log(120), 0.8, n),
            "ticket_rate": TICKETS_PER_MONTH_BY_SIZE[size] * rng.lognormal(0, 0.4, n) / 30.0,
            "late_payer": rng.random(n) < 0.08,
            "nps_bias": rng.normal(0.0, 0.9, n),
        }
    )
    frame["owner"] = _owners(frame, rng)
    return frame


def _owners(accounts: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Logins of the owning CSMs: high-touch accounts to the high-touch CSMs, mid to mid, the
    rest pooled between the scaled CSMs."""
    segment = np.select(
        [accounts["touch_model"].eq("high"), accounts["touch_model"].eq("mid")],
        ["high", "mid"],
        default="scale",
    )
    owner = np.empty(len(accounts), dtype=object)
    for seg in ("high", "mid", "scale"):
        logins = [u.login for u in DEMO_USERS if u.segment == seg]
        mask = segment == seg
        owner[mask] = np.array(logins)[rng.integers(0, len(logins), mask.sum())]
    return owner


def subscriptions_frames(
    accounts: pd.DataFrame, spec: DemoSpec, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Subscriptions (account x product) and the MRR ledger that explains them: for every
    subscription, the deltas of its movements sum to its MRR when active and to 0 when
    cancelled."""
    n = len(accounts)
    today = spec.today_day
    tier = accounts["tier_idx"].to_numpy()
    fate = accounts["fate"].to_numpy()
    since = accounts["since"].to_numpy()
    churn_day = accounts["churn_day"].to_numpy()
    expansion_day = accounts["expansion_day"].to_numpy()
    end_ref = np.where(churn_day >= 0, churn_day, today)

    k = 1 + _pick_rows(rng, PRODUCTS_COUNT_BY_TIER[tier])  # products held at the start
    weights = np.array([p[3] for p in PRODUCTS[1:]])
    race = rng.exponential(1.0, (n, len(weights))) / weights  # weighted order of add-ons
    order = np.argsort(race, axis=1) + 1  # product index of each add-on, preferred first
    expanding = fate == "expanding"
    new_product = expanding & (k < len(PRODUCTS)) & (rng.random(n) < 0.6)
    upsell = expanding & ~new_product

    rows_acc, rows_prod, rows_kind = [], [], []  # kind: 0 core, 1 add-on, 2 expansion product
    rows_acc.append(np.arange(n))
    rows_prod.append(np.zeros(n, dtype=np.int64))
    rows_kind.append(np.zeros(n, dtype=np.int64))
    for j in range(len(PRODUCTS) - 1):
        held = k > j + 1
        extra = new_product & (k == j + 1)
        take = held | extra
        rows_acc.append(np.flatnonzero(take))
        rows_prod.append(order[take, j])
        rows_kind.append(np.where(extra[take], 2, 1))
    acc = np.concatenate(rows_acc)
    prod = np.concatenate(rows_prod)
    kind = np.concatenate(rows_kind)
    sort = np.lexsort((prod, acc))
    acc, prod, kind = acc[sort], prod[sort], kind[sort]
    m = len(acc)

    # Split each account's MRR between its products: the core carries most of it.
    share = np.where(prod == 0, 1.0, rng.uniform(0.15, 0.45, m))
    share = share / np.bincount(acc, weights=share, minlength=n)[acc]
    mrr = np.maximum(29.0, np.round(accounts["target_mrr"].to_numpy()[acc] * share, 0))
    discount = np.where(
        rng.random(m) < 0.15 + 0.05 * (4 - tier[acc]),
        rng.choice([5.0, 10.0, 15.0, 20.0, 25.0, 30.0], m, p=[0.25, 0.3, 0.2, 0.12, 0.08, 0.05]),
        0.0,
    )

    same_day = rng.random(m) < 0.55
    later = since[acc] + (rng.random(m) * np.maximum(1, end_ref[acc] - since[acc] - 1)).astype(
        np.int64
    )
    start = np.where(kind == 0, since[acc], np.where(same_day, since[acc], later))
    start = np.where(kind == 2, expansion_day[acc], start)
    start = np.minimum(start, end_ref[acc] - 1)

    # Movements, built column by column: (subscription row, day, kind, delta, note).
    mv_sub, mv_day, mv_kind, mv_delta, mv_note = [], [], [], [], []

    def move(rows, days, kinds, deltas, notes):
        mv_sub.append(rows)
        mv_day.append(days)
        mv_kind.append(kinds)
        mv_delta.append(deltas)
        mv_note.append(notes)

    rows = np.arange(m)
    product_names = np.array([p[1] for p in PRODUCTS])
    is_new = start == since[acc]
    initial = mrr.copy()

    # Upsell: the core subscription grew at the expansion date.
    up = upsell[acc] & (prod == 0)
    up_initial = np.round(mrr / rng.uniform(1.2, 1.6, m), 0)
    initial = np.where(up, up_initial, initial)
    # Downgrades: some stable accounts shrank their core subscription.
    stable = np.isin(fate, ["steady", "seasonal"])
    window_lo = max(spec.window_start, 0)
    down_acc = stable & (rng.random(n) < 0.04) & (today - since > 60)
    down = down_acc[acc] & (prod == 0)
    down_day = np.maximum(
        since[acc] + 30, window_lo + rng.integers(0, max(1, today - window_lo), m)
    )
    down_day = np.minimum(down_day, today - 1)
    initial = np.where(down, np.round(mrr * rng.uniform(1.15, 1.5, m), 0), initial)

    move(
        rows,
        start,
        np.where(is_new, "new", "expansion"),
        initial,
        np.where(is_new, "New contract: " + product_names[prod], "Add-on: " + product_names[prod]),
    )
    move(
        rows[up],
        expansion_day[acc][up],
        np.full(up.sum(), "expansion"),
        (mrr - initial)[up],
        np.full(up.sum(), "Upsell: more seats"),
    )
    move(
        rows[down],
        down_day[down],
        np.full(down.sum(), "contraction"),
        (mrr - initial)[down],
        np.full(down.sum(), "Downgrade: fewer seats"),
    )

    # Some stable multi-product accounts cancelled one add-on (contraction, not churn).
    cancel_acc = stable & ~down_acc & (rng.random(n) < 0.05)
    last_addon = np.zeros(m, dtype=bool)
    last_addon[np.flatnonzero(np.r_[acc[1:] != acc[:-1], True])] = True
    partial = cancel_acc[acc] & last_addon & (prod != 0) & (start < today - 30)
    partial_day = start + (rng.uniform(0.3, 1.0, m) * (today - 1 - start)).astype(np.int64)
    partial_day = np.clip(partial_day, start + 1, today - 1)
    move(
        rows[partial],
        partial_day[partial],
        np.full(partial.sum(), "contraction"),
        -mrr[partial],
        "Cancelled " + product_names[prod[partial]],
    )

    # Churn: every subscription of a churned account ends on the churn date.
    churn = churn_day[acc] >= 0
    reasons = accounts["churn_reason"].to_numpy()[acc]
    move(
        rows[churn],
        churn_day[acc][churn],
        np.full(churn.sum(), "churn"),
        -mrr[churn],
        np.array([f"Churn: {r}" for r in reasons[churn]], dtype=object),
    )

    end = np.where(churn, churn_day[acc], np.where(partial, partial_day, -1))
    cancelled = end >= 0
    until = np.where(cancelled, end, today)
    renewals = np.maximum(0, (until - start) // 365)
    renewal = np.where(cancelled, -1, start + 365 * (renewals + 1))
    ext = accounts["external_id"].to_numpy()[acc]
    codes = np.array([p[0] for p in PRODUCTS])[prod]
    subs = pd.DataFrame(
        {
            "account": acc,
            "product": prod,
            "product_code": codes,
            "external_id": ext + "-" + codes,
            "mrr": mrr,
            "start_date": start,
            "end_date": end,
            "renewal_date": renewal,
            "status": np.where(cancelled, "cancelled", "active"),
            "renewals_count": renewals,
            "discount_pct": discount,
        }
    )
    sub_rows = np.concatenate(mv_sub)
    movements = pd.DataFrame(
        {
            "subscription": sub_rows,
            "account": acc[sub_rows],
            "date": np.concatenate(mv_day),
            "kind": np.concatenate(mv_kind),
            "delta_mrr": np.concatenate(mv_delta),
            "note": np.concatenate(mv_note).astype(object),
        }
    ).sort_values(["account", "date", "subscription"], kind="stable", ignore_index=True)
    return subs, movements


def lifecycle_stages(accounts: pd.DataFrame, subs: pd.DataFrame, spec: DemoSpec) -> np.ndarray:
    today = spec.today_day
    active = subs[subs["status"] == "active"]
    next_renewal = (
        active.groupby("account")["renewal_date"].min().reindex(range(len(accounts))).to_numpy()
    )
    tenure = today - accounts["since"].to_numpy()
    return np.select(
        [
            accounts["churn_day"].to_numpy() >= 0,
            tenure < 90,
            np.nan_to_num(next_renewal, nan=1e12) - today <= 60,
            tenure < 270,
        ],
        ["churned", "onboarding", "renewal", "adoption"],
        default="ongoing",
    )


def contacts_frame(
    accounts: pd.DataFrame, spec: DemoSpec, rng: np.random.Generator
) -> pd.DataFrame:
    n = len(accounts)
    today = spec.today_day
    touch = accounts["touch_idx"].to_numpy()
    low = np.array([3, 2, 1, 1])[touch]
    high = np.array([5, 4, 3, 2])[touch]
    count = rng.integers(low, high + 1)
    acc = np.repeat(np.arange(n), count)
    total = len(acc)
    pos = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    first = rng.integers(0, len(FIRST_NAMES), total)
    last = rng.integers(0, len(SURNAMES), total)
    is_high = touch[acc] == 0
    roles = np.where(
        is_high,
        np.array(CONTACT_ROLES_BY_TOUCH["high"])[pos],
        np.array(CONTACT_ROLES_BY_TOUCH["other"])[pos],
    )
    title_pick = rng.integers(0, 10, total)
    domains = accounts["domain"].to_numpy()
    area = [REGIONS[r][2] for r in accounts["region_idx"].to_numpy()]
    area_pick = rng.integers(0, 10, total)
    digits = rng.integers(0, 10**8, total)
    names, emails, phones, titles = [], [], [], []
    for i in range(total):
        f, s, a = FIRST_NAMES[first[i]], SURNAMES[last[i]], acc[i]
        names.append(f"{f} {s}")
        emails.append(f"{_ascii(f)}.{_ascii(s)}@{domains[a]}")
        codes = area[a]
        d = digits[i]
        phones.append(f"+55 {codes[area_pick[i] % len(codes)]} 9{d // 10**4:04d}-{d % 10**4:04d}")
        options = TITLES[roles[i]]
        titles.append(options[title_pick[i] % len(options)])

    since = accounts["since"].to_numpy()[acc]
    u = rng.random(total)
    given = u < 0.88
    given_day = since + (rng.random(total) * np.maximum(1, today - since)).astype(np.int64)
    given_at = _timestamps(given_day, rng.uniform(11, 22, total))
    withdrawn = given & (rng.random(total) < 0.06)
    withdrawn_day = given_day + (rng.random(total) * np.maximum(1, today - given_day)).astype(
        np.int64
    )
    withdrawn_at = _timestamps(withdrawn_day, rng.uniform(11, 22, total))
    nat = np.datetime64("NaT", "s")
    return pd.DataFrame(
        {
            "account": acc,
            "external_id": accounts["external_id"].to_numpy()[acc] + "-C" + (pos + 1).astype(str),
            "name": names,
            "title": titles,
            "role": roles,
            "email": emails,
            "phone": phones,
            "consent_given_at": np.where(given, given_at, nat),
            "consent_source": np.where(
                given,
                np.array([demo_words(spec.locale)(t) for t in CONSENT_SOURCES])[
                    rng.integers(0, 4, total)
                ],
                "",
            ),
            "consent_withdrawn_at": np.where(withdrawn, withdrawn_at, nat),
        }
    )


def _timestamps(days: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """UTC datetime64[s] from day numbers and fractional hours of the day."""
    seconds = np.asarray(days, dtype=np.int64) * 86400 + (np.asarray(hours) * 3600).astype(np.int64)
    return seconds.astype("datetime64[s]")
