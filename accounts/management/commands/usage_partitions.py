"""`manage.py usage_partitions [--months-ahead N] [--retention-days N] [--date D] [--dry-run]`:
what the night does to the daily usage table before scoring, on demand. Creates this month's
partition and N ahead on PostgreSQL (moving rows that landed in DEFAULT), then, with a
retention (USAGE_RAW_RETENTION_DAYS or --retention-days), rolls every whole month before the
kept days up into monthly totals and drops it. --dry-run writes nothing and lists the months it
would roll up with their rows. Prints JSON."""

import json

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.services import usage_partitions_maintain
from orgs.cli import ProjectCommand, parse_date, whole_number


class Command(ProjectCommand):
    help = "Create the usage table's monthly partitions ahead and apply the raw usage retention."

    def add_arguments(self, parser):
        parser.add_argument(
            "--months-ahead",
            default=str(settings.USAGE_PARTITION_MONTHS_AHEAD),
            help="months after this one to create (default: USAGE_PARTITION_MONTHS_AHEAD)",
        )
        parser.add_argument(
            "--retention-days",
            help="raw days to keep (default: USAGE_RAW_RETENTION_DAYS; empty keeps everything)",
        )
        parser.add_argument("--date", help="today (default: the server's date)")
        parser.add_argument("--dry-run", action="store_true", help="list, write nothing")

    def handle(self, *args, **opts):
        months_ahead = whole_number("--months-ahead", opts["months_ahead"], 1, 120)
        retention = settings.USAGE_RAW_RETENTION_DAYS
        if opts["retention_days"] is not None and not opts["retention_days"].strip():
            retention = None
        elif opts["retention_days"] is not None:
            retention = whole_number(
                "--retention-days",
                opts["retention_days"],
                settings.USAGE_RAW_RETENTION_MIN_DAYS,
                36600,
            )
        today = timezone.now().date()
        if opts["date"]:
            today = parse_date(opts["date"], "--date")
            if today > timezone.now().date():
                raise CommandError(f"--date: {today} is in the future")
        result = usage_partitions_maintain(
            today=today,
            months_ahead=months_ahead,
            retention_days=retention,
            dry_run=opts["dry_run"],
        )
        self.stdout.write(json.dumps(result.as_dict(), indent=2))
