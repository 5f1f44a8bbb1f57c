"""How every CSV a user downloads is written: the one switch (`?csv=local`) between the plain
CSV every program reads ("," between cells, "1234.5") and the one the organization's
spreadsheets open with a double click (pt-BR: ";" and "1234,5"), and the neutralizing of a
text cell a spreadsheet would run as a formula. The reports' exports and the data exports
(portfolio, playbooks, firings) both write through here."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from . import formatting

# A cell a spreadsheet would read as a formula starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

LOCAL = "local"  # the value of ?csv= that asks for the organization's conventions

_NUMBER_TEXT = re.compile(r"-?[0-9]+([.,][0-9]+)?")  # "1234.5", "-1234,5" (decimal comma)


def neutralize(text: str) -> str:
    """Text a spreadsheet must show as text, not run: a leading apostrophe before a formula
    character. Numbers are written as numbers and need none."""
    return f"'{text}" if text.startswith(FORMULA_START) else text


@dataclass(frozen=True)
class Dialect:
    delimiter: str = ","
    decimal_comma: bool = False


PLAIN = Dialect()


def dialect(spreadsheet_locale: str = "") -> Dialect:
    """The plain dialect, or with a locale its spreadsheets' (pt-BR: ";" and decimal comma)."""
    if not spreadsheet_locale:
        return PLAIN
    conv = formatting.conventions(spreadsheet_locale)
    return Dialect(conv.list_separator, conv.csv_decimal == ",")


def requested_locale(query, org_locale: str) -> str:
    """`?csv=local` → the organization's locale (its spreadsheets' conventions), else ""."""
    return org_locale if query.get("csv") == LOCAL else ""


def local_differs(org_locale: str) -> bool:
    """Whether the organization's spreadsheets want anything but the plain CSV (so a page
    offers the second link only where it changes something)."""
    return dialect(org_locale) != PLAIN


def cell(value, d: Dialect = PLAIN):
    """One cell: "" for nothing, a number as a number (decimal comma in that dialect), dates
    in ISO (every spreadsheet reads them), text neutralized."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return formatting.csv_number(value, decimal_comma=d.decimal_comma)
    if isinstance(value, str):
        if _NUMBER_TEXT.fullmatch(value):
            return value  # a number written as text (a negative one starts with "-")
        return neutralize(value)
    return value


def lines(
    header: list[str],
    rows: Iterable[Iterable],
    *,
    d: Dialect = PLAIN,
    bom: bool = False,
    preamble: Iterable[str] = (),
    cells_ready: bool = False,
) -> Iterator[str]:
    """The `preamble` lines (one cell each), the header (already in the reader's language:
    it is read as given) and the rows as CSV lines, a line at a time, for a streaming
    response. The rows are read as the lines are; each value goes through `cell`, unless
    `cells_ready` (a caller that wrote its cells with `cell`'s rules already: the reports)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=d.delimiter)

    def emit(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    head = [emit([neutralize(str(line))]) for line in preamble]
    head.append(emit([neutralize(str(h)) for h in header]))
    if bom:
        head[0] = "\ufeff" + head[0]
    return _stream(head, rows, d, emit, cells_ready)


def _stream(head: list[str], rows, d: Dialect, emit, cells_ready: bool) -> Iterator[str]:
    yield from head
    if cells_ready:
        for row in rows:
            yield emit(row)
    else:
        for row in rows:
            yield emit([cell(v, d) for v in row])
