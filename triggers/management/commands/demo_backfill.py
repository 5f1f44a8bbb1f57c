"""Give the demo organization a history: health models, playbook templates and triggers, then
the nightly chain over the past year with simulated CSM work on what fired.

Days: every day of the last --daily days (60), and before that every 7th day plus each 1st of the
month (the monthly run), back to --days ago. Scoring every day of a whole year on SQLite
takes minutes; this keeps `make demo` near a minute while the charts, fitness and reports
still have a year of history. Re-running does nothing once the demo is backfilled."""

import datetime as dt
import time

import numpy as np
from django.core.management.base import CommandError

from health.demo import health_models_create_defaults
from health.models import HealthRun
from health.services import usage_preload
from orgs.cli import EARLIEST_DAY, MAX_RANGE_DAYS, ProjectCommand
from orgs.models import Organization
from orgs.tenancy import org_context
from orgs.timezones import org_today
from triggers.chain import run_day_inline
from triggers.demo import (
    demo_configuration_create,
    history_notifications_read,
    simulate_csm_work,
)


def backfill_days(today: dt.date, days: int, daily: int) -> list[dt.date]:
    start = today - dt.timedelta(days=days)
    dense_from = today - dt.timedelta(days=daily)
    out = set()
    d = start
    while d <= today:
        if d >= dense_from or (d - start).days % 7 == 0 or d.day == 1:
            out.add(d)
        d += dt.timedelta(days=1)
    return sorted(out)


class Command(ProjectCommand):
    help = "Configure the demo's health models and triggers and backfill a year of history."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo")
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--daily", type=int, default=60)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--force", action="store_true", help="backfill even if done before")

    def handle(self, *args, **opts):
        if not 1 <= opts["days"] <= MAX_RANGE_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_RANGE_DAYS:,} (ten years)")
        if not 0 <= opts["daily"] <= opts["days"]:
            raise CommandError("--daily must be between 0 and --days")
        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(f"--org: no organization with slug {opts['org']!r}; run seed_demo")
        today = org_today(org)
        if today - dt.timedelta(days=opts["days"]) < EARLIEST_DAY:
            raise CommandError(
                f"--days: {opts['days']:,} days back from {today} is before {EARLIEST_DAY}"
            )
        with org_context(org):
            done = HealthRun.objects.filter(date=today, state="done").exists()
        if done and not opts["force"]:
            self.stdout.write(f"{org.slug}: history already backfilled (up to {today}).")
            return
        models = health_models_create_defaults(org=org)
        config = demo_configuration_create(org=org)
        self.stdout.write(
            f"{org.slug}: {len(models)} health models, {config['templates']} playbook "
            f"templates, {config['triggers']} triggers"
        )
        rng = np.random.default_rng(opts["seed"])
        days = backfill_days(today, opts["days"], opts["daily"])
        started = time.perf_counter()
        dense = usage_preload(org=org, first_day=days[0], last_day=today)
        self.stdout.write(f"  usage loaded in {time.perf_counter() - started:.1f} s")
        totals = {"playbooks": 0, "alerts": 0, "closed": 0}
        for i, day in enumerate(days, 1):
            out = run_day_inline(org=org, day=day, is_demo=True, dense=dense)
            work = simulate_csm_work(org=org, day=day, rng=rng)
            totals["playbooks"] += out["playbooks"] + work["alerts_confirmed"]
            totals["alerts"] += out["alerts"]
            totals["closed"] += work["closed"]
            if i % 20 == 0 or i == len(days):
                self.stdout.write(
                    f"  {day}: {i}/{len(days)} days, {totals['playbooks']} playbooks, "
                    f"{totals['alerts']} alerts, {totals['closed']} closed "
                    f"({time.perf_counter() - started:.0f} s)"
                )
        read = history_notifications_read(org=org, today=today)
        self.stdout.write(
            f"{org.slug}: backfilled {len(days)} days in {time.perf_counter() - started:.0f} s "
            f"({read} notifications of the simulated past marked read and emailed)"
        )
