"""Benchmark the portfolio pages: seeds (or reuses) a large organization, then renders the
portfolio list (first page, a filtered page, a search) and the account page many times through
the full Django stack (middleware, tenancy, templates) and prints median and p95 as JSON."""

from __future__ import annotations

import json
import statistics
import time

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from accounts.models import Account
from orgs.cli import ProjectCommand
from orgs.models import Membership, Organization
from orgs.tenancy import org_context


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


class Command(ProjectCommand):
    help = "Median and p95 render times of the portfolio and account pages (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="bench")
        parser.add_argument("--accounts", type=int, default=100_000)
        parser.add_argument("--months", type=int, default=6)
        parser.add_argument("--requests", type=int, default=60, help="per page kind")

    def handle(self, *args, **opts):
        if opts["requests"] < 5:
            raise CommandError("--requests must be at least 5")
        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is None:
            call_command(
                "seed_demo",
                org=opts["org"],
                accounts=opts["accounts"],
                months=opts["months"],
                seed=7,
                stdout=self.stderr,
            )
            org = Organization.objects.get(slug=opts["org"])
        membership = (
            Membership.objects.filter(organization=org, role="csm").select_related("user").first()
        )
        if membership is None:
            raise CommandError(f"--org: {org.slug} has no CSM to log in as")
        client = Client()
        client.force_login(membership.user)
        with org_context(org):
            n_accounts = Account.objects.count()
            sample = list(
                Account.objects.order_by("?").values_list("pk", flat=True)[: opts["requests"]]
            )
            some_name = Account.objects.values_list("name", flat=True).first().split()[0]
        pages = {
            "portfolio_first_page": ["/accounts/"] * opts["requests"],
            "portfolio_filtered": [
                f"/accounts/?tier=gold&touch_model=mid&renewal_within=180&sort=-mrr&page={p}"
                for p in range(1, opts["requests"] + 1)
            ],
            "portfolio_search": [
                f"/accounts/?q={some_name[: 3 + i % 3]}" for i in range(opts["requests"])
            ],
            "account_page": [f"/accounts/{pk}/" for pk in sample],
        }
        results = {}
        for name, urls in pages.items():
            client.get(urls[0])  # warm caches and connections
            timings = []
            for url in urls:
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
        self.stdout.write(
            json.dumps(
                {
                    "organization": org.slug,
                    "database": connection.vendor,
                    "accounts": n_accounts,
                    "target_p95_ms": 250,
                    "pages": results,
                },
                indent=2,
            )
        )
