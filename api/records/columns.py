"""The machinery every record kind is built of: a Column (its reader, bounds, choices, the
relation it names, the header labels that suggest it), a Kind (its columns, key and record
rules) and the small helpers the specs in api.records.kinds are written with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .values import (
    fold,
    read_bool,
    read_choice,
    read_date,
    read_datetime,
    read_decimal,
    read_email,
    read_float,
    read_int,
    read_key,
    read_slug,
    read_text,
)


@dataclass(frozen=True)
class Ref:
    """A relation field: the model it points at and the key it is named by."""

    model: type
    key: str  # "external_id", "code", "email" (users), "name" (churn reasons)


@dataclass(frozen=True)
class Column:
    name: str  # the API's field name (and the CSV mapping target)
    reader: Callable
    attname: str = ""  # the model's column; default: name (relations: <name>_id)
    required: bool = False
    max_length: int | None = None
    places: int = 2
    minimum: float | int | None = None
    maximum: float | int | None = None
    choices: tuple = ()  # ((value, {folded synonyms}), ...)
    ref: Ref | None = None
    labels: tuple[str, ...] = ()  # header names that suggest this column (EN and PT)
    help: str = ""
    blank_value: object = None  # what an empty optional cell writes

    @property
    def column(self) -> str:
        if self.attname:
            return self.attname
        return f"{self.name}_id" if self.ref else self.name

    @property
    def type_name(self) -> str:
        return {
            read_text: "text",
            read_email: "email",
            read_slug: "slug",
            read_decimal: "decimal",
            read_float: "number",
            read_int: "integer",
            read_date: "date",
            read_datetime: "datetime",
            read_bool: "boolean",
            read_choice: "choice",
            read_key: "key",
        }[self.reader]


class ChoiceSet(tuple):
    """(value, the spellings a file may use for it) pairs; `model_choices` keeps the model's
    (value, label) pairs they come from, which the API's schema shows."""

    model_choices: tuple = ()


def _choices(model_choices, extra: dict[str, tuple[str, ...]] | None = None) -> ChoiceSet:
    extra = extra or {}
    out = ChoiceSet(
        (value, frozenset({fold(label), *(fold(s) for s in extra.get(value, ()))}))
        for value, label in model_choices
    )
    out.model_choices = tuple(model_choices)
    return out


def text(name, max_length, **kw) -> Column:
    return Column(name, read_text, max_length=max_length, blank_value="", **kw)


def key(name, model, by, **kw) -> Column:
    return Column(name, read_key, ref=Ref(model, by), max_length=254, **kw)


_BY_NAME: dict[str, dict] = {}


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    key: tuple[str, ...]  # the API names of the columns a record is matched by
    columns: tuple[Column, ...]
    check: Callable[[dict], list[tuple[str, str]]] | None = None  # record-level rules
    label: str = ""

    @property
    def by_name(self) -> dict[str, Column]:
        # Built once per kind (setdefault would build the dict on every call: once a row).
        found = _BY_NAME.get(self.name)
        if found is None:
            found = _BY_NAME[self.name] = {c.name: c for c in self.columns}
        return found

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _after(first: str, second: str, message) -> Callable[[dict], list[tuple[str, str]]]:
    def check(record: dict) -> list[tuple[str, str]]:
        a, b = record.get(first), record.get(second)
        if a is not None and b is not None and b < a:
            return [(second, str(message))]
        return []

    return check


def _all(*checks):
    def check(record):
        out = []
        for c in checks:
            out += c(record)
        return out

    return check
