"""Parsing, validation and the two compilers (Django Q, pandas mask) of the condition language."""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import DecimalField, Q, Value
from django.utils.translation import gettext

from .phrases import Phrase


class FieldType(enum.StrEnum):
    NUMBER = "number"
    STRING = "string"
    CHOICE = "choice"
    BOOL = "bool"
    DATE = "date"
    SET = "set"  # a set of codes per account (products held, personas); `contains` asks for one


OPERATORS: dict[FieldType, tuple[str, ...]] = {
    FieldType.NUMBER: ("<", "<=", ">", ">=", "=", "!=", "in", "between", "is_empty"),
    FieldType.DATE: ("<", "<=", ">", ">=", "=", "!=", "between", "is_empty"),
    FieldType.STRING: ("=", "!=", "in", "is_empty"),
    FieldType.CHOICE: ("=", "!=", "in", "is_empty"),
    FieldType.BOOL: ("=", "is_empty"),
    FieldType.SET: ("contains", "not_contains", "is_empty"),
}


class ConditionError(ValueError):
    """A tree that does not fit the language or the catalogue; `path` says where."""

    def __init__(self, path: str, message: str):
        self.path = path or "condition"
        self.message = message
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class Field:
    """One field a condition may read.

    `q_path` is its ORM lookup path for the Q compiler (None: not available in SQL, only in
    the nightly frame); `q_builder(op, value)` replaces the generic compilation where a field
    needs a subquery (sets). The pandas compiler reads the frame column named `name`; a SET
    column holds strings of the form "|code1|code2|". `phrase` (conditions.phrases.Phrase) is
    how evidence reads the field's value as a sentence.
    """

    name: str
    type: FieldType
    label: str = ""
    choices: tuple[str, ...] = ()
    q_path: str | None = None
    q_builder: Callable[[str, Any], Q] | None = field(default=None, compare=False)
    phrase: Phrase | None = field(default=None, compare=False)


Catalogue = Mapping[str, Field]


class Node:
    def to_q(self) -> Q:
        raise NotImplementedError

    def to_mask(self, frame: pd.DataFrame) -> pd.Series:
        raise NotImplementedError

    def comparisons(self) -> Iterable[Comparison]:
        raise NotImplementedError


@dataclass(frozen=True)
class Group(Node):
    kind: str  # "all" or "any"
    children: tuple[Node, ...]

    def to_q(self) -> Q:
        q = Q()
        for child in self.children:
            q = (q & child.to_q()) if self.kind == "all" else (q | child.to_q())
        return q

    def to_mask(self, frame: pd.DataFrame) -> pd.Series:
        masks = [child.to_mask(frame) for child in self.children]
        reducer = np.logical_and if self.kind == "all" else np.logical_or
        out = reducer.reduce([m.to_numpy(dtype=bool) for m in masks])
        return pd.Series(out, index=frame.index)

    def comparisons(self):
        for child in self.children:
            yield from child.comparisons()


@dataclass(frozen=True)
class Negation(Node):
    child: Node

    def to_q(self) -> Q:
        return ~self.child.to_q()

    def to_mask(self, frame: pd.DataFrame) -> pd.Series:
        return ~self.child.to_mask(frame)

    def comparisons(self):
        yield from self.child.comparisons()


