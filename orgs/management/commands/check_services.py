"""`manage.py check_services`: one line per backing service (database, broker), non-zero exit
when one is unreachable, so `make stack` and deploy scripts fail early with a clear reason."""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import connections

from orgs.cli import (
    SQLITE_HINT,
    ProjectCommand,
    broker_location,
    broker_version,
    database_location,
    first_line,
)

HINT = "Start it with `make services` or fix {var}"


def check_database(*, alias: str = "default", timeout: int = 3) -> tuple[bool, str]:
    connection = connections[alias]
    db = connection.settings_dict
    where = database_location(db)
    if connection.vendor == "postgresql":
        db.setdefault("OPTIONS", {})["connect_timeout"] = timeout
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SHOW server_version")
                version = f"postgresql {cursor.fetchone()[0].split()[0]}"
            elif connection.vendor == "sqlite":
                cursor.execute("SELECT sqlite_version()")
                version = f"sqlite {cursor.fetchone()[0]}"
            else:
                cursor.execute("SELECT 1")
                version = connection.vendor
    except Exception as exc:  # any failure to connect is reported, never raised
        hint = SQLITE_HINT if connection.vendor == "sqlite" else HINT.format(var="DATABASE_URL")
        return False, f"database: UNREACHABLE at {where}: {first_line(exc)}. {hint}"
    finally:
        connection.close()
    return True, f"database: ok ({version} at {where})"


def check_broker(*, url: str, timeout: int = 3) -> tuple[bool, str]:
    if not url:
        return True, "broker: not configured (REDIS_URL unset: tasks run in-process)"
    where = broker_location(url)
    try:
        version = broker_version(url, timeout=timeout)
    except Exception as exc:
        return False, (
            f"broker: UNREACHABLE at {where}: {first_line(exc)}. {HINT.format(var='REDIS_URL')}"
        )
    return True, f"broker: ok (redis {version} at {where})"


class Command(ProjectCommand):
    help = "Check that the database and (if REDIS_URL is set) the broker answer."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout", type=int, default=3, help="Seconds to wait for each service."
        )

    def handle(self, *args, timeout: int, **options):
        results = [
            check_database(timeout=timeout),
            check_broker(url=settings.REDIS_URL, timeout=timeout),
        ]
        for ok, line in results:
            (self.stdout if ok else self.stderr).write(line)
            self.stdout.flush()
        if not all(ok for ok, _ in results):
            sys.exit(1)
