"""Run the nightly chain in the foreground, for operators and backfills: score, nightly
triggers, playbooks and alerts (and on day 1 the monthly run), day by day."""

import json
import time

from orgs.cli import ProjectCommand, add_day_options, days_from_options, org_by_slug
from triggers.services import nightly_run_inline


class Command(ProjectCommand):
    help = "Run the nightly chain for --date, or for each day from --from to --to."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        add_day_options(parser)
        parser.add_argument("--digest", action="store_true", help="send the email digest after")
        parser.add_argument("--json", action="store_true", help="print one JSON line per day")

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        days = days_from_options(opts, org=org)
        started = time.perf_counter()
        totals = {"scored": 0, "fired": 0, "playbooks": 0, "alerts": 0}
        for day in days:
            out = nightly_run_inline(org=org, day=day)
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
