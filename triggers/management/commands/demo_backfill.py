"""Give the demo organization a history: health models, playbook templates and triggers, then
the nightly chain over the past year with simulated CSM work on what fired.

Days: every day of the last --daily days (30), and before that every 7th day plus each 1st of the
month (the monthly run), back to --days ago: 88 days for a year. Scoring every day of a whole
year on SQLite takes minutes; this keeps the backfill under a minute while the charts, fitness
and reports still have a year of history (fitness takes a score on the day or up to 6 days
before it, so weekly is as sparse as it can be). Re-running does nothing once the demo is
backfilled.

While it runs, logging is held at WARNING (the chain's INFO lines, thousands of them, would
scroll the logins away; -v 2 keeps them) and one progress line says how far it is. It ends
with the logins, so that `make demo` shows them last, right before the site is served."""

import contextlib
import datetime as dt
import logging
import time

import numpy as np
from django.core.management.base import CommandError

from accounts.demo import demo_logins_lines
from health.demo import health_models_create_defaults
from health.models import HealthRun
from health.services import usage_preload
from orgs.cli import EARLIEST_DAY, MAX_RANGE_DAYS, ProjectCommand
from orgs.models import Organization
from orgs.tenancy import org_context
from orgs.timezones import org_today
from triggers.demo import (
    demo_configuration_create,
    history_notifications_read,
    simulate_csm_work,
)
from triggers.services import nightly_run_inline

# On a terminal the progress line is redrawn in place every day; in a log, a line every so
# many days.
PROGRESS_EVERY = 10


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


@contextlib.contextmanager
def quiet_logging(level: int = logging.INFO):
    """Drop log records at `level` and below (every logger, Celery's eager tasks included)
    for the duration; warnings and errors still show."""
    previous = logging.root.manager.disable
    logging.disable(level)
    try:
        yield
    finally:
        logging.disable(previous)


class Progress:
    """`backfill: day 57/114 (2025-11-03) 34 s`: redrawn in place on a terminal (carriage
    return), else printed every PROGRESS_EVERY days and on the last."""

    def __init__(self, stdout, total: int):
        self.stdout, self.total = stdout, total
        self.tty = stdout.isatty()
        self.started = time.perf_counter()
        self.drawn = False

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def day(self, i: int, day: dt.date) -> None:
        text = f"backfill: day {i}/{self.total} ({day}) {self.elapsed():.0f} s"
        if self.tty:
            self.stdout.write(f"\r  {text}", ending="")
            self.stdout.flush()
            self.drawn = True
        elif i % PROGRESS_EVERY == 0 or i == self.total:
            self.stdout.write(f"  {text}")

    def close(self) -> None:
        if self.drawn:
            self.stdout.write("")


class Command(ProjectCommand):
    help = (
        "Configure the demo's health models and triggers, backfill a year of history, and "
        "print the demo logins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo")
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--daily", type=int, default=30)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--force", action="store_true", help="backfill even if done before")
        parser.add_argument(
            "--url", default="", help="where the site will be served, printed with the logins"
        )

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
        else:
            quiet = quiet_logging() if opts["verbosity"] < 2 else contextlib.nullcontext()
            with quiet:
                self._backfill(org, today, opts)
        for line in demo_logins_lines(org, url=opts["url"] or None):
            self.stdout.write(line)

    def _backfill(self, org: Organization, today: dt.date, opts: dict) -> None:
        models = health_models_create_defaults(org=org)
        config = demo_configuration_create(org=org)
        if models or config["triggers"]:
            self.stdout.write(
                f"{org.slug}: {len(models)} health models, {config['templates']} playbook "
                f"templates, {config['triggers']} triggers"
            )
        rng = np.random.default_rng(opts["seed"])
        days = backfill_days(today, opts["days"], opts["daily"])
        self.stdout.write(
            f"{org.slug}: backfilling {len(days)} days from {days[0]} to {today} "
            "(the nightly chain and simulated CSM work)"
        )
        progress = Progress(self.stdout, len(days))
        dense = usage_preload(org=org, first_day=days[0], last_day=today)
        totals = {"playbooks": 0, "alerts": 0, "closed": 0}
        for i, day in enumerate(days, 1):
            out = nightly_run_inline(org=org, day=day, is_demo=True, dense=dense)
            work = simulate_csm_work(org=org, day=day, rng=rng)
            totals["playbooks"] += out["playbooks"] + work["alerts_confirmed"]
            totals["alerts"] += out["alerts"]
            totals["closed"] += work["closed"]
            progress.day(i, day)
        progress.close()
        read = history_notifications_read(org=org, today=today)
        self.stdout.write(
            f"{org.slug}: backfilled {len(days)} days in {progress.elapsed():.0f} s: "
            f"{totals['playbooks']} playbooks ({totals['closed']} closed), {totals['alerts']} "
            f"alerts; {read} notifications of the simulated past marked read and emailed"
        )
