"""Versions of a health model as data: the snapshot of what a version scores with (pure: from
rows to a dict and back), what changed between two snapshots, and the scoring spec a snapshot
or a draft describes. No database here; health/services/configuration.py writes the rows.

A snapshot is {"name", "persona_id", "red_max", "yellow_max", "description", "indicators":
[{"id", "measure", "window_days", "metric", "direction", "bad_value", "good_value",
"weight"}]}, indicators in a stable order (measure, window, metric)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .scoring import IndicatorSpec, ModelSpec

MODEL_SNAPSHOT_FIELDS = ("name", "persona_id", "red_max", "yellow_max", "description")
INDICATOR_SNAPSHOT_FIELDS = (
    "measure",
    "window_days",
    "metric",
    "direction",
    "bad_value",
    "good_value",
    "weight",
)


def indicator_key(measure: str, window: int | None, metric: str) -> str:
    """The breakdown key of an indicator: measure[:window[:metric]]."""
    parts = [measure]
    if window or metric:
        parts.append(str(window or ""))
    if metric:
        parts.append(metric)
    return ":".join(parts)


def _row_key(row: Mapping[str, Any]) -> str:
    return indicator_key(row["measure"], row.get("window_days"), row.get("metric") or "")


def indicator_row(indicator: Any) -> dict:
    """An indicator (a row or anything with its attributes) as snapshot data."""
    row = {"id": getattr(indicator, "pk", None)}
    for name in INDICATOR_SNAPSHOT_FIELDS:
        row[name] = getattr(indicator, name)
    row["metric"] = row["metric"] or ""
    row["bad_value"], row["good_value"] = float(row["bad_value"]), float(row["good_value"])
    row["weight"] = float(row["weight"])
    return row


def model_snapshot(model: Any, indicators: Iterable[Any]) -> dict:
    """The snapshot of a model and its indicators (rows or snapshot dicts)."""
    rows = [dict(i) if isinstance(i, Mapping) else indicator_row(i) for i in indicators]
    snap = {name: getattr(model, name) for name in MODEL_SNAPSHOT_FIELDS}
    snap["indicators"] = sorted(rows, key=_row_key)
    return snap


def _fmt(row: Mapping[str, Any]) -> str:
    window = f", {row['window_days']} days" if row.get("window_days") else ""
    metric = f", {row['metric']}" if row.get("metric") else ""
    return (
        f"{row['measure']}{window}{metric}: {row['direction']}, "
        f"{row['bad_value']:g} → {row['good_value']:g}, weight {row['weight']:g}"
    )


def snapshot_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[dict]:
    """What changed from `before` to `after`: one entry per model field that differs and per
    indicator added, removed or changed (matched by measure, window and metric), each
    {"what", "before", "after"}. No `before` (a first version): []."""
    if not before:
        return []
    out = [
        {"what": name, "before": before.get(name), "after": after.get(name)}
        for name in MODEL_SNAPSHOT_FIELDS
        if before.get(name) != after.get(name)
    ]
    old = {_row_key(r): r for r in before.get("indicators", [])}
    new = {_row_key(r): r for r in after.get("indicators", [])}
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a is None:
            out.append({"what": f"indicator {key}", "before": None, "after": _fmt(b)})
        elif b is None:
            out.append({"what": f"indicator {key}", "before": _fmt(a), "after": None})
        else:
            for name in INDICATOR_SNAPSHOT_FIELDS[3:]:
                if a.get(name) != b.get(name):
                    out.append(
                        {"what": f"{key} {name}", "before": a.get(name), "after": b.get(name)}
                    )
    return out


def spec_from_rows(
    *,
    model_id: int | None,
    version: int,
    red_max: int,
    yellow_max: int,
    indicators: Iterable[Mapping[str, Any]],
    known: Iterable[str],
) -> ModelSpec:
    """The scoring spec of a model described as data (a draft, a snapshot): what the night
    would build from the same rows (health.services.pipeline.model_specs), measures not in
    `known` left out as it does."""
    known = set(known)
    return ModelSpec(
        id=model_id,
        version=version,
        red_max=red_max,
        yellow_max=yellow_max,
        indicators=tuple(
            IndicatorSpec(
                key=_row_key(r),
                measure=r["measure"],
                bad=float(r["bad_value"]),
                good=float(r["good_value"]),
                weight=float(r["weight"]),
                window=r.get("window_days"),
                metric=r.get("metric") or "",
            )
            for r in sorted(indicators, key=_spec_order)
            if r["measure"] in known
        ),
    )


def _spec_order(row: Mapping[str, Any]) -> tuple:
    # one order for every spec (the weighted sum adds in it), whoever built the rows
    return (
        -float(row["weight"]),
        row["measure"],
        row.get("window_days") or 0,
        row.get("metric") or "",
    )
