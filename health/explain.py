"""Why a score moved between two days, pure: the change split by indicator, from the two
stored breakdowns, with no database.

Each day's breakdown holds, per indicator, [raw, score, share]: `share` is the indicator's part
of the weighted mean after weights were re-shared over the indicators that had data (0 for a
missing one). An indicator's *contribution* on a day is score × share (0 when missing), so the
contributions add up to the day's unrounded score. The explanation of a move is, per indicator,

    contribution(to) − contribution(from)

and these add up to the unrounded change; the stored scores are whole numbers (half up), so a
`rounding` line (change − sum of contributions) makes the lines add up to the change shown.
An indicator whose share differs between the days because another one was missing on one of
them is flagged `reshared`. A change of model (or model version) between the days is its own
line (`model_change`): the days were scored by different configurations, so part of the move
may be the configuration's rather than the account's.

Worked example (the test's): weights usage 3, tickets 1, NPS 1.
    from day, version 1: usage raw 18 → 60 × 0.6 = 36; tickets raw 0 → 100 × 0.2 = 20;
                         NPS raw 9 → 90 × 0.2 = 18; score 74.
    to day, version 2:   usage raw 9 → 30 × 0.75 = 22.5; tickets raw 1 → 50 × 0.25 = 12.5;
                         NPS missing (its weight re-shared: 3/4 and 1/4); score 35.
    change 35 − 74 = −39 = usage −13.5 + tickets −7.5 + NPS −18 (+ rounding 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .measures import MEASURES
from .phrases import move_text


@dataclass(frozen=True)
class Day:
    """One stored score, as explain needs it (a HealthScore row's fields)."""

    date: str
    score: float | None
    colour: str
    model_id: int | None
    model_version: int
    breakdown: dict = field(default_factory=dict)  # {key: [raw, score, share]}
    model_name: str = ""

    @property
    def missing(self) -> set[str]:
        return {key for key, (_, score, _share) in self.breakdown.items() if score is None}


def parse_key(key: str) -> tuple[str, int | None, str]:
    """measure[:window[:metric]] -> (measure, window, metric), defaults filled in."""
    parts = key.split(":")
    measure = MEASURES.get(parts[0])
    window = int(parts[1]) if len(parts) > 1 and parts[1] else None
    metric = parts[2] if len(parts) > 2 else ""
    if measure is not None:
        window = window or measure.default_window
        metric = metric or (measure.default_metric or "")
    return parts[0], window, metric


def _entry(day: Day, key: str) -> tuple[float | None, float | None, float]:
    raw, score, share = day.breakdown.get(key, (None, None, 0.0))
    return raw, score, share or 0.0


def _contribution(score: float | None, share: float) -> float:
    return 0.0 if score is None else score * share


def explain_move(before: Day, after: Day) -> dict:
    """The move from `before` to `after` split by indicator (see the module's docstring).

    Returns a JSON-ready dict: from/to (date, score, colour, model, version, missing),
    change, lines (largest contribution first: key, measure, label, raw and score on both
    days, shares, contribution, reshared, missing_on, text), rounding, reshared (any line
    was), model_change (None, or the two models and versions)."""
    keys = list(before.breakdown) + [k for k in after.breakdown if k not in before.breakdown]
    missing_differs = before.missing != after.missing
    lines = []
    for key in keys:
        measure_key, window, metric = parse_key(key)
        measure = MEASURES.get(measure_key)
        raw0, score0, share0 = _entry(before, key)
        raw1, score1, share1 = _entry(after, key)
        contribution = _contribution(score1, share1) - _contribution(score0, share0)
        missing_on = [
            side
            for side, day, score in (("from", before, score0), ("to", after, score1))
            if key in day.breakdown and score is None
        ]
        absent_on = [
            side for side, day in (("from", before), ("to", after)) if key not in day.breakdown
        ]
        lines.append(
            {
                "key": key,
                "measure": measure_key,
                "label": str(measure.label) if measure else measure_key,
                "from_raw": raw0,
                "to_raw": raw1,
                "from_score": score0,
                "to_score": score1,
                "from_share": share0,
                "to_share": share1,
                "contribution": round(contribution, 2),
                "reshared": (
                    missing_differs
                    and score0 is not None
                    and score1 is not None
                    and abs(share1 - share0) > 1e-9
                ),
                "missing_on": missing_on,
                "absent_on": absent_on,
                "text": move_text(measure_key, raw0, raw1, window, metric),
            }
        )
    lines.sort(key=lambda line: (-abs(line["contribution"]), line["key"]))
    change = None
    rounding = None
    if before.score is not None and after.score is not None:
        change = after.score - before.score
        rounding = round(change - sum(line["contribution"] for line in lines), 2)
    model_change = None
    if (before.model_id, before.model_version) != (after.model_id, after.model_version):
        model_change = {
            "from_model": before.model_name or before.model_id,
            "to_model": after.model_name or after.model_id,
            "from_version": before.model_version,
            "to_version": after.model_version,
            "same_model": before.model_id == after.model_id,
        }
    return {
        "from": _side(before),
        "to": _side(after),
        "change": change,
        "lines": lines,
        "rounding": rounding,
        "reshared": any(line["reshared"] for line in lines),
        "model_change": model_change,
    }


def _side(day: Day) -> dict:
    return {
        "date": day.date,
        "score": day.score,
        "colour": day.colour,
        "model": day.model_name or day.model_id,
        "model_version": day.model_version,
        "missing": sorted(day.missing),
    }


def top_movers(before: Day, after: Day, n: int = 3) -> list[dict]:
    """The n indicators that moved the score most (non-zero contributions only), for tooltips."""
    lines = explain_move(before, after)["lines"]
    return [
        {"label": line["label"], "contribution": line["contribution"]}
        for line in lines[:n]
        if abs(line["contribution"]) >= 0.05
    ]
