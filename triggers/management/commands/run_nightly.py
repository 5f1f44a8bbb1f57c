"""Run the nightly chain in the foreground, for operators and backfills: score, nightly
triggers, playbooks and alerts (and on day 1 the monthly run), day by day."""

import json
import time

from django.core.management.base import CommandError

from health.services import NightRunning
from orgs.cli import ProjectCommand, add_day_options, days_from_options, org_by_slug, whole_number
from triggers.selectors import nights_status
from triggers.services import nightly_run_inline

# How often --wait looks at the running night again.
WAIT_POLL_SECONDS = 2


class Command(ProjectCommand):
    help = "Run the nightly chain for --date, or for each day from --from to --to."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        add_day_options(parser)
        parser.add_argument("--digest", action="store_true", help="send the email digest after")
        parser.add_argument("--json", action="store_true", help="print one JSON line per day")
        parser.add_argument(
            "--wait",
            nargs="?",
            const=6 * 3600,
            default=None,
            metavar="SECONDS",
            help="a day whose night is running: wait for it to finish (at most SECONDS, "
            "default 6 h) instead of stopping; it is not run again",
        )

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        days = days_from_options(opts, org=org)
        started = time.perf_counter()
        totals = {"scored": 0, "fired": 0, "playbooks": 0, "alerts": 0}
        wait = None if opts["wait"] is None else whole_number("--wait", opts["wait"], 1, 86400)
        for day in days:
            try:
                out = nightly_run_inline(org=org, day=day)
            except NightRunning as exc:
                if wait is None:
                    raise CommandError(
                        f"{exc}. Wait for it with --wait, or see `manage.py nightly_status "
                        f"--org {org.slug} --date {day}`"
                    ) from None
                self.stderr.write(f"{exc}; waiting for it (--wait)")
                night = self._wait(org, day, wait)
                self.stdout.write(
                    f"{org.slug} {day}: the running night finished {night['state']}; not run again"
                )
                continue
            for key in totals:
                totals[key] += out[key]
            if opts["json"]:
                self.stdout.write(json.dumps(out, default=str))
            elif len(days) == 1 or day.day == 1 or day == days[-1]:
                self.stdout.write(
                    f"{org.slug} {day}: scored {out['scored']}, fired {out['fired']}, "
                    f"playbooks {out['playbooks']}, alerts {out['alerts']} "
                    f"({time.perf_counter() - started:.1f} s)"
                )
        if opts["digest"]:
            from playbooks.services import notifications_send_digest

            sent = notifications_send_digest(org=org)
            self.stdout.write(f"digest sent to {sent} user(s)")
        self.stdout.write(f"{org.slug}: {json.dumps(totals)}")

    def _wait(self, org, day, seconds: int) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            (night,) = nights_status(org_ids=[org.pk], days=[day])
            if night["state"] in ("done", "failed"):
                return night
            if time.monotonic() > deadline:
                raise CommandError(
                    f"--wait: the night of {day} for {org.slug} is still {night['state']} "
                    f"after {seconds} s"
                )
            time.sleep(WAIT_POLL_SECONDS)
