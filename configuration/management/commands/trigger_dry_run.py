"""`manage.py trigger_dry_run --org SLUG --trigger ID [--format json|csv] [--date D]`: what the
trigger would fire tonight, the same figures as its dry-run page (JSON), or every account it
would fire on with the evidence it would record (CSV). Writes nothing."""

from __future__ import annotations

import csv
import json

from django.core.management.base import CommandError
from django.utils import timezone

from conditions import ConditionError
from orgs.cli import ProjectCommand, check_day, org_by_slug, parse_date
from orgs.tenancy import org_context
from orgs.timezones import org_today, org_zone

from ...evaluation import dry_run_day, dry_run_evidence, trigger_dry_run
from ._trigger_args import trigger_of_org


class Command(ProjectCommand):
    help = "Dry-run a trigger: what it would fire tonight (nothing is written)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--trigger", required=True, help="the trigger's id")
        parser.add_argument("--format", choices=("json", "csv"), default="json")
        parser.add_argument(
            "--date", help="the day to evaluate (default: the latest day with health scores)"
        )

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        today, zone = org_today(org), org_zone(org)
        with org_context(org), timezone.override(zone):
            trigger = trigger_of_org(opts["trigger"])
            if opts["date"]:
                day = check_day(
                    parse_date(opts["date"], "--date"), "--date", today=today, zone=zone.key
                )
            else:
                day = dry_run_day(today)
            try:
                # the cap's week: tonight's (today's), or the asked day's
                run = trigger_dry_run(
                    trigger=trigger, day=day, week_of=day if opts["date"] else today
                )
            except ConditionError as exc:
                raise CommandError(f"--trigger: its condition does not validate: {exc}") from None
            if opts["format"] == "csv":
                evidence = dry_run_evidence(run, run.accounts.index.tolist())
                writer = csv.writer(self.stdout)
                writer.writerow(["account_id", "account", "owner_id", "evidence"])
                for account_id, row in run.accounts.iterrows():
                    owner = row["owner_id"]
                    writer.writerow(
                        [
                            account_id,
                            row["name"],
                            "" if owner != owner or owner is None else int(owner),
                            evidence.get(account_id, ""),
                        ]
                    )
                return
            out = {"organization": org.slug, "trigger": trigger.pk, "name": trigger.name}
            self.stdout.write(json.dumps({**out, **run.as_dict()}, indent=2))
