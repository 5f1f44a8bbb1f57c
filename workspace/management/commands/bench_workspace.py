"""`manage.py bench_workspace`: the CSM workspace benchmark, a small command over the package
workspace/bench/. `prepare` gives an organization a year of playbooks (about ten steps per
account, written with COPY), pending alerts and CSMs to log in as; `run` serves the site with
gunicorn and loads it with locust, headless, printing locust's percentiles per page against
the targets as JSON; `profile` renders each page once and lists its queries, slowest first,
with the plan of the slowest."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connection

from orgs.cli import ProjectCommand
from orgs.models import Organization
from orgs.tenancy import org_context
from workspace.bench.load import bench_run
from workspace.bench.prepare import bench_prepare
from workspace.bench.profile import bench_profile


class Command(ProjectCommand):
    help = (
        "Workspace benchmark: `prepare` a year of playbooks and load CSMs, `run` gunicorn "
        "and locust (JSON percentiles), `profile` one page's queries."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        prepare = sub.add_parser("prepare", help="write the bench data (once; --replace redoes)")
        prepare.add_argument("--org", default="bench")
        prepare.add_argument("--csms", type=int, default=20, help="load CSMs to create (20)")
        prepare.add_argument(
            "--share",
            type=float,
            default=0.5,
            help="share of live accounts given to the load CSMs (0.5)",
        )
        prepare.add_argument(
            "--playbooks-per-account",
            type=float,
            default=3.4,
            help="playbooks opened over the year per live account (3.4: ~12 steps each)",
        )
        prepare.add_argument("--days", type=int, default=365)
        prepare.add_argument("--alerts-per-csm", type=int, default=5)
        prepare.add_argument("--seed", type=int, default=7)
        prepare.add_argument(
            "--replace", action="store_true", help="delete the bench data and write it again"
        )

        run = sub.add_parser("run", help="gunicorn + locust headless, JSON on stdout")
        run.add_argument("--org", default="bench")
        run.add_argument("--users", type=int, default=20)
        run.add_argument("--seconds", type=float, default=60)
        run.add_argument("--requests", type=int, default=4000)
        run.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
        run.add_argument(
            "--think-ms", type=int, default=0, help="pause of each user between requests (0)"
        )
        run.add_argument(
            "--no-fragments",
            action="store_true",
            help="skip the three fragments the account page loads",
        )
        run.add_argument("--json-out", default="", help="also write the result here")

        profile = sub.add_parser("profile", help="one render of each page: queries and plans")
        profile.add_argument("--org", default="bench")
        profile.add_argument("--user", default="", help="username (the first load CSM)")
        profile.add_argument("--explain", type=int, default=2, help="plans of the N slowest")

    def handle(self, *args, **opts):
        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(
                f"--org: no organization {opts['org']!r}; seed it first, e.g. `manage.py "
                f"seed_demo --org {opts['org']} --accounts 100000 --months 6 --seed 7`"
            )
        if connection.vendor != "postgresql":
            raise CommandError("the workspace benchmark needs PostgreSQL (set DATABASE_URL)")
        with org_context(org):
            getattr(self, f"_{opts['action']}")(org, opts)

    def _prepare(self, org: Organization, opts) -> None:
        bench_prepare(
            org=org,
            csms=opts["csms"],
            share=opts["share"],
            playbooks_per_account=opts["playbooks_per_account"],
            days=opts["days"],
            alerts_per_csm=opts["alerts_per_csm"],
            seed=opts["seed"],
            replace=opts["replace"],
            log=self.stdout.write,
        )

    def _run(self, org: Organization, opts) -> None:
        result = bench_run(
            org=org,
            users=opts["users"],
            seconds=opts["seconds"],
            requests=opts["requests"],
            workers=opts["workers"],
            think_ms=opts["think_ms"],
            fragments=not opts["no_fragments"],
            log=self.stderr.write,
        )
        text = json.dumps(result, indent=2)
        self.stdout.write(text)
        if opts["json_out"]:
            Path(opts["json_out"]).write_text(text + "\n")
        if result["result"] != "PASS":
            missed = [
                f"{name} p95 {e['p95_ms']} ms > {e['target_p95_ms']} ms"
                for name, e in result["endpoints"].items()
                if e.get("pass") is False
            ]
            raise CommandError("targets missed: " + "; ".join(missed or ["errors"]))

    def _profile(self, org: Organization, opts) -> None:
        report = bench_profile(org=org, username=opts["user"], explain=opts["explain"])
        self.stdout.write(json.dumps(report, indent=2))
