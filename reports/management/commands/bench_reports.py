"""`manage.py bench_reports --org bench`: the reports at 100,000 accounts. Each report page
(and the reports home, and a drill-down per report) is rendered through the whole Django
stack as the organization's manager, for the quarter so far and for the year, unfiltered and
filtered, and the year's CSV export of every table is streamed to the end; median and p95 per
page, the slowest export, and the nightly facts refresh, as JSON with the machine's load.

Runs on the workspace benchmark's data (`seed_demo --org bench --accounts 100000 --months 6
--seed 7`, then `bench_workspace prepare --org bench --csms 20`). Once, it gives that data
what the reports read and the workspace benchmark does not write: a firing for each of its
playbooks made from a template an active trigger uses (confirmed alerts for triggers that ask
first), marked `{"bench": "reports"}`; the day's health scores; and the nightly facts of the
past year (weekly, and every quarter's first day). Targets: every page p95 ≤ 300 ms, the
year's export ≤ 2 s, the nightly facts refresh ≤ 10 s. PostgreSQL only."""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import time

from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Persona
from health.models import HealthScore
from health.services import health_score_day
from orgs.cli import ProjectCommand, org_by_slug, whole_number
from orgs.models import Membership, Role
from orgs.tenancy import org_context
from orgs.timezones import org_today
from playbooks.models import Playbook
from reports.definitions import REPORTS
from reports.models import FactRefresh
from reports.periods import add_months, quarter_start, week_start
from reports.services import facts_refresh
from triggers.models import Firing

PAGE_P95_MS = 300
EXPORT_S = 2.0
REFRESH_S = 10.0
MARK = '{"bench": "reports"}'

_FIRINGS_SQL = """
WITH t AS (
    SELECT id, template_id, version,
           row_number() OVER (PARTITION BY template_id ORDER BY id) - 1 AS k,
           count(*) OVER (PARTITION BY template_id) AS n
    FROM triggers_trigger
    WHERE organization_id = %(org)s AND is_active
)
INSERT INTO triggers_firing (organization_id, trigger_id, account_id, period, fired_on,
                             trigger_version, evidence, evidence_text, playbook_id, created_at)
SELECT %(org)s, t.id, p.account_id, p.opened_on, p.opened_on, t.version, %(mark)s::jsonb,
       p.evidence_text, p.id, now()
FROM playbooks_playbook p
JOIN t ON t.template_id = p.template_id AND t.k = p.id %% t.n
WHERE p.organization_id = %(org)s AND p.origin = 'bench'
ON CONFLICT (trigger_id, account_id, period) DO NOTHING
"""

_ALERTS_SQL = """
INSERT INTO triggers_alert (organization_id, firing_id, account_id, owner_id, status,
                            decided_at, decided_by_id, dismiss_reason, playbook_id, created_at)
SELECT f.organization_id, f.id, f.account_id, p.owner_id, 'confirmed', p.created_at,
       p.owner_id, '', p.id, p.created_at
FROM triggers_firing f
JOIN triggers_trigger t ON t.id = f.trigger_id
JOIN playbooks_playbook p ON p.id = f.playbook_id
WHERE f.organization_id = %(org)s AND f.evidence @> %(mark)s::jsonb AND t.action = 'alert'
ON CONFLICT (firing_id) DO NOTHING
"""


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


