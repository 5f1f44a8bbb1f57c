"""The workspace benchmark's data plan, pure: what `prepare` writes (a year of playbooks and their
steps, opened from the organization's templates, most closed with an outcome, recent ones open
with steps due around today), the names that mark bench rows, and the load CSMs' password."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from playbooks.models import OUTCOMES_BY_KIND, PlaybookKind, PlaybookStatus, StepStatus

# Bench rows are recognisable, so --replace deletes them and nothing else.
BENCH_ORIGIN = "bench"
BENCH_ORIGIN_LABEL = "by the workspace benchmark"
BENCH_TRIGGER = "Bench: workspace alerts"
PASSWORD = "demo-pass-2026"
NO_DAY = -(10**6)  # "no date" in the day-number arrays (days relative to today)
BENCH_MAX_DAYS = 730  # how far back the playbooks' history may reach (--days)

# How often each kind of playbook is opened (split evenly between a kind's templates).
KIND_WEIGHTS = {
    PlaybookKind.RETENTION: 0.35,
    PlaybookKind.EXPANSION: 0.25,
    PlaybookKind.RENEWAL: 0.2,
    PlaybookKind.ONBOARDING: 0.15,
    PlaybookKind.CUSTOM: 0.05,
}
# How closed playbooks of each kind end, in OUTCOMES_BY_KIND's order.
OUTCOME_WEIGHTS = {
    PlaybookKind.EXPANSION: (0.45, 0.3, 0.25),
    PlaybookKind.RETENTION: (0.35, 0.45, 0.2),
    PlaybookKind.ONBOARDING: (0.8, 0.2),
    PlaybookKind.RENEWAL: (0.8, 0.1, 0.1),
    PlaybookKind.CUSTOM: (1.0,),
}
EVIDENCE = {
    PlaybookKind.RETENTION: (
        "Health score 44 is below 51; the score fell 12 points in 7 days",
        "Transacted volume fell 34% against the previous 6 months",
        "3 tickets over SLA in the last 30 days; average CSAT 2.1",
        "Invoice overdue for 38 days; discount level 25%",
    ),
    PlaybookKind.EXPANSION: (
        "Health is green; transacted volume grew 26% in 6 months",
        "Health is green; usage grew 18% against the previous 90 days",
    ),
    PlaybookKind.RENEWAL: ("Renewal in 87 days", "Renewal in 82 days"),
    PlaybookKind.ONBOARDING: ("Customer for 3 days", "Customer for 6 days"),
    PlaybookKind.CUSTOM: ("Started by hand",),
}
NOTES = (
    "Spoke to the sponsor; all good.",
    "Left a voicemail, followed up by mail.",
    "Shared the plan in writing.",
    "Customer asked for a follow-up next month.",
)
SNOOZE_REASONS = ("Customer on holiday", "Waiting for the finance team", "Sponsor asked to wait")
ALERT_EVIDENCE = "Health score 47 is below 51; the score fell 11 points in 7 days"


@dataclass(frozen=True)
class StepSpec:
    order: int
    title: str
    instructions: str
    offset: int
    to_manager: bool


@dataclass(frozen=True)
class TemplateSpec:
    id: int
    kind: str
    name: str
    product_id: int | None
    steps: tuple[StepSpec, ...]


def bench_playbooks(
    *,
    account_ids: np.ndarray,
    owner_ids: np.ndarray,
    templates: list[TemplateSpec],
    n: int,
    days: int,
    manager_id: int | None,
    reason_ids: list[int],
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A year of playbooks, pure: `n` playbooks opened uniformly over the last `days` days on
    random accounts (owner_ids[i] owns account_ids[i], -1 for nobody), with their templates'
    steps. A step is done a little after its due date (a few much later), so old playbooks
    are closed with an outcome and recent ones are open, with steps due around today and some
    overdue; 3% are cancelled with their remaining steps skipped.

    Days are numbers relative to today (0 today, -1 yesterday; NO_DAY for none), times seconds
    after midnight UTC, missing ids -1, missing amounts NaN. Steps point at their playbook by
    position (`playbook`). Returns (playbook columns, step columns)."""
    templates = [t for t in templates if t.steps]
    if not templates or not len(account_ids) or n <= 0:
        raise ValueError("need templates with steps, accounts and n > 0")
    kinds = np.array([t.kind for t in templates], dtype=object)
    weights = np.array([KIND_WEIGHTS.get(k, 0.05) / (kinds == k).sum() for k in kinds])
    tpl = rng.choice(len(templates), size=n, p=weights / weights.sum())
    acc = rng.integers(0, len(account_ids), n)
    owner = owner_ids[acc]
    opened = -rng.integers(0, days, n)

    # The templates' steps as one flat table; each playbook takes its template's rows.
    sizes = np.array([len(t.steps) for t in templates])
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = [s for t in templates for s in t.steps]
    offset = np.array([s.offset for s in flat])
    k = sizes[tpl]
    m = int(k.sum())
    pb = np.repeat(np.arange(n), k)
    first = np.cumsum(k) - k
    row = start[tpl][pb] + (np.arange(m) - np.repeat(first, k))
    due = opened[pb] + offset[row]

    u = rng.random(m)
    delay = np.where(
        u < 0.72,
        rng.integers(-1, 3, m),
        np.where(u < 0.96, rng.integers(3, 15, m), rng.integers(15, 61, m)),
    )
    done_day = np.maximum(due + delay, opened[pb])
    done = done_day < 0
    cancel_day = opened + rng.integers(1, 41, n)
    cancelled = (rng.random(n) < 0.03) & (cancel_day < 0)
    skipped = cancelled[pb] & (~done | (done_day >= cancel_day[pb]))
    done &= ~skipped
    all_done = np.minimum.reduceat(done.astype(np.int8), first).astype(bool)
    last_done = np.maximum.reduceat(np.where(done, done_day, NO_DAY), first)
    close_day = last_done + rng.integers(0, 6, n)
    completed = ~cancelled & all_done & (close_day < 0)
    status = np.where(
        completed,
        PlaybookStatus.COMPLETED.value,
        np.where(cancelled, PlaybookStatus.CANCELLED.value, PlaybookStatus.OPEN.value),
    ).astype(object)
    closed_day = np.where(completed, close_day, np.where(cancelled, cancel_day, NO_DAY))
    # One open playbook per account and template, as the database holds it: of several, the
    # first opened stays open and the later ones are cancelled the day they opened.
    open_idx = np.flatnonzero(status == PlaybookStatus.OPEN.value)
    ordered = open_idx[np.lexsort((opened[open_idx], tpl[open_idx], acc[open_idx]))]
    again = np.zeros(n, dtype=bool)
    again[ordered[1:]] = (acc[ordered[1:]] == acc[ordered[:-1]]) & (
        tpl[ordered[1:]] == tpl[ordered[:-1]]
    )
    status[again] = PlaybookStatus.CANCELLED.value
    closed_day = np.where(again, opened, closed_day)
    skipped |= again[pb] & ~done

    pb_kind = kinds[tpl]
    outcome = np.full(n, "", dtype=object)
    evidence = np.empty(n, dtype=object)
    for kind in set(pb_kind.tolist()):
        mask = pb_kind == kind
        texts = EVIDENCE.get(kind, ("",))
        evidence[mask] = np.array(texts, dtype=object)[rng.integers(0, len(texts), mask.sum())]
        choices = [o.value for o in OUTCOMES_BY_KIND.get(kind, ())] or ["done"]
        p = np.array(OUTCOME_WEIGHTS.get(kind, (1.0,))[: len(choices)], dtype=float)
        closing = mask & completed
        outcome[closing] = rng.choice(choices, size=int(closing.sum()), p=p / p.sum())
    is_expansion = pb_kind == PlaybookKind.EXPANSION
    product = np.array([t.product_id or -1 for t in templates])[tpl]
    expected = np.where(is_expansion, np.round(rng.uniform(100, 2000, n), 2), np.nan)
    won = outcome == "won"
    mrr_won = np.where(won, np.round(expected * rng.uniform(0.8, 1.1, n), 2), np.nan)
    reason = np.full(n, -1)
    churned = outcome == "churned"
    if reason_ids:
        reason[churned] = rng.choice(reason_ids, size=int(churned.sum()))
    max_offset = np.array([max(s.offset for s in t.steps) for t in templates])[tpl]

    playbooks = {
        "account_id": account_ids[acc],
        "template_id": np.array([t.id for t in templates])[tpl],
        "kind": pb_kind,
        "title": np.array([t.name for t in templates], dtype=object)[tpl],
        "owner_id": owner,
        "status": status,
        "opened_day": opened,
        "due_day": opened + max_offset,
        "closed_day": closed_day,
        "closed_sec": rng.integers(12 * 3600, 21 * 3600, n),
        "closed_by_id": np.where(completed, owner, -1),
        "outcome": outcome,
        "opportunity_product_id": np.where(is_expansion, product, -1),
        "expected_mrr": expected,
        "mrr_won": mrr_won,
        "churn_reason_id": reason,
        "evidence_text": evidence,
    }

    to_manager = np.array([s.to_manager for s in flat])[row]
    assignee = np.where(to_manager & (manager_id is not None), manager_id or -1, owner[pb])
    step_status = np.where(
        done,
        StepStatus.DONE.value,
        np.where(skipped, StepStatus.SKIPPED.value, StepStatus.OPEN.value),
    ).astype(object)
    is_open = step_status == StepStatus.OPEN.value
    snoozed = is_open & (due >= 0) & (rng.random(m) < 0.03)
    noted = done & (rng.random(m) < 0.25)
    notes = np.full(m, "", dtype=object)
    notes[noted] = np.array(NOTES, dtype=object)[rng.integers(0, len(NOTES), int(noted.sum()))]
    reasons = np.full(m, "", dtype=object)
    reasons[snoozed] = np.array(SNOOZE_REASONS, dtype=object)[
        rng.integers(0, len(SNOOZE_REASONS), int(snoozed.sum()))
    ]
    steps = {
        "playbook": pb,
        "order": np.array([s.order for s in flat])[row],
        "title": np.array([s.title for s in flat], dtype=object)[row],
        "instructions": np.array([s.instructions for s in flat], dtype=object)[row],
        "due_day": due,
        "assignee_id": assignee,
        "status": step_status,
        "done_day": np.where(done, done_day, NO_DAY),
        "done_sec": rng.integers(12 * 3600, 21 * 3600, m),
        "completed_by_id": np.where(done, assignee, -1),
        "notes": notes,
        "snoozed_reason": reasons,
        "version": np.where(is_open & ~snoozed, 1, 2),
    }
    return playbooks, steps
