"""What the operators' management commands share: a base class that turns every expected
failure (a bad argument, an unreachable database or broker) into one line on stderr and a
non-zero exit, never a traceback; finding the organization; and the day or range of days
(--date, or --from/--to) they act on, within bounds.

The bounds on days, and why:
- no day before EARLIEST_DAY (2000-01-01): nothing this platform scores is older, and 0001-01-01
  or 1024-06-30 is a typo. (A bound from the organization's own data would refuse a backfill
  loaded in the wrong order, and a day before any data is harmless: it scores nobody.)
- no day after today in the organization's time zone: a future day has no signals yet, and
  scoring it would write scores and fire triggers for a day that has not happened.
- a range of at most MAX_RANGE_DAYS (3660, ten years with leap days to spare): every day is a
  full night's run, so a longer range is a typo (a century is 36,525 nights), not a backfill.
"""

from __future__ import annotations

import datetime as dt
import sys
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

from .models import Organization
from .timezones import org_today, org_zone

EARLIEST_DAY = dt.date(2000, 1, 1)
MAX_RANGE_DAYS = 3660

DATABASE_HINT = "Start it with `make services` or fix DATABASE_URL"
SQLITE_HINT = "Check that its folder exists and is writable, or fix DATABASE_URL"
BROKER_HINT = "Start it with `make services` or fix REDIS_URL"


# -- one line per failure ----------------------------------------------------------------


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip().rstrip(".")


def database_location(db: dict) -> str:
    if db["ENGINE"].endswith("sqlite3"):
        return str(db["NAME"])
    host = db.get("HOST") or "localhost"
    port = db.get("PORT") or "default port"
    return f"{host}:{port}/{db.get('NAME', '')}"


def broker_location(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or 6379
    return f"{host}:{port}{parts.path or '/0'}"


def broker_version(url: str, *, timeout: int = 3) -> str:
    """The version of the Redis at `url`; raises what the client raises if it does not answer."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return client.info("server")["redis_version"]
    finally:
        client.close()


def require_broker(url: str, *, timeout: int = 3) -> None:
    """CommandError unless the broker at `url` answers (no URL: tasks run in-process), so a
    command does not sit in Celery's reconnect loop before it fails."""
    if not url:
        return
    try:
        broker_version(url, timeout=timeout)
    except Exception as exc:  # any failure to answer is the one-line reason
        raise CommandError(
            f"broker unreachable at {broker_location(url)}: {first_line(exc)}. {BROKER_HINT}"
        ) from None


def database_problem(exc: DatabaseError, alias: str = DEFAULT_DB_ALIAS) -> str:
    """One line for a database error: unreachable (the connection never opened), or what the
    database said (with a hint when the tables are missing)."""
    connection = connections[alias]
    where = database_location(connection.settings_dict)
    if connection.connection is None:  # it failed while connecting
        hint = SQLITE_HINT if connection.vendor == "sqlite" else DATABASE_HINT
        return f"database unreachable at {where}: {first_line(exc)}. {hint}"
    reason = first_line(exc)
    if "no such table" in reason or "does not exist" in reason:
        return f"database at {where}: {reason}. Run `manage.py migrate` first"
    return f"database error at {where}: {reason} (run with --traceback for the details)"


def _broker_errors() -> tuple[type[BaseException], ...]:
    try:
        from kombu.exceptions import OperationalError
    except ImportError:  # pragma: no cover - kombu comes with Celery
        return ()
    return (OperationalError,)


class _OneLineParser(CommandParser):
    """An argparse error (a missing --org, --accounts abc) is one line, not usage and error."""

    def error(self, message):
        if self.called_from_command_line:
            sys.stderr.write(f"CommandError: {message} (see --help)\n")
            sys.exit(2)
        raise CommandError(f"Error: {message}")


class ProjectCommand(BaseCommand):
    """The base of every command of this project: CommandError for an unreachable database or
    broker, with where and why, and one-line argument errors. `--traceback` still shows all."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _OneLineParser  # subparsers (add_subparsers) take the same class
        return parser

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DatabaseError as exc:
            raise CommandError(database_problem(exc)) from exc
        except _broker_errors() as exc:
            from django.conf import settings

            where = broker_location(getattr(settings, "REDIS_URL", "") or "")
            raise CommandError(
                f"broker unreachable at {where}: {first_line(exc)}. {BROKER_HINT}"
            ) from exc


# -- the organization and its days ---------------------------------------------------------


def org_by_slug(slug: str) -> Organization:
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise CommandError(f"--org: no organization with slug {slug!r}")
    return org


def parse_date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        shown = value if len(str(value)) <= 40 else f"{str(value)[:37]}..."
        raise CommandError(f"{option}: {shown!r} is not a date (YYYY-MM-DD)") from None


def check_day(day: dt.date, option: str, *, today: dt.date, zone: str) -> dt.date:
    """`day` within the bounds (see the module), or CommandError naming `option`."""
    if day < EARLIEST_DAY:
        raise CommandError(
            f"{option}: {day} is before {EARLIEST_DAY}, the earliest day a run may cover"
        )
    if day > today:
        raise CommandError(
            f"{option}: {day} is in the future (today is {today} in {zone}); "
            "a day can be run once it has begun"
        )
    return day


def check_range(first: dt.date, last: dt.date, option: str = "--from") -> None:
    if first > last:
        raise CommandError(f"{option}: {first} is after --to {last}")
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise CommandError(
            f"{option}: {first} to {last} is {days:,} days; a run covers at most "
            f"{MAX_RANGE_DAYS:,} (ten years), so split it"
        )


def today_for(org: Organization | None) -> tuple[dt.date, str]:
    """Today and the zone's name for `org`, or for the zone a new organization gets."""
    zone = org_zone(org) if org is not None else ZoneInfo(_DEFAULT_ZONE)
    return timezone.now().astimezone(zone).date(), zone.key


_DEFAULT_ZONE = Organization._meta.get_field("timezone").default


def add_day_options(parser) -> None:
    parser.add_argument("--date", help="the day (default: today in the organization's zone)")
    parser.add_argument("--from", dest="date_from", help="first day of a range (a backfill)")
    parser.add_argument("--to", dest="date_to", help="last day of a range (default: today)")


def days_from_options(opts: dict, *, org: Organization) -> list[dt.date]:
    """The days --date or --from/--to name for `org` (default: its today), within bounds."""
    if opts.get("date") and (opts.get("date_from") or opts.get("date_to")):
        raise CommandError("--date: give either --date or --from/--to, not both")
    if opts.get("date_to") and not opts.get("date_from"):
        raise CommandError("--to: give --from too (or --date for one day)")
    today, zone = org_today(org), org_zone(org).key
    if opts.get("date_from"):
        first = check_day(parse_date(opts["date_from"], "--from"), "--from", today=today, zone=zone)
        last = today
        if opts.get("date_to"):
            last = check_day(parse_date(opts["date_to"], "--to"), "--to", today=today, zone=zone)
        check_range(first, last)
    elif opts.get("date"):
        first = last = check_day(
            parse_date(opts["date"], "--date"), "--date", today=today, zone=zone
        )
    else:
        first = last = today
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def whole_number(option: str, value, low: int, high: int | None = None) -> int:
    """An integer option within [low, high], or CommandError naming it."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CommandError(f"{option} must be a whole number (got {value!r})") from None
    if number < low or (high is not None and number > high):
        bounds = f"between {low:,} and {high:,}" if high is not None else f"at least {low:,}"
        raise CommandError(f"{option} must be {bounds} (got {number:,})")
    return number