@dataclass(frozen=True)
class Comparison(Node):
    field: Field
    op: str
    value: Any

    def comparisons(self):
        yield self

    # -- SQL ---------------------------------------------------------------------------
    def to_q(self) -> Q:
        f, op, v = self.field, self.op, self.value
        if f.q_builder is not None:
            return f.q_builder(op, v)
        if f.q_path is None:
            raise ConditionError(
                f.name, gettext("this field is only available in the nightly evaluation")
            )
        p = f.q_path
        blank_is_missing = f.type in (FieldType.STRING, FieldType.CHOICE)
        if op == "is_empty":
            empty = Q(**{f"{p}__isnull": True})
            if blank_is_missing:
                empty |= Q(**{p: ""})
            return empty if v else ~empty
        # A comparison with a missing value is false (a blank text counts as missing), the
        # same as the pandas compiler.
        present = Q(**{f"{p}__isnull": False})
        if blank_is_missing:
            present &= ~Q(**{p: ""})
        v = _sql_number(v) if f.type is FieldType.NUMBER else v
        if op == "=":
            return present & Q(**{p: v})
        if op == "!=":
            return present & ~Q(**{p: v})
        if op == "in":
            if f.type is FieldType.NUMBER and any(_fractional(x) for x in v):
                any_of = Q(pk__in=[])
                for x in v:
                    any_of |= Q(**{p: x})
                return present & any_of
            return present & Q(**{f"{p}__in": list(v)})
        if op == "between":
            return present & Q(**{f"{p}__gte": v[0], f"{p}__lte": v[1]})
        lookup = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}[op]
        return present & Q(**{f"{p}__{lookup}": v})

    # -- pandas ------------------------------------------------------------------------
    def to_mask(self, frame: pd.DataFrame) -> pd.Series:
        f, op, v = self.field, self.op, self.value
        if f.name not in frame.columns:
            raise ConditionError(f.name, gettext("the evaluation frame has no such column"))
        col = frame[f.name]
        if f.type is FieldType.SET:
            text = col.fillna("").astype(str)
            if op == "is_empty":
                empty = text.isin(["", "||"])
                return empty if v else ~empty
            has = text.str.contains(f"|{v}|", regex=False)
            return has if op == "contains" else ~has
        missing = col.isna()
        if f.type in (FieldType.STRING, FieldType.CHOICE):
            missing = missing | (col.astype("string").fillna("") == "")
        if op == "is_empty":
            return missing if v else ~missing
        if f.type is FieldType.DATE:
            col = pd.to_datetime(col)
            v = [pd.Timestamp(x) for x in v] if isinstance(v, list | tuple) else pd.Timestamp(v)
        elif f.type is FieldType.NUMBER:
            col = pd.to_numeric(col, errors="coerce").astype("float64")
        if op == "=":
            out = col == v
        elif op == "!=":
            out = col != v
        elif op == "in":
            out = col.isin(list(v))
        elif op == "between":
            out = (col >= v[0]) & (col <= v[1])
        else:
            out = {"<": col.lt, "<=": col.le, ">": col.gt, ">=": col.ge}[op](v)
        out = pd.Series(np.asarray(out, dtype=bool), index=frame.index)
        return out & ~missing


def _sql_number(value):
    """Floats go to SQL as exact decimals, so a DecimalField column compares the same value
    pandas compares (Django would round a float to 14 digits first). A fractional value is
    sent as an expression rather than a parameter: Django prepares a parameter with the
    column's own type, and an integer column would truncate 1.5 to 1 (sentiment < 1.5 would
    then miss a sentiment of 1)."""
    if isinstance(value, tuple | list):
        return type(value)(_sql_number(x) for x in value)
    value = Decimal(repr(value)) if isinstance(value, float) else value
    if _fractional(value):
        return Value(value, output_field=DecimalField())
    return value


def _fractional(value) -> bool:
    if isinstance(value, Value):
        value = value.value
    return isinstance(value, Decimal) and value != value.to_integral_value()


def fields_read(node: Node) -> list[str]:
    """The fields a condition reads, in order of first appearance (the firing's evidence)."""
    seen: dict[str, None] = {}
    for comparison in node.comparisons():
        seen.setdefault(comparison.field.name, None)
    return list(seen)


# -- parsing ---------------------------------------------------------------------------

# The limits a tree must keep, checked by `parse` (so on save, and again each night): deep
# enough, large enough and wide enough for real rules, small enough that no tree can exhaust
# the stack, make a query or a mask too big to run, or hold a number pandas cannot compare.
MAX_DEPTH = 12  # nested all/any/not levels
MAX_NODES = 200  # groups, negations and comparisons in one tree
MAX_IN_VALUES = 500  # values of one `in` list
MAX_VALUES = 2000  # values in all comparisons of one tree
MAX_TEXT = 200  # characters of a text, choice or code value
MAX_NUMBER = 1e12  # largest absolute value of a number
MIN_DATE, MAX_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CODE = re.compile(r"[A-Za-z0-9_-]+")

