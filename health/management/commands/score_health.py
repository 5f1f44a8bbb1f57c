"""Score health for one day or a range of days (backfills), in this process or through Celery."""

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from health import services
from health.models import HealthRun, RunState
from health.selectors import org_today
from orgs.models import Organization
from orgs.tenancy import org_context


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Score every account of an organization for a day (--date) or a range (--from/--to)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--date", help="the day to score (default: today in the org's zone)")
        parser.add_argument("--from", dest="date_from", help="first day of a backfill")
        parser.add_argument("--to", dest="date_to", help="last day of a backfill (default: today)")
        parser.add_argument(
            "--missing-only",
            action="store_true",
            help="skip days that already have a finished run (fast re-runs of make demo)",
        )
        parser.add_argument(
            "--queue", action="store_true", help="send the runs to Celery workers instead"
        )

    def handle(self, *args, **opts):
        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(f"--org: no organization with slug {opts['org']!r}")
        if opts["date"] and (opts["date_from"] or opts["date_to"]):
            raise CommandError("--date: give either --date or --from/--to, not both")
        today = org_today(org)
        if opts["date_from"]:
            first = _date(opts["date_from"], "--from")
            last = _date(opts["date_to"], "--to") if opts["date_to"] else today
        else:
            first = last = _date(opts["date"], "--date") if opts["date"] else today
        if first > last:
            raise CommandError(f"--from: {first} is after --to {last}")
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        if opts["missing_only"]:
            with org_context(org):
                done = set(
                    HealthRun.objects.filter(date__in=days, state=RunState.DONE).values_list(
                        "date", flat=True
                    )
                )
            days = [d for d in days if d not in done]
        if opts["queue"]:
            from health.tasks import health_start_run

            for d in days:
                health_start_run.delay(org.pk, d.isoformat(), True)
            self.stdout.write(f"queued {len(days)} day(s) for {org.slug}")
            return
        started = time.perf_counter()
        accounts = 0
        for i, d in enumerate(days, 1):
            run = services.health_score_day(org=org, day=d)
            accounts += run.accounts_scored
            if len(days) <= 3 or i % 30 == 0 or i == len(days):
                self.stdout.write(
                    f"{org.slug} {d}: {run.state}, {run.accounts_scored} accounts "
                    f"({i}/{len(days)} days, {time.perf_counter() - started:.1f} s)"
                )
        if not days:
            self.stdout.write(f"{org.slug}: nothing to score")
