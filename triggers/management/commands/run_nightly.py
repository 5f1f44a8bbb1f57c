"""Run the nightly chain in the foreground, for operators and backfills: score, nightly
triggers, playbooks and alerts (and on day 1 the monthly run), day by day."""

import datetime as dt
import json
import time

from django.core.management.base import BaseCommand, CommandError

from health.selectors import org_today
from orgs.models import Organization
from triggers.chain import run_day_inline


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Run the nightly chain for --date, or for each day from --from to --to."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--date")
        parser.add_argument("--from", dest="date_from")
        parser.add_argument("--to", dest="date_to")
        parser.add_argument("--digest", action="store_true", help="send the email digest after")
        parser.add_argument("--json", action="store_true", help="print one JSON line per day")

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
        started = time.perf_counter()
        day = first
        totals = {"scored": 0, "fired": 0, "playbooks": 0, "alerts": 0}
        while day <= last:
            out = run_day_inline(org=org, day=day)
            for key in totals:
                totals[key] += out[key]
            if opts["json"]:
                self.stdout.write(json.dumps(out, default=str))
            elif first == last or day.day == 1 or day == last:
                self.stdout.write(
                    f"{org.slug} {day}: scored {out['scored']}, fired {out['fired']}, "
                    f"playbooks {out['playbooks']}, alerts {out['alerts']} "
                    f"({time.perf_counter() - started:.1f} s)"
                )
            day += dt.timedelta(days=1)
        if opts["digest"]:
            from playbooks.services import notifications_send_digest

            sent = notifications_send_digest(org=org)
            self.stdout.write(f"digest sent to {sent} user(s)")
        self.stdout.write(f"{org.slug}: {json.dumps(totals)}")