# Values quoted back in messages are shortened (a 400-digit number or a 10,000-character
# string is named, not echoed) and never recurse deeply.
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlong = 24
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 5
_SHORT.maxlevel = 3


def _show(value: Any) -> str:
    return _SHORT.repr(value)


class _Budget:
    """What a tree has used of MAX_NODES and MAX_VALUES so far."""

    __slots__ = ("nodes", "values")

    def __init__(self) -> None:
        self.nodes = 0
        self.values = 0

    def node(self, path: str) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ConditionError(
                path,
                gettext(
                    "the condition has more than %(limit)s parts (groups and comparisons); "
                    "simplify it"
                )
                % {"limit": MAX_NODES},
            )

    def take(self, path: str, count: int) -> None:
        self.values += count
        if self.values > MAX_VALUES:
            raise ConditionError(
                path,
                gettext("the condition compares more than %(limit)s values in all; simplify it")
                % {"limit": MAX_VALUES},
            )


def parse(tree: Any, catalogue: Catalogue) -> Node:
    """Validate `tree` against `catalogue` and the limits; return its node or raise
    ConditionError."""
    return _parse(tree, catalogue, "condition", 0, _Budget())


def _parse(tree: Any, catalogue: Catalogue, path: str, depth: int, budget: _Budget) -> Node:
    if depth > MAX_DEPTH:
        raise ConditionError(
            path, gettext("nested deeper than %(limit)s levels") % {"limit": MAX_DEPTH}
        )
    if not isinstance(tree, dict):
        raise ConditionError(
            path, gettext("expected an object, got %(name)s") % {"name": type(tree).__name__}
        )
    budget.node(path)
    keys = set(tree)
    for group in ("all", "any"):
        if group in keys:
            if keys != {group}:
                raise ConditionError(
                    path,
                    gettext("'%(group)s' must be the only key of its object") % {"group": group},
                )
            items = tree[group]
            if not isinstance(items, list) or not items:
                raise ConditionError(
                    f"{path}.{group}", gettext("expected a non-empty list of conditions")
                )
            if len(items) > MAX_NODES:
                raise ConditionError(
                    f"{path}.{group}",
                    gettext("a group holds at most %(limit)s conditions; got %(items)s")
                    % {"limit": MAX_NODES, "items": len(items)},
                )
            children = tuple(
                _parse(item, catalogue, f"{path}.{group}[{i}]", depth + 1, budget)
                for i, item in enumerate(items)
            )
            return Group(group, children)
    if "not" in keys:
        if keys != {"not"}:
            raise ConditionError(path, gettext("'not' must be the only key of its object"))
        return Negation(_parse(tree["not"], catalogue, f"{path}.not", depth + 1, budget))
    if "field" in keys:
        return _parse_comparison(tree, catalogue, path, budget)
    raise ConditionError(
        path, gettext("expected one of 'all', 'any', 'not' or a comparison with 'field'")
    )


def _parse_comparison(tree: dict, catalogue: Catalogue, path: str, budget: _Budget) -> Comparison:
    extra = set(tree) - {"field", "op", "value"}
    if extra:
        names = sorted(str(k)[:40] for k in extra)
        shown = ", ".join(names[:5]) + (f" (and {len(names) - 5} more)" if len(names) > 5 else "")
        raise ConditionError(path, gettext("unknown key(s): %(shown)s") % {"shown": shown})
    name = tree["field"]
    if not isinstance(name, str) or name not in catalogue:
        names = sorted(catalogue)
        known = ", ".join(names[:40]) + (
            f" (and {len(names) - 40} more)" if len(names) > 40 else ""
        )
        raise ConditionError(
            f"{path}.field",
            gettext("unknown field %(name)s; known fields: %(known)s")
            % {"name": _show(name), "known": known},
        )
    fld = catalogue[name]
    op = tree.get("op")
    allowed = OPERATORS[fld.type]
    if not isinstance(op, str) or op not in allowed:
        raise ConditionError(
            f"{path}.op",
            gettext(
                "operator %(op)s does not apply to %(type)s field '%(name)s'; "
                "use one of: %(allowed)s"
            )
            % {
                "op": _show(op),
                "type": fld.type.value,
                "name": name,
                "allowed": ", ".join(allowed),
            },
        )
    if "value" not in tree:
        raise ConditionError(f"{path}.value", gettext("missing value"))
    value = _check_value(fld, op, tree["value"], f"{path}.value", budget)
    return Comparison(fld, op, value)


