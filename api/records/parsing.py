"""Reading whole records of a kind: one (parse_record) or a batch a column at a time
(parse_records, the same values and errors), with the collector paused while a batch lives,
and the natural key a record is matched by."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from .columns import Column, Kind
from .values import Dialect, Invalid, read_datetime


@dataclass
class Parsed:
    """One record read: its values by API name (only the fields it carried) and its
    problems as (field, message)."""

    values: dict = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)


def parse_record(
    kind: Kind, raw: dict, dialect: Dialect, *, zone: ZoneInfo | None = None, partial=False
) -> Parsed:
    """Read `raw` ({api name: value}); fields it does not carry are left out (a write keeps
    their stored value), required ones are errors unless `partial`. Empty text is "no value"."""
    out = Parsed()
    columns = kind.by_name
    if len(raw) > len(columns) or not columns.keys() >= raw.keys():
        for name in raw:
            if name not in columns:
                out.errors.append((name, _("Unknown field.")))
    for col in kind.columns:
        if col.name not in raw:
            if col.required and not partial:
                out.errors.append((col.name, _("This field is required.")))
            continue
        value = raw[col.name]
        if value is None or value == "" or (value.__class__ is str and value.isspace()):
            if col.required:
                out.errors.append((col.name, _("This field is required.")))
                continue
            out.values[col.name] = col.blank_value
            continue
        try:
            if col.reader is read_datetime:
                out.values[col.name] = read_datetime(value, col, dialect, zone)
            else:
                out.values[col.name] = col.reader(value, col, dialect)
        except Invalid as exc:
            out.errors.append((col.name, str(exc)))
    if kind.check is not None and not out.errors:
        out.errors += kind.check(out.values)
    return out


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch of records is read and written.
    A batch is tens of thousands of small dicts and lists that all live until it is written:
    every 700 of them start a collection, which walks them again, and the full ones walk
    every object of the process. Measured: a third of a 1,000,000-row import's CPU time.
    Nothing a batch builds is a cycle (reference counting frees it all), and the collector
    is back on when the block ends, whatever happened in it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_records(
    kind: Kind,
    raws: list[dict],
    dialect: Dialect,
    *,
    zone: ZoneInfo | None = None,
    partial=False,
) -> list[Parsed]:
    """`parse_record` of each of `raws`, the same values and errors in the same order, read
    a column at a time: a text value is read once per batch however many records repeat it
    (a usage file holds one day, one metric and a few values in thousands of rows), the rest
    one by one. Readers are pure, so a repeated text reads the same each time."""
    out = [Parsed() for _ in raws]
    columns = kind.by_name
    n_columns, names = len(columns), columns.keys()
    unknown = _("Unknown field.")
    required = _("This field is required.")
    for parsed, raw in zip(out, raws, strict=True):
        if len(raw) > n_columns or not names >= raw.keys():
            parsed.errors += [(name, unknown) for name in raw if name not in columns]
    for col in kind.columns:
        name, reader, blank = col.name, col.reader, col.blank_value
        if reader is read_datetime:
            reader = _with_zone(zone)
        must = col.required
        known: dict[str, tuple[bool, object]] = {}  # text -> (read, value or message)
        for parsed, raw in zip(out, raws, strict=True):
            if name not in raw:
                if must and not partial:
                    parsed.errors.append((name, required))
                continue
            value = raw[name]
            if value.__class__ is str:
                seen = known.get(value)
                if seen is None:
                    if value == "" or value.isspace():
                        seen = (False, required) if must else (True, blank)
                    else:
                        try:
                            seen = (True, reader(value, col, dialect))
                        except Invalid as exc:
                            seen = (False, str(exc))
                    known[value] = seen
                if seen[0]:
                    parsed.values[name] = seen[1]
                else:
                    parsed.errors.append((name, seen[1]))
                continue
            if value is None:
                if must:
                    parsed.errors.append((name, required))
                else:
                    parsed.values[name] = blank
                continue
            try:
                parsed.values[name] = reader(value, col, dialect)
            except Invalid as exc:
                parsed.errors.append((name, str(exc)))
    if kind.check is not None:
        for parsed in out:
            if not parsed.errors:
                parsed.errors += kind.check(parsed.values)
    return out


def _with_zone(zone: ZoneInfo | None) -> Callable:
    """read_datetime with the zone given, called like the other readers."""

    def read(raw, col: Column, dialect: Dialect):
        return read_datetime(raw, col, dialect, zone)

    return read


def natural_key(kind: Kind, values: dict) -> tuple:
    return tuple(map(values.get, kind.key))
