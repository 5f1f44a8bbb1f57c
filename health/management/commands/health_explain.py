"""Why an account's health score moved between two days, split by indicator, as JSON."""

import datetime as dt
import json

from django.core.management.base import CommandError

from accounts.models import Account
from health.selectors import score_explanation
from orgs.cli import ProjectCommand, check_day, org_by_slug, parse_date
from orgs.tenancy import org_context
from orgs.timezones import org_today, org_zone


class Command(ProjectCommand):
    help = (
        "The change of one account's health score between two days (default: 30 days ago "
        "and today), split by indicator, as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--account", required=True, help="the account's external id")
        parser.add_argument("--from", dest="date_from", help="the earlier day (default: --to − 30)")
        parser.add_argument("--to", dest="date_to", help="the later day (default: today)")

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        today, zone = org_today(org), org_zone(org).key
        to_day = today
        if opts["date_to"]:
            to_day = check_day(parse_date(opts["date_to"], "--to"), "--to", today=today, zone=zone)
        from_day = to_day - dt.timedelta(days=30)
        if opts["date_from"]:
            from_day = check_day(
                parse_date(opts["date_from"], "--from"), "--from", today=today, zone=zone
            )
        if from_day > to_day:
            raise CommandError(f"--from: {from_day} is after --to {to_day}")
        with org_context(org):
            account = Account.objects.filter(external_id=opts["account"]).first()
            if account is None:
                raise CommandError(
                    f"--account: no account with external id {opts['account']!r} in {org.slug}"
                )
            out = score_explanation(account=account, from_day=from_day, to_day=to_day)
        if out is None:
            raise CommandError(
                f"--from: account {opts['account']!r} has no health score on or before "
                f"{from_day} (and {to_day}); nothing to compare"
            )
        out = {"organization": org.slug, "account": opts["account"], **out}
        self.stdout.write(json.dumps(out, indent=2, default=str, ensure_ascii=False))
