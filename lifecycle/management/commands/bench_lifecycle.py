"""Benchmark of the night's stage step: for one organization and day, the stage rules and
activation as the night runs them (lifecycle_night_run: one frame, masks, one bulk update,
one bulk insert), then the same night again (the idempotent re-run, which must move
nothing). Prints JSON with the seconds, what each run wrote and the machine's load. It
writes what the night would (stage moves, activation dates, onboarding playbooks)."""

from __future__ import annotations

import json
import os
import time

from django.core.management.base import CommandError

from lifecycle.services import lifecycle_night_run
from orgs.cli import ProjectCommand, check_day, org_by_slug, parse_date, today_for
from orgs.tenancy import org_context


class Command(ProjectCommand):
    help = "Time the nightly lifecycle stage step for one organization and day (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--day", help="the night (YYYY-MM-DD; default: today)")

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        today, zone = today_for(org)
        day = parse_date(opts["day"], "--day") if opts.get("day") else today
        check_day(day, "--day", today=today, zone=zone)
        runs = []
        for label in ("first", "rerun"):
            started = time.perf_counter()
            with org_context(org):
                stats = lifecycle_night_run(org_id=org.pk, day=day)
            runs.append(
                {
                    "run": label,
                    "seconds": round(time.perf_counter() - started, 3),
                    "accounts": stats.accounts,
                    "moved": stats.moved,
                    "activated": stats.activated,
                    "churned": stats.churned,
                    "onboarding_playbooks": stats.onboarding_playbooks,
                }
            )
        if runs[1]["moved"] or runs[1]["activated"] or runs[1]["churned"]:
            raise CommandError("the re-run moved accounts: the step is not idempotent")
        self.stdout.write(
            json.dumps(
                {
                    "org": org.slug,
                    "day": day.isoformat(),
                    "runs": runs,
                    "load": [round(x, 2) for x in os.getloadavg()],
                },
                indent=2,
            )
        )
