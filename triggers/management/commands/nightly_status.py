"""The state of one night of one organization, as the operations page shows it: its runs per
stage, chunks done, failed and late, attempts, the last error, how long it took and what the
sweeper did. Prints JSON."""

import json

from orgs.cli import ProjectCommand, check_day, org_by_slug, parse_date
from orgs.timezones import org_today, org_zone
from triggers.selectors import nights_status


class Command(ProjectCommand):
    help = "The night of --org on --date (default: today): stages, chunks, repairs. JSON."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--date", help="the day (default: today in the organization's zone)")

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        today = org_today(org)
        day = today
        if opts["date"]:
            day = check_day(
                parse_date(opts["date"], "--date"), "--date", today=today, zone=org_zone(org).key
            )
        (night,) = nights_status(org_ids=[org.pk], days=[day])
        self.stdout.write(json.dumps(night, indent=2, default=str))
