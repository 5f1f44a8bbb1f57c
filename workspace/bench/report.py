"""The workspace benchmark's report: locust's own statistics per page (its CSV: count, failures,
percentiles) against the targets, PASS or FAIL, the time each request spent inside a gunicorn
worker (its access log), how much work the load CSMs have, and the CPU used."""

from __future__ import annotations

import csv
import re
import resource
import statistics
from pathlib import Path

from django.db import connection

from orgs.models import Organization

# Pages with a target (p95, ms); the account page's fragments are reported alongside.
TARGETS_MS = {"my_work": 200, "account_360": 200, "playbook": 200, "step_complete": 150}
# The pages in the order a user loads them, with their paths (the access log has no names).
ENDPOINTS = [
    ("my_work", re.compile(r"^/work/$")),
    ("account_360", re.compile(r"^/accounts/\d+/$")),
    ("account_health", re.compile(r"^/health/accounts/\d+/$")),
    ("account_work", re.compile(r"^/work/accounts/\d+/work/$")),
    ("account_timeline", re.compile(r"^/work/accounts/\d+/timeline/$")),
    ("playbook", re.compile(r"^/playbooks/\d+/$")),
    ("step_complete", re.compile(r"^/playbooks/steps/\d+/complete/$")),
]
SETUP = ("login", "warmup")  # the locustfile's requests before the measured ones


def locust_summary(csv_prefix: Path) -> dict:
    """Per page: count, errors, median, p95, p99 and max (ms, locust's figures, from the
    final statistics the locustfile writes in locust's CSV format), the target and whether it
    held; the throughput of the measured pages; PASS when every target held, nothing failed
    or raised (logins included) and every page with a target was measured."""
    rows, failures, exceptions = (
        _csv_rows(f"{csv_prefix}_final_{name}.csv") for name in ("stats", "failures", "exceptions")
    )
    rows = [r for r in rows if r["Name"] != "Aggregated"]
    by_name = {r["Name"]: r for r in rows if r["Name"] not in SETUP}
    order = [name for name, _ in ENDPOINTS]
    endpoints = {}
    passed = not exceptions and not any(int(r["Failure Count"]) for r in rows if r["Name"] in SETUP)
    for name in [n for n in order if n in by_name] + sorted(set(by_name) - set(order)):
        row = by_name[name]
        errors = int(row["Failure Count"])
        entry = {
            "count": int(row["Request Count"]),
            "errors": errors,
            "median_ms": _ms(row["50%"]),
            "p95_ms": _ms(row["95%"]),
            "p99_ms": _ms(row["99%"]),
            "max_ms": _ms(row["Max Response Time"]),
        }
        if name in TARGETS_MS:
            entry["target_p95_ms"] = TARGETS_MS[name]
            entry["pass"] = errors == 0 and entry["p95_ms"] < TARGETS_MS[name]
            passed &= entry["pass"]
        elif errors:
            passed = False
        endpoints[name] = entry
    missing = [n for n in TARGETS_MS if n not in endpoints]
    total = sum(e["count"] for e in endpoints.values())
    throughput = sum(float(by_name[n]["Requests/s"]) for n in endpoints)
    return {
        "requests": total,
        "errors": sum(e["errors"] for e in endpoints.values()),
        "elapsed_s": round(total / throughput, 2) if throughput else 0.0,
        "throughput_rps": round(throughput, 1),
        "endpoints": endpoints,
        "not_measured": missing,
        "result": "PASS" if passed and not missing else "FAIL",
        "error_samples": [
            f"{f['Method']} {f['Name']}: {f['Error']} ({f['Occurrences']} times)"
            for f in failures[:10]
        ]
        + [f"locustfile raised {e['Count']} times: {e['Message']}" for e in exceptions[:5]],
    }


def _csv_rows(path: str) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _ms(value: str) -> float | None:
    try:
        return round(float(value), 1)
    except ValueError:  # "N/A"
        return None


def server_times(access_log: Path) -> tuple[dict, dict]:
    """Median and p95 of the time gunicorn spent on each page (from the request read to the
    response written: the page's own cost, without the wait for a free worker), and the count
    of each status code; the warm-up and login requests are left out."""
    times: dict[str, list[float]] = {}
    codes: dict[str, int] = {}
    if not access_log.exists():
        return {}, {}
    for line in access_log.read_text().splitlines():
        parts = line.split()  # method, path, status, microseconds, query
        if len(parts) < 4 or not parts[3].isdigit() or "warmup" in " ".join(parts[4:]):
            continue
        name = next((n for n, rx in ENDPOINTS if rx.match(parts[1])), None)
        if name:
            times.setdefault(name, []).append(int(parts[3]) / 1000)
            codes[parts[2]] = codes.get(parts[2], 0) + 1
    out = {}
    for name, values in times.items():
        values.sort()
        out[name] = {
            "count": len(values),
            "median_ms": round(statistics.median(values), 1),
            "p95_ms": round(values[min(len(values) - 1, int(0.95 * len(values)))], 1),
        }
    return out, codes


def data_shape(org: Organization, usernames: list[str]) -> dict:
    """How much data the pages read: the organization's rows, and per load CSM the open steps
    My Work lists and the alerts waiting (min, median, max over the CSMs)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM accounts_account WHERE organization_id = %(org)s),
                   (SELECT count(*) FROM playbooks_playbook WHERE organization_id = %(org)s),
                   (SELECT count(*) FROM playbooks_playbookstep WHERE organization_id = %(org)s)
            """,
            {"org": org.pk},
        )
        accounts, playbooks, steps = cursor.fetchone()
        cursor.execute(
            """
            SELECT u.username,
                   (SELECT count(*) FROM playbooks_playbookstep s
                    JOIN playbooks_playbook p ON p.id = s.playbook_id
                    WHERE s.organization_id = %(org)s AND s.assignee_id = u.id
                      AND s.status = 'open' AND p.status = 'open'),
                   (SELECT count(*) FROM triggers_alert a
                    WHERE a.organization_id = %(org)s AND a.owner_id = u.id
                      AND a.status = 'pending')
            FROM orgs_user u WHERE u.username = ANY(%(names)s)
            """,
            {"org": org.pk, "names": usernames},
        )
        rows = cursor.fetchall()

    def spread(values: list[int]) -> dict:
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    return {
        "accounts": accounts,
        "playbooks": playbooks,
        "steps": steps,
        "open_steps_per_load_csm": spread([r[1] for r in rows]),
        "pending_alerts_per_load_csm": spread([r[2] for r in rows]),
    }


def children_cpu() -> float:
    """CPU seconds used by this process's finished children (gunicorn, locust)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
