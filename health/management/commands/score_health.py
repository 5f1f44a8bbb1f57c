"""Score health for one day or a range of days (backfills), in this process or through Celery."""

import time

from django.conf import settings

from health import services
from health.models import HealthRun, RunState
from orgs.cli import (
    ProjectCommand,
    add_day_options,
    days_from_options,
    org_by_slug,
    require_broker,
)
from orgs.tenancy import org_context


class Command(ProjectCommand):
    help = "Score every account of an organization for a day (--date) or a range (--from/--to)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        add_day_options(parser)
        parser.add_argument(
            "--missing-only",
            action="store_true",
            help="skip days that already have a finished run (fast re-runs of make demo)",
        )
        parser.add_argument(
            "--queue", action="store_true", help="send the runs to Celery workers instead"
        )

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        days = days_from_options(opts, org=org)
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

            require_broker(settings.REDIS_URL)

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
