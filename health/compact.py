"""The compact score row (docs/scaling.md, "Score history"): a day's per-indicator breakdown as
two arrays in the fixed order of a layout (the model version's indicator keys and weights),
and back. Pure: no database.

A breakdown is {key: [raw, score, share]} (health/services/pipeline.py): raw rounded to 2
decimals, the indicator's 0-100 score to 1, its share of the account's score to 3. Only raw and
score are stored; the share is the indicator's weight over the weights of the indicators that
have a score (none when no indicator has one), exactly as scoring.score_frame redistributes
it, and `missing` is the keys whose score is None. The arrays hold single-precision floats
(4 bytes each), so decoding rounds them back to the breakdown's decimals.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    keys: tuple[str, ...]
    weights: tuple[float, ...]

    @property
    def digest(self) -> str:
        """The layout's identity: equal keys and weights, equal digest."""
        text = json.dumps([list(self.keys), [float(w) for w in self.weights]])
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _round(value: float | None, digits: int) -> float | None:
    if value is None or value != value:  # None or NaN
        return None
    return round(float(value), digits)


def encode(
    breakdown: Mapping[str, Sequence], layout: Layout
) -> tuple[list[float | None], list[float | None]]:
    """The raws and scores of `breakdown` in the layout's order (a key the breakdown lacks is
    None in both)."""
    raws, scores = [], []
    for key in layout.keys:
        raw, score, _share = breakdown.get(key, (None, None, 0.0))
        raws.append(raw)
        scores.append(score)
    return raws, scores


def decode(
    layout: Layout, raws: Sequence[float | None], scores: Sequence[float | None]
) -> dict[str, list]:
    """The breakdown {key: [raw, score, share]} of a compact row."""
    present = [_round(s, 1) is not None for s in scores]
    total = sum(w for w, p in zip(layout.weights, present, strict=True) if p)
    out = {}
    for key, weight, raw, score, p in zip(
        layout.keys, layout.weights, raws, scores, present, strict=True
    ):
        share = round(weight / total, 3) if p and total > 0 else 0.0
        out[key] = [_round(raw, 2), _round(score, 1), share]
    return out


def missing(layout: Layout, scores: Sequence[float | None]) -> list[str]:
    """The keys without a score, in the layout's order."""
    return [key for key, s in zip(layout.keys, scores, strict=True) if _round(s, 1) is None]


# -- storage: real[] on PostgreSQL, JSON text on SQLite (the demo) --------------------------

from django.db import models  # noqa: E402 (the pure part above needs no Django)


class FloatArrayField(models.Field):
    """A list of floats (None allowed): `real[]` on PostgreSQL, JSON text elsewhere."""

    description = "An array of single-precision floats"

    def db_type(self, connection):
        return "real[]" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if isinstance(value, str):
            return json.loads(value)
        return list(value)

    def to_python(self, value):
        if isinstance(value, str):
            return json.loads(value)
        return value

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if connection.vendor == "postgresql":
            return [None if v is None else float(v) for v in value]
        return json.dumps([None if v is None else float(v) for v in value])


def array_text(values: Sequence[float | None], vendor: str) -> str:
    """An array as the bulk writer's COPY or VALUES text takes it for FloatArrayField."""
    if vendor == "postgresql":
        return "{" + ",".join("NULL" if v is None else repr(float(v)) for v in values) + "}"
    return json.dumps([None if v is None else float(v) for v in values])


class ArrayItem(models.Func):
    """Item `position` (1-based) of a FloatArrayField column, rounded to `digits`, in SQL."""

    output_field = models.FloatField()

    def __init__(self, column: str, position: int, digits: int):
        super().__init__(models.F(column))
        self.position, self.digits = int(position), int(digits)

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"round(({sql})[{self.position}]::numeric, {self.digits})::float8", params

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"round(json_extract({sql}, '$[{self.position - 1}]'), {self.digits})", params
