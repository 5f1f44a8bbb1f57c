"""`manage.py bench_members`: the members pages and a deactivation's handover at scale. Seeds
(or reuses) a large organization, renders the members list and a member's page through the
full Django stack as its admin, and deactivates the CSM who owns the most accounts, handing
everything to another CSM, inside a transaction that is rolled back (so the data is reused
and the run can be repeated). Prints medians, p95 and the counts as JSON, with `uptime`."""

from __future__ import annotations

import json
import statistics
import subprocess
import time

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client

from accounts.models import Account
from configuration.members.services import member_deactivate
from orgs.cli import ProjectCommand
from orgs.models import Membership, Organization, Role
from orgs.tenancy import org_context


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _uptime() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return ""


class Command(ProjectCommand):
    help = "Members list and page render times, and a CSM's deactivation with handover (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="bench")
        parser.add_argument("--accounts", type=int, default=100_000)
        parser.add_argument("--months", type=int, default=1)
        parser.add_argument("--requests", type=int, default=30, help="per page (30)")
        parser.add_argument("--handovers", type=int, default=3, help="rolled-back runs (3)")

    def handle(self, *args, **opts):
        if opts["requests"] < 5 or opts["handovers"] < 1:
            raise CommandError("--requests must be at least 5 and --handovers at least 1")
        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is None:
            call_command(
                "seed_demo",
                org=opts["org"],
                accounts=str(opts["accounts"]),
                months=str(opts["months"]),
                seed="7",
                no_logins=True,
                stdout=self.stderr,
            )
            org = Organization.objects.get(slug=opts["org"])
        admin = Membership.objects.filter(organization=org, role=Role.ADMIN).first()
        if admin is None:
            raise CommandError(f"--org: {org.slug} has no admin to log in as")
        with org_context(org):
            n_accounts = Account.objects.count()
            owners = list(
                Account.objects.filter(
                    owner__in=Membership.objects.filter(organization=org, role=Role.CSM).values(
                        "user_id"
                    )
                )
                .values("owner_id")
                .annotate(n=Count("pk"))
                .order_by("-n")
                .values_list("owner_id", "n")[:2]
            )
        if len(owners) < 2:
            raise CommandError(f"--org: {org.slug} needs two CSMs who own accounts")
        (leaving_id, leaving_accounts), (target_id, _n) = owners
        leaving = Membership.objects.select_related("user", "organization").get(
            organization=org, user_id=leaving_id
        )
        target = Membership.objects.select_related("user").get(organization=org, user_id=target_id)

        client = Client()
        client.force_login(admin.user)
        pages = {
            "members_list": "/configuration/members/",
            "member_page": f"/configuration/members/{leaving.pk}/",
        }
        results = {}
        for name, url in pages.items():
            client.get(url)  # warm caches and connections
            timings = []
            for _i in range(opts["requests"]):
                t0 = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    raise CommandError(f"{url} answered {response.status_code}")
            results[name] = {
                "median_ms": round(statistics.median(timings), 1),
                "p95_ms": round(_p95(timings), 1),
                "requests": len(timings),
            }

        runs, moved = [], None
        for _i in range(opts["handovers"]):
            with transaction.atomic():
                t0 = time.perf_counter()
                done = member_deactivate(
                    membership=leaving, handover_to=target.user, acting_user=admin.user
                )
                runs.append(round(time.perf_counter() - t0, 3))
                moved = {
                    "accounts": done.accounts,
                    "playbooks": done.playbooks,
                    "steps": done.steps,
                }
                transaction.set_rollback(True)
            leaving.refresh_from_db()
        self.stdout.write(
            json.dumps(
                {
                    "organization": org.slug,
                    "database": connection.vendor,
                    "accounts": n_accounts,
                    "members": Membership.all_objects.filter(organization=org).count(),
                    "pages": results,
                    "deactivation_with_handover": {
                        "leaving_accounts": leaving_accounts,
                        "moved": moved,
                        "seconds": runs,
                        "median_s": statistics.median(runs),
                        "note": "each run rolled back",
                    },
                    "uptime": _uptime(),
                },
                indent=2,
            )
        )