def _check_value(fld: Field, op: str, value: Any, path: str, budget: _Budget) -> Any:
    if op == "is_empty":
        if not isinstance(value, bool):
            raise ConditionError(path, gettext("is_empty takes true or false"))
        return value
    if op == "in":
        if not isinstance(value, list) or not value:
            raise ConditionError(path, gettext("'in' takes a non-empty list"))
        if len(value) > MAX_IN_VALUES:
            raise ConditionError(
                path,
                gettext("'in' takes at most %(limit)s values; got %(value)s")
                % {"limit": MAX_IN_VALUES, "value": len(value)},
            )
        budget.take(path, len(value))
        return tuple(_scalar(fld, v, f"{path}[{i}]") for i, v in enumerate(value))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ConditionError(path, gettext("'between' takes a list of two values [low, high]"))
        budget.take(path, 2)
        low, high = (_scalar(fld, v, f"{path}[{i}]") for i, v in enumerate(value))
        if low > high:
            raise ConditionError(
                path,
                gettext("'between' needs low <= high, got %(low)s > %(high)s")
                % {"low": low, "high": high},
            )
        return (low, high)
    budget.take(path, 1)
    return _scalar(fld, value, path)


def _scalar(fld: Field, value: Any, path: str) -> Any:
    t = fld.type
    if t is FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConditionError(
                path,
                gettext("field '%(name)s' is a number; got %(value)s")
                % {"name": fld.name, "value": _show(value)},
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ConditionError(path, gettext("numbers must be finite"))
        if abs(value) > MAX_NUMBER:
            raise ConditionError(
                path,
                gettext("numbers must be between -%(limit)s and %(limit)s; got %(value)s")
                % {"limit": f"{MAX_NUMBER:,.0f}", "value": _show(value)},
            )
        return value
    if t is FieldType.BOOL:
        if not isinstance(value, bool):
            raise ConditionError(
                path,
                gettext("field '%(name)s' is true/false; got %(value)s")
                % {"name": fld.name, "value": _show(value)},
            )
        return value
    if t is FieldType.DATE:
        if not isinstance(value, str):
            raise ConditionError(
                path,
                gettext("field '%(name)s' is a date (YYYY-MM-DD); got %(value)s")
                % {"name": fld.name, "value": _show(value)},
            )
        if not _ISO_DATE.fullmatch(value):
            raise ConditionError(
                path, gettext("%(value)s is not a date (YYYY-MM-DD)") % {"value": _show(value)}
            )
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ConditionError(
                path, gettext("%(value)s is not a date (YYYY-MM-DD)") % {"value": f"{value!r}"}
            ) from None
        if not MIN_DATE <= day <= MAX_DATE:
            raise ConditionError(
                path,
                gettext("dates must be between %(first)s and %(last)s; got %(value)s")
                % {"first": MIN_DATE, "last": MAX_DATE, "value": value},
            )
        return day
    if not isinstance(value, str):
        raise ConditionError(
            path,
            gettext("field '%(name)s' is text; got %(value)s")
            % {"name": fld.name, "value": _show(value)},
        )
    if len(value) > MAX_TEXT:
        raise ConditionError(
            path,
            gettext("a text value has at most %(limit)s characters; got %(value)s")
            % {"limit": MAX_TEXT, "value": len(value)},
        )
    if t is FieldType.SET and not _CODE.fullmatch(value):
        raise ConditionError(
            path,
            gettext("%(value)s is not a code (letters, digits, - and _)") % {"value": _show(value)},
        )
    if t is FieldType.CHOICE and fld.choices and value not in fld.choices:
        raise ConditionError(
            path,
            gettext("%(value)s is not a value of '%(name)s'; use one of: %(choices)s")
            % {"value": _show(value), "name": fld.name, "choices": ", ".join(fld.choices)},
        )
    return value
