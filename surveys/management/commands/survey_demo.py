"""`manage.py survey_demo [--org SLUG]`: the demo organization's NPS campaign and the
invitations its past answers came through (make demo runs it; nothing when done already)."""

from __future__ import annotations

import json

from orgs.cli import ProjectCommand, org_by_slug

from ...demo import survey_demo_create


class Command(ProjectCommand):
    help = "Give the demo organization its NPS campaign and a year of answers through it."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo", help="the organization's slug (demo)")

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        self.stdout.write(json.dumps(survey_demo_create(org=org)))
