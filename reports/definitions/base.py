"""What the report definitions share: their registry entry, the extra parameters a report
takes besides the filters (validated like them), and small helpers for rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from ..filters import ReportFilters
from ..tables import Report


class ParamError(ValueError):
    def __init__(self, name: str, message: str):
        self.name, self.message = name, message
        super().__init__(f"{name}: {message}")


@dataclass(frozen=True)
class Param:
    """A parameter of one report besides the filters: `by` (a breakdown), `trigger` (the
    funnel's trigger). `choices` whitelists text values; `integer` takes an id."""

    name: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    integer: bool = False
    default: str = ""

    def clean(self, raw: str | None):
        value = (raw or "").strip()
        if not value:
            return int(self.default) if self.integer and self.default else self.default
        if self.integer:
            if not value.isdigit() or len(value) > 18:
                raise ParamError(self.name, "not an id")
            return int(value)
        if value not in {c for c, _ in self.choices}:
            raise ParamError(self.name, f"choose one of {', '.join(c for c, _ in self.choices)}")
        return value


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: Callable[[], str]
    summary: Callable[[], str]
    build: Callable[..., Report]
    drill: Callable[..., object]
    params: tuple[Param, ...] = ()
    tables: tuple[str, ...] = field(default=())  # the tables a CSV export may ask for


def wanted(only: str | None):
    """Whether a table is to be computed: every table for the page, only the exported one
    for a CSV export (`only` its key), so an export reads what its table needs."""
    return lambda *tables: only is None or only in tables


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_label(day: dt.date) -> str:
    from django.utils.dates import MONTHS_3

    return f"{MONTHS_3[day.month].title()} {day.year}"


def as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def parse_month(value) -> dt.date | None:
    """A drill key month=YYYY-MM as its first day, or None."""
    try:
        year, month = str(value).split("-")
        return dt.date(int(year), int(month), 1)
    except (ValueError, TypeError):
        return None


def month_range(first: dt.date) -> tuple[dt.date, dt.date]:
    from ..periods import add_months

    return first, add_months(first, 1) - dt.timedelta(days=1)


def within(f: ReportFilters, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """[first, last] clipped to the period."""
    return max(first, f.date_from), min(last, f.date_to)
