"""Trigger condition evaluation, pure: from the nightly frame to the accounts that fire and
their evidence. Never eval: the tree is compiled by the condition language (conditions/)."""

from __future__ import annotations

import math

import pandas as pd

from conditions import Comparison, Group, Negation, Node, fields_read, parse

from .fields import TRIGGER_FIELDS


def compile_condition(tree) -> Node:
    return parse(tree, TRIGGER_FIELDS)


def needed_fields(node: Node) -> set[str]:
    return set(fields_read(node))


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}".rstrip("0").rstrip(".")
    if isinstance(value, tuple | list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _threshold(comparison: Comparison) -> str:
    op, value = comparison.op, comparison.value
    if op == "between":
        return f"between {_fmt(value[0])} and {_fmt(value[1])}"
    if op == "in":
        return f"in ({_fmt(value)})"
    if op == "is_empty":
        return "is empty" if value else "is not empty"
    if op == "contains":
        return f"holds {value}"
    if op == "not_contains":
        return f"does not hold {value}"
    return f"{op} {_fmt(value)}"


def evaluate(
    node: Node, frame: pd.DataFrame, within: pd.Series | None = None
) -> tuple[pd.Series, pd.DataFrame]:
    """The mask of accounts (among `within`, if given) for which the condition holds, and for
    those accounts the evidence: the value of every field the condition read."""
    mask = node.to_mask(frame)
    if within is not None:
        mask &= within
    evidence = frame.loc[mask, fields_read(node)]
    return mask, evidence


def evidence_texts(node: Node, frame: pd.DataFrame, mask: pd.Series) -> pd.Series:
    """Per fired account, the comparisons that made the condition true, in plain words:
    "Health score 43 < 51; Transacted-volume trend: value (%) -38 <= -30". Under a `not`, a
    comparison counts when it did not hold, and says so ("not: ...")."""
    fired = frame.loc[mask]
    if fired.empty:
        return pd.Series("", index=fired.index, dtype="object")
    parts = list(_reasons(node, fired, positive=True))
    if not parts:
        return pd.Series("", index=fired.index, dtype="object")
    table = pd.concat(parts, axis=1).fillna("")
    return table.apply(lambda row: "; ".join(t for t in row if t), axis=1)


def _reasons(node: Node, fired: pd.DataFrame, positive: bool):
    if isinstance(node, Negation):
        yield from _reasons(node.child, fired, not positive)
    elif isinstance(node, Group):
        for child in node.children:
            yield from _reasons(child, fired, positive)
    elif isinstance(node, Comparison):
        held = node.to_mask(fired)
        counts = held if positive else ~held
        label = node.field.label or node.field.name
        values = fired[node.field.name].map(_fmt_value)
        text = (("" if positive else "not: ") + label + " ") + values + " " + _threshold(node)
        yield text.where(counts, "")


def _fmt_value(value) -> str:
    if isinstance(value, str) and value.startswith("|"):
        return ", ".join(v for v in value.split("|") if v) or "none"
    return _fmt(value)


def evidence_records(evidence: pd.DataFrame) -> list[dict]:
    """JSON-safe evidence per fired account (NaN becomes None)."""
    clean = evidence.astype(object).where(evidence.notna(), None)
    out = []
    for record in clean.to_dict(orient="records"):
        out.append(
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}
        )
    return out
