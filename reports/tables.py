"""What a report is made of, whatever shows it: headline figures, tables of columns and rows,
charts and the definitions in plain words. The page renders it, the CSV export streams one of
its tables, and `manage.py report` prints it, so all three show the same numbers.

Each number may name a drill-down (`Column.drill`): the list of accounts, playbooks or firings
behind it, reached with the report's filters and the row's keys (reports/drill.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from orgs import formatting, spreadsheets

DASH = "—"

TEXT, INT, PCT, MONEY, DAYS, SCORE, POINTS, DATE = (
    "text",
    "int",
    "pct",
    "money",
    "days",
    "score",
    "points",
    "date",
)
# How many decimals each kind shows (and exports).
DECIMALS = {INT: 0, PCT: 1, MONEY: 0, DAYS: 0, SCORE: 1, POINTS: 1}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = INT
    drill: str = ""  # the drill-down behind each number of this column ("" for none)
    help: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind not in (TEXT, DATE)


@dataclass
class Row:
    values: dict
    keys: dict = field(default_factory=dict)  # what identifies the row to a drill-down
    link: str = ""  # where the row's name links to
    total: bool = False


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[Row]
    totals: list[Row] = field(default_factory=list)
    note: str = ""
    empty: str = ""

    def all_rows(self) -> list[Row]:
        return [*self.rows, *self.totals]


@dataclass
class Figure:
    """A headline number: the value, how it reads, and the drill-down behind it."""

    key: str
    label: str
    value: float | int | None
    kind: str = INT
    drill: str = ""
    keys: dict = field(default_factory=dict)
    note: str = ""
    tone: str = ""  # "good", "bad", "warning" or "": the tile's colour, always with words
    table: str = ""  # the table the drill-down belongs to
    column: str = ""


@dataclass
class Chart:
    id: str
    kind: str  # the drawing in static/js/charts.js
    title: str
    data: dict
    description: str  # what it shows, for screen readers (the same figures are in a table)

    @property
    def data_id(self) -> str:
        return f"{self.id}-data"


@dataclass
class Report:
    name: str
    title: str
    intro: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    definitions: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # what one report's template needs besides

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)


# -- values as shown ----------------------------------------------------------------------


def rounded(value, kind: str):
    """The value as the page shows it, still a number (or None, or text)."""
    if value is None:
        return None
    if kind in (TEXT,):
        return value
    if kind == DATE:
        return value.isoformat() if isinstance(value, dt.date) else value
    if isinstance(value, Decimal):
        value = float(value)
    places = DECIMALS.get(kind, 0)
    number = round(float(value), places)
    return int(number) if places == 0 else number


def display(value, kind: str, currency: str = "") -> str:
    """The value as text on the page: grouped digits, a % or the currency, "—" for none."""
    shown = rounded(value, kind)
    if shown is None:
        return DASH
    if kind in (TEXT, DATE):
        return str(shown)
    # in the organization's locale (orgs.formatting): "R$ 1.234", "12,5%" for pt-BR
    places = DECIMALS.get(kind, 0)
    if kind == PCT:
        return formatting.format_percent(shown, places)
    if kind == MONEY:
        return formatting.format_money(shown, places, currency=currency)
    text = formatting.format_number(shown, places)
    if kind == POINTS and shown > 0:
        return f"+{text}"
    return text


def whole(n) -> int:
    """A count as ngettext takes it to pick the plural form (None is 0)."""
    return int(n or 0)


def grouped(n) -> dict:
    """{"n": the count with its digits grouped as the tables group them}, to fill
    `ngettext("%(n)s playbook", "%(n)s playbooks", whole(x)) % grouped(x)` ("1,637
    playbooks"); written in place, so makemessages finds the strings."""
    return {"n": formatting.format_number(whole(n))}


# -- CSV ------------------------------------------------------------------------------------

# The one way every export writes (orgs.spreadsheets): kept here under their old names.
FORMULA_START = spreadsheets.FORMULA_START
neutralize = spreadsheets.neutralize


def csv_cell(value, kind: str, *, decimal_comma: bool = False):
    shown = rounded(value, kind)
    if shown is None:
        return DASH
    if isinstance(shown, int | float):
        return formatting.csv_number(shown, decimal_comma=True) if decimal_comma else shown
    return neutralize(str(shown))


def csv_header(column: Column, currency: str) -> str:
    """The column's label with its unit, as a spreadsheet reads the bare numbers below it."""
    unit = {
        PCT: "%",
        MONEY: currency,
        DAYS: _("days"),
        POINTS: _("points"),
    }.get(column.kind, "")
    if not unit:
        return neutralize(str(column.label))
    return neutralize(_("%(label)s (%(unit)s)") % {"label": column.label, "unit": unit})


def csv_lines(
    table: Table, *, currency: str, preamble: list[str] = (), spreadsheet_locale: str = ""
) -> Iterator[str]:
    """The table as CSV lines, a line at a time (for a streaming response): the filters as
    the first line(s), the header, the rows, the totals."""
    return csv_stream(
        table.columns,
        table.all_rows(),
        currency=currency,
        preamble=preamble,
        spreadsheet_locale=spreadsheet_locale,
    )


def csv_stream(
    columns: list[Column],
    rows,
    *,
    currency: str,
    preamble: list[str] = (),
    spreadsheet_locale: str = "",
) -> Iterator[str]:
    """Any rows (an iterator is read as it goes) as CSV lines under `preamble` and a header.
    With `spreadsheet_locale`, in that locale's spreadsheet conventions (pt-BR: ";" between
    cells and a decimal comma), else the plain CSV every program reads (",", "1234.5")."""
    dialect = spreadsheets.dialect(spreadsheet_locale)
    decimal_comma = dialect.decimal_comma
    return spreadsheets.lines(
        [csv_header(c, currency) for c in columns],
        (
            [csv_cell(row.values.get(c.key), c.kind, decimal_comma=decimal_comma) for c in columns]
            for row in rows
        ),
        d=dialect,
        preamble=preamble,
        cells_ready=True,  # csv_cell wrote them
    )