class Command(ProjectCommand):
    help = "Median and p95 of every report page, the year's CSV exports and the nightly facts."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="bench")
        parser.add_argument("--requests", default="20", help="renders per page (default 20)")
        parser.add_argument(
            "--weeks", default="52", help="weeks of nightly facts to write once (default 52)"
        )

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("bench_reports runs on PostgreSQL (set DATABASE_URL)")
        requests = whole_number("--requests", opts["requests"], 3, 1000)
        weeks = whole_number("--weeks", opts["weeks"], 0, 520)
        org = org_by_slug(opts["org"])
        manager = (
            Membership.objects.filter(organization=org, role=Role.MANAGER)
            .select_related("user")
            .first()
        )
        if manager is None:
            raise CommandError(f"--org: {org.slug} has no manager to log in as")
        today = org_today(org)
        prepared = self._prepare(org, today, weeks)
        refresh = self._refresh(org, today)
        pages, exports = self._pages(org, manager.user, today, requests)
        load = os.getloadavg()
        worst_page = max(p["p95_ms"] for p in pages.values())
        worst_export = max(e["seconds"] for e in exports.values())
        result = {
            "organization": org.slug,
            "database": connection.vendor,
            "data": self._data(org),
            "prepare": prepared,
            "nightly_facts_refresh": refresh,
            "pages": pages,
            "year_csv_exports": exports,
            "targets": {
                "page_p95_ms": PAGE_P95_MS,
                "export_seconds": EXPORT_S,
                "refresh_seconds": REFRESH_S,
            },
            "worst": {"page_p95_ms": worst_page, "export_seconds": worst_export},
            "result": "PASS"
            if worst_page <= PAGE_P95_MS
            and worst_export <= EXPORT_S
            and refresh["seconds"] <= REFRESH_S
            else "FAIL",
            "load_average": [round(x, 2) for x in load],
        }
        self.stdout.write(json.dumps(result, indent=2, default=str))
        if result["result"] != "PASS":
            raise CommandError("bench_reports: a target was missed (see above)")

    # -- the data the reports read -------------------------------------------------------

    def _prepare(self, org, today: dt.date, weeks: int) -> dict:
        out = {}
        with org_context(org):
            if not Firing.objects.filter(evidence__bench="reports").exists():
                t = time.perf_counter()
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(_FIRINGS_SQL, {"org": org.pk, "mark": MARK})
                    out["firings_added"] = cursor.rowcount
                    cursor.execute(_ALERTS_SQL, {"org": org.pk, "mark": MARK})
                    out["alerts_added"] = cursor.rowcount
                with connection.cursor() as cursor:
                    for table in ("triggers_firing", "triggers_alert"):
                        cursor.execute(f"ANALYZE {table}")
                out["firings_seconds"] = round(time.perf_counter() - t, 1)
            if not HealthScore.objects.filter(date=today).exists():
                t = time.perf_counter()
                out["scored_today"] = health_score_day(org=org, day=today).accounts_scored
                out["scoring_seconds"] = round(time.perf_counter() - t, 1)
            done = set(FactRefresh.objects.values_list("date", flat=True))
        days = {week_start(today) - dt.timedelta(days=7 * k + 1) for k in range(weeks)}
        first = quarter_start(today)
        days |= {add_months(first, -3 * k) for k in range(5)}
        days = sorted(d for d in days if d < today and d not in done)
        if days:
            t = time.perf_counter()
            for i, day in enumerate(days):
                # the oldest day first; the last one fills effects and baselines from history
                facts_refresh(org=org, day=day, rebuild=i == len(days) - 1)
            out["fact_days_written"] = len(days)
            out["facts_history_seconds"] = round(time.perf_counter() - t, 1)
        if out:
            with connection.cursor() as cursor:
                for table in ("reports_portfolioday", "reports_playbookeffect", "reports_riskday"):
                    cursor.execute(f"ANALYZE {table}")
        return out or {"already": True}

    def _refresh(self, org, today: dt.date) -> dict:
        """Tonight's refresh, timed: the day after the history above."""
        stats = facts_refresh(org=org, day=today)
        return stats.as_dict()

    def _data(self, org) -> dict:
        with org_context(org):
            return {
                "accounts": Account.objects.count(),
                "playbooks": Playbook.objects.count(),
                "firings": Firing.objects.count(),
                "fact_days": FactRefresh.objects.count(),
            }

    # -- the pages ---------------------------------------------------------------------------

    def _pages(self, org, user, today: dt.date, requests: int) -> tuple[dict, dict]:
        client = Client()
        client.force_login(user)
        with org_context(org):
            persona = Persona.objects.order_by("priority").values_list("pk", flat=True).first()
        year = f"period=year&at={today.year}"
        quarter = f"period=quarter&at={today.year}-Q{(today.month - 1) // 3 + 1}"
        filtered = f"&persona={persona}" if persona else ""
        urls = {"home": reverse("reports:home")}
        for name in REPORTS:
            base = reverse("reports:report", args=[name])
            for label, period in (("quarter", quarter), ("year", year)):
                urls[f"{name}.{label}"] = f"{base}?{period}"
                urls[f"{name}.{label}.filtered"] = f"{base}?{period}{filtered}"
        drills = {
            "trigger_performance": "triggers/won/",
            "retention": "predictability/churners/",
            "portfolio": "mrr/end/",
            "effectiveness": "effect/closed/",
            "surveys": "nps/answers/",
        }
        for name, path in drills.items():
            urls[f"{name}.drill"] = f"{reverse('reports:report', args=[name])}{path}?{year}"
        pages = {}
        for key, url in urls.items():
            response = client.get(url)  # warm
            if response.status_code != 200:
                raise CommandError(f"{url} answered {response.status_code}")
            timings = []
            for _ in range(requests):
                t = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - t) * 1000)
            pages[key] = {
                "median_ms": round(statistics.median(timings), 1),
                "p95_ms": round(_p95(timings), 1),
                "requests": requests,
            }
        exports = {}
        for name, spec in REPORTS.items():
            for table in spec.tables:
                url = f"{reverse('reports:report', args=[name])}?{year}&export={table}"
                t = time.perf_counter()
                response = client.get(url)
                size = sum(len(chunk) for chunk in response.streaming_content)
                exports[f"{name}.{table}"] = {
                    "seconds": round(time.perf_counter() - t, 3),
                    "bytes": size,
                }
        return pages, exports
