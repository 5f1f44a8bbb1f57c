"""Report periods, pure: a month, a quarter, a year or a custom range, named in URLs as
`2026-03`, `2026-Q1`, `2026` or two dates; their first and last day (a period still running
ends today); the months and weeks inside one; and the periods offered in the filter bar."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

MONTH, QUARTER, YEAR, CUSTOM = "month", "quarter", "year", "custom"
KINDS = (MONTH, QUARTER, YEAR, CUSTOM)
EARLIEST = dt.date(2000, 1, 1)
MAX_CUSTOM_DAYS = 3660  # as the commands: ten years

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})-[Qq]([1-4])")
_YEAR = re.compile(r"([0-9]{4})")


class PeriodError(ValueError):
    """A period the URL names that is not one (the message says why)."""


@dataclass(frozen=True)
class Period:
    kind: str
    first: dt.date  # the period's first day
    last: dt.date  # its last day, or today while it runs
    full_last: dt.date  # its last day as a whole period
    key: str  # how the URL names it: 2026-03, 2026-Q1, 2026 ("" for custom)

    @property
    def running(self) -> bool:
        return self.last < self.full_last

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def label(self) -> str:
        if self.kind == MONTH:
            text = _month_name(self.first)
        elif self.kind == QUARTER:
            text = _("Q%(q)d %(year)d") % {
                "q": (self.first.month - 1) // 3 + 1,
                "year": self.first.year,
            }
        elif self.kind == YEAR:
            text = str(self.first.year)
        else:
            return _("%(first)s to %(last)s") % {
                "first": self.first.isoformat(),
                "last": self.last.isoformat(),
            }
        return _("%(period)s (to date)") % {"period": text} if self.running else text

    def previous(self) -> Period:
        """The period of the same kind just before this one (custom: the same length)."""
        if self.kind == CUSTOM:
            last = self.first - dt.timedelta(days=1)
            first = last - dt.timedelta(days=self.days - 1)
            return Period(CUSTOM, first, last, last, "")
        return period_containing(self.kind, self.first - dt.timedelta(days=1), today=self.last)


def _month_name(day: dt.date) -> str:
    from django.utils.dates import MONTHS

    return f"{MONTHS[day.month]} {day.year}"


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def week_start(day: dt.date) -> dt.date:
    """The Monday of `day`'s week."""
    return day - dt.timedelta(days=day.weekday())


def period_containing(kind: str, day: dt.date, *, today: dt.date) -> Period:
    if kind == MONTH:
        first, after = month_start(day), add_months(day, 1)
        key = f"{first.year:04d}-{first.month:02d}"
    elif kind == QUARTER:
        first = quarter_start(day)
        after = add_months(first, 3)
        key = f"{first.year:04d}-Q{(first.month - 1) // 3 + 1}"
    elif kind == YEAR:
        first, after = dt.date(day.year, 1, 1), dt.date(day.year + 1, 1, 1)
        key = f"{first.year:04d}"
    else:
        raise PeriodError(_("%(kind)s is not a kind of period") % {"kind": kind})
    full_last = after - dt.timedelta(days=1)
    return Period(kind, first, min(full_last, today), full_last, key)


def parse_period(kind: str, key: str, *, today: dt.date) -> Period:
    """The period `key` names for `kind` (month 2026-03, quarter 2026-Q1, year 2026); it must
    have begun by `today` and not before 2000. Raises PeriodError saying why not."""
    pattern = {MONTH: _MONTH, QUARTER: _QUARTER, YEAR: _YEAR}.get(kind)
    if pattern is None:
        raise PeriodError(_("choose month, quarter, year or custom"))
    match = pattern.fullmatch(key or "")
    examples = {MONTH: "2026-03", QUARTER: "2026-Q1", YEAR: "2026"}
    if match is None:
        raise PeriodError(
            _("“%(value)s” is not a %(kind)s (write it like %(example)s)")
            % {"value": (key or "")[:20], "kind": kind, "example": examples[kind]}
        )
    year = int(match.group(1))
    if kind == MONTH:
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(
                _("%(value)s: there is no month %(month)d") % {"value": key, "month": month}
            )
        first = dt.date(year, month, 1)
    elif kind == QUARTER:
        first = dt.date(year, 3 * (int(match.group(2)) - 1) + 1, 1)
    else:
        first = dt.date(year, 1, 1) if year >= 1 else EARLIEST
    if first < EARLIEST:
        raise PeriodError(_("%(value)s is before 2000") % {"value": key})
    if first > today:
        raise PeriodError(
            _("%(value)s has not begun yet (today is %(today)s)")
            % {"value": key, "today": today.isoformat()}
        )
    return period_containing(kind, first, today=today)


def custom_period(first: dt.date, last: dt.date, *, today: dt.date) -> Period:
    """A range of days; both ends between 2000-01-01 and today, in order, at most ten years."""
    if first < EARLIEST or last < EARLIEST:
        raise PeriodError(_("the range starts before 2000-01-01"))
    if first > today or last > today:
        raise PeriodError(
            _("the range reaches past today (%(today)s)") % {"today": today.isoformat()}
        )
    if first > last:
        raise PeriodError(
            _("%(first)s is after %(last)s")
            % {"first": first.isoformat(), "last": last.isoformat()}
        )
    if (last - first).days + 1 > MAX_CUSTOM_DAYS:
        raise PeriodError(_("a range covers at most %(days)d days") % {"days": MAX_CUSTOM_DAYS})
    return Period(CUSTOM, first, last, last, "")


def default_period(*, today: dt.date) -> Period:
    """The quarter so far: long enough to have outcomes, current enough to act on."""
    return period_containing(QUARTER, today, today=today)


def period_choices(kind: str, *, today: dt.date) -> list[tuple[str, str]]:
    """The periods of `kind` the filter bar offers, latest first: three years of months,
    twelve quarters, six years."""
    count = {MONTH: 36, QUARTER: 12, YEAR: 6}.get(kind, 0)
    out, day = [], today
    for _i in range(count):
        period = period_containing(kind, day, today=today)
        if period.first < EARLIEST:
            break
        out.append((period.key, period.label()))
        day = period.first - dt.timedelta(days=1)
    return out


def months_in(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first day of every month that [first, last] touches, in order."""
    out, month = [], month_start(first)
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out


def weeks_in(first: dt.date, last: dt.date) -> list[dt.date]:
    """The Monday of every week that [first, last] touches, in order."""
    out, week = [], week_start(first)
    while week <= last:
        out.append(week)
        week += dt.timedelta(days=7)
    return out
