"""Reading whole records of a kind: one (parse_record) or a batch a column at a time
(parse_records, the same values and errors), with the collector paused while a batch lives,
and the natural key a record is matched by."""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from .columns import Column, Kind
from .values import Dialect, Invalid, read_datetime, read_float, read_key, read_text


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


_UNREAD = object()


def read_columns(kind: Kind, raws: list, dialect: Dialect) -> dict[str, list] | None:
    """A plain batch read a column at a time: {api name: the values in record order}, the
    values `parse_records` gives, or None when the batch is not plain. Plain: every record is
    an object carrying exactly the kind's columns, no value is empty, null, refused by its
    reader or text holding a NUL, and the kind has no record rule and no datetime. For
    anything else the caller reads the batch the full way (`parse_records`), which names each
    problem by record and field: this is only a quicker way to the same values, never a second
    set of rules. Each distinct text is read once by the column's own reader; JSON's numbers
    of a number column are checked as a whole (finite, within the bounds) and made floats, as
    `read_float` makes each; other values go one by one through the column's reader."""
    if kind.check is not None or not raws:
        return None
    if any(c.reader is read_datetime for c in kind.columns):
        return None
    names = kind.by_name.keys()
    # Each record an object with exactly the kind's columns: checked on the few distinct
    # orders its keys come in (a batch's records are written alike), not record by record.
    if set(map(type, raws)) != {dict}:
        return None
    if not all(len(order) == len(names) and names == set(order) for order in set(map(tuple, raws))):
        return None
    out: dict[str, list] = {}
    for col in kind.columns:
        column = list(map(itemgetter(col.name), raws))
        if col.reader is read_float:
            values = _plain_numbers(column, col)
        elif _reads_as_itself(col):
            values = _plain_texts(column, col)
        else:
            values = None
        if values is None:
            values = _read_column(column, col, dialect)
        if values is None:
            return None
        out[col.name] = values
    return out


def _reads_as_itself(col: Column) -> bool:
    """A column whose reader gives a plain text back as it came (text; a key other than an
    email or a name, which are lower-cased)."""
    return col.reader is read_text or (
        col.reader is read_key and col.ref.key not in ("email", "name")
    )


# A text `read_text` would change or refuse: empty, starting with a space or a formula's
# first character, ending with a space (or holding a NUL).
_FORMULA_FIRST = "=+-@"


def _plain_texts(column: list, col: Column) -> list | None:
    """The column as it came when every value is a text its reader would give back
    unchanged (no surrounding space, no formula, not empty, within the length), checked once
    over the distinct values joined; None otherwise (then read one by one)."""
    distinct = set(column) if set(map(type, column)) == {str} else None
    if not distinct:
        return None
    if "" in distinct or "\x00".join(distinct).count("\x00") != len(distinct) - 1:
        return None
    # Decided by each value's first and last characters (a few distinct ones however many
    # values): a regular expression over the joined values spent 10 ms on a batch's 10,000
    # account keys, these two sets a tenth of that.
    firsts, lasts = set(map(itemgetter(0), distinct)), set(map(itemgetter(-1), distinct))
    if any(c.isspace() or c in _FORMULA_FIRST for c in firsts) or any(c.isspace() for c in lasts):
        return None
    if col.max_length and max(map(len, distinct)) > col.max_length:
        return None
    return column


def _plain_numbers(column: list, col: Column) -> list[float] | None:
    """JSON's numbers of a `read_float` column as floats, or None (then read one by one)."""
    if not set(map(type, column)) <= {int, float}:  # bool is a type of its own here
        return None
    try:
        values = list(map(float, column))
    except OverflowError:  # an integer beyond a float: the reader names it
        return None
    # A sum is finite only when every value is (NaN and infinities carry through it; a sum
    # that overflows from finite values merely sends the batch the careful way).
    if not math.isfinite(sum(values)):
        return None
    if (col.minimum is not None and min(values) < col.minimum) or (
        col.maximum is not None and max(values) > col.maximum
    ):
        return None
    return values


def _read_column(column: list, col: Column, dialect: Dialect) -> list | None:
    """One column by its reader: a text read once however often it repeats."""
    reader = col.reader
    if set(map(type, column)) == {str}:  # all texts (a batch's dates): each distinct one read,
        known = {}  # then the column mapped through them, with no Python step per value
        try:
            for value in set(column):
                if value == "" or value.isspace() or "\x00" in value:
                    return None
                known[value] = reader(value, col, dialect)
        except Invalid:
            return None
        return list(map(known.__getitem__, column))
    known: dict = {}
    values = []
    append = values.append
    try:
        for value in column:
            if value.__class__ is str:
                seen = known.get(value, _UNREAD)
                if seen is _UNREAD:
                    if value == "" or value.isspace() or "\x00" in value:
                        return None
                    seen = known[value] = reader(value, col, dialect)
                append(seen)
            elif value is None:
                return None
            else:
                append(reader(value, col, dialect))
    except Invalid:
        return None
    return values
