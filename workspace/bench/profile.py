"""`bench_workspace profile`: renders each page of the workspace benchmark once through the whole
Django stack as a load CSM and lists its queries, slowest first, with the plans of the
slowest."""

from __future__ import annotations

import statistics
import time

from django.core.management.base import CommandError
from django.db import connection, transaction

from orgs.models import Organization, User
from playbooks.models import PlaybookStep, StepStatus

from .prepare import load_usernames


def bench_profile(*, org: Organization, username: str, explain: int) -> dict:
    """Each page once as `username` (the first load CSM by default), three renders each: the
    median time, the number and time of its queries, the slowest three, and the plans of the
    `explain` slowest. Writes are rolled back, so profiling leaves the step open."""
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    username = username or load_usernames(org, 1)[0]
    user = User.objects.filter(username=username, memberships__organization=org).first()
    if user is None:
        raise CommandError(f"--user: {username!r} is not a member of {org.slug}")
    step = (
        PlaybookStep.all_objects.filter(
            organization=org, assignee=user, status=StepStatus.OPEN, playbook__status="open"
        )
        .order_by("due_on", "pk")
        .values("pk", "version", "playbook_id", "playbook__account_id")
        .first()
    )
    if step is None:
        raise CommandError(f"{username} has no open step")
    account = step["playbook__account_id"]
    client = Client()
    client.force_login(user)
    hx = {"HTTP_HX_REQUEST": "true"}
    pages = [
        ("my_work", "get", "/work/", {}, {}),
        ("account_360", "get", f"/accounts/{account}/", {}, {}),
        ("account_health", "get", f"/health/accounts/{account}/", {}, hx),
        ("account_work", "get", f"/work/accounts/{account}/work/", {}, hx),
        ("account_timeline", "get", f"/work/accounts/{account}/timeline/", {}, hx),
        ("playbook", "get", f"/playbooks/{step['playbook_id']}/", {}, {}),
        (
            "step_complete",
            "post",
            f"/playbooks/steps/{step['pk']}/complete/",
            {"version": step["version"], "where": "mywork"},
            hx,
        ),
    ]
    report = {}
    for name, method, url, data, headers in pages:
        timings = []
        for _ in range(3):
            # Writes are rolled back, so profiling leaves the step open.
            with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                response = getattr(client, method)(url, data, **headers)
                timings.append((time.perf_counter() - t0) * 1000)
                transaction.set_rollback(True)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
        queries = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))
        entry = {
            "url": url,
            "ms": round(statistics.median(timings), 1),
            "queries": len(queries),
            "db_ms": round(sum(float(q["time"]) for q in queries) * 1000, 1),
            "slowest": [
                {"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"][:400]}
                for q in queries[:3]
            ],
        }
        plans = []
        for q in queries[:explain]:
            if q["sql"].lstrip().upper().startswith("SELECT"):
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                    plans.append([r[0] for r in cursor.fetchall()])
        entry["plans"] = plans
        report[name] = entry
    return {"user": username, "pages": report}
