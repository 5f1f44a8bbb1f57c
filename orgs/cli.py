"""What the operators' management commands share: finding the organization, and the day or
range of days (--date, or --from/--to) they act on, with one-line errors."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError

from .models import Organization


def org_by_slug(slug: str) -> Organization:
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise CommandError(f"--org: no organization with slug {slug!r}")
    return org


def parse_date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


def add_day_options(parser) -> None:
    parser.add_argument("--date", help="the day (default: today in the organization's zone)")
    parser.add_argument("--from", dest="date_from", help="first day of a range (a backfill)")
    parser.add_argument("--to", dest="date_to", help="last day of a range (default: today)")


def days_from_options(opts: dict, today: dt.date) -> list[dt.date]:
    if opts.get("date") and (opts.get("date_from") or opts.get("date_to")):
        raise CommandError("--date: give either --date or --from/--to, not both")
    if opts.get("date_from"):
        first = parse_date(opts["date_from"], "--from")
        last = parse_date(opts["date_to"], "--to") if opts.get("date_to") else today
    else:
        first = last = parse_date(opts["date"], "--date") if opts.get("date") else today
    if first > last:
        raise CommandError(f"--from: {first} is after --to {last}")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
