"""`manage.py survey_send --org SLUG [--campaign ID] [--dry-run]`: send the invitations the
organization's active campaigns are due now (one JSON summary), or, with --dry-run, print as
JSON who would receive what, writing nothing."""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from orgs.cli import ProjectCommand, org_by_slug
from orgs.tenancy import org_context

from ... import selectors
from ...services import surveys_send


class Command(ProjectCommand):
    help = "Send the survey invitations that are due (or, with --dry-run, list them)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--campaign", help="one campaign's id (default: every active one)")
        parser.add_argument(
            "--dry-run", action="store_true", help="print who would receive what; write nothing"
        )

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        campaign_id = None
        if opts["campaign"] is not None:
            try:
                campaign_id = int(opts["campaign"])
            except ValueError:
                raise CommandError(
                    f"--campaign: {opts['campaign'][:40]!r} is not a campaign id (a number)"
                ) from None
            with org_context(org):
                campaign = selectors.campaigns(campaign_id=campaign_id).first()
            if campaign is None:
                raise CommandError(f"--campaign: no campaign {campaign_id} in {org.slug}")
            if not campaign.is_active:
                raise CommandError(f"--campaign: campaign {campaign_id} is not active")
        result = surveys_send(org=org, campaign_id=campaign_id, dry_run=opts["dry_run"])
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
