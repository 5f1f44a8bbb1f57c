"""`manage.py bench_workspace`: the CSM workspace benchmark, a small command over the package
workspace/bench/. `prepare` gives an organization a year of playbooks (about ten steps per
account, written with COPY), pending alerts and CSMs to log in as; `run` serves the site with
gunicorn and loads it from a second process (scripts/loadtest.py), printing percentiles per
page as JSON; `profile` renders each page once and lists its queries, slowest first, with the
plan of the slowest."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection

from orgs.cli import ProjectCommand
from orgs.models import Membership, Organization, Role
from orgs.tenancy import org_context
from playbooks.models import PlaybookStatus, PlaybookStep, StepStatus
from workspace.bench.plan import PASSWORD
from workspace.bench.prepare import bench_prepare, load_usernames
from workspace.bench.profile import bench_profile

ROOT = Path(settings.BASE_DIR)
LOADTEST = ROOT / "scripts" / "loadtest.py"


def load_plan(*, org: Organization, users: int, steps_per_user: int = 400) -> list[dict]:
    """What each virtual user works on: their open steps (in open playbooks, earliest due
    first) with the version the page would show, their playbook and account."""
    names = load_usernames(org, users)
    found = dict(
        Membership.objects.filter(
            organization=org, role=Role.CSM, user__username__in=names
        ).values_list("user__username", "user_id")
    )
    missing = [n for n in names if n not in found]
    if missing:
        raise CommandError(
            f"{len(missing)} load users missing (e.g. {missing[0]}): run "
            f"`bench_workspace prepare --org {org.slug} --csms {users}` (with --replace if "
            "it was prepared with fewer)"
        )
    plan = []
    for name in names:
        steps = list(
            PlaybookStep.all_objects.filter(
                organization=org,
                assignee_id=found[name],
                status=StepStatus.OPEN,
                playbook__status=PlaybookStatus.OPEN,
            )
            .order_by("due_on", "pk")
            .values_list("pk", "version", "playbook_id", "playbook__account_id")[:steps_per_user]
        )
        if not steps:
            raise CommandError(f"{name} has no open steps: run prepare with --replace")
        plan.append({"username": name, "steps": [list(s) for s in steps]})
    return plan


# -- The command --------------------------------------------------------------------------


class Command(ProjectCommand):
    help = (
        "Workspace benchmark: `prepare` a year of playbooks and load CSMs, `run` gunicorn "
        "and the load generator (JSON percentiles), `profile` one page's queries."
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

        run = sub.add_parser("run", help="gunicorn + scripts/loadtest.py, JSON on stdout")
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

    def _profile(self, org: Organization, opts) -> None:
        report = bench_profile(org=org, username=opts["user"], explain=opts["explain"])
        self.stdout.write(json.dumps(report, indent=2))

    # -- run ---------------------------------------------------------------------------------

    def _run(self, org: Organization, opts) -> None:
        for key in ("DATABASE_URL",):
            if not os.environ.get(key):
                raise CommandError(f"{key} must be set (the server reads it from the environment)")
        plan = load_plan(org=org, users=opts["users"])
        shape = _data_shape(org, load_usernames(org, opts["users"]))
        workdir = Path(tempfile.mkdtemp(prefix="bench-workspace-"))
        plan_path = workdir / "plan.json"
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        plan_path.write_text(
            json.dumps({"base_url": base_url, "password": PASSWORD, "users": plan})
        )
        access_log, error_log = workdir / "access.log", workdir / "error.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "csplatform.settings.local",
            "DJANGO_DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "csplatform.wsgi",
            "-w",
            str(opts["workers"]),
            "--threads",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(D)s %(q)s",
            "--error-logfile",
            str(error_log),
        ]
        self.stderr.write(f"gunicorn on {base_url} ({opts['workers']} workers), logs in {workdir}")
        # Other work on the machine skews the figures: the 1-minute load average before is kept.
        load_before = round(os.getloadavg()[0], 2)
        server = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        try:
            _wait_ready(server, f"{base_url}/healthz", error_log)
            load = [
                sys.executable,
                str(LOADTEST),
                "--plan",
                str(plan_path),
                "--users",
                str(opts["users"]),
                "--seconds",
                str(opts["seconds"]),
                "--requests",
                str(opts["requests"]),
                "--think-ms",
                str(opts["think_ms"]),
            ]
            if opts["no_fragments"]:
                load.append("--no-fragments")
            cpu_before = _children_cpu()
            done = subprocess.run(load, cwd=ROOT, capture_output=True, text=True, check=False)
            cpu_load = _children_cpu() - cpu_before
            if done.returncode != 0 or not done.stdout.strip():
                raise CommandError(f"the load generator failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout)
        finally:
            cpu_before = _children_cpu()
            _stop(server)
            cpu_server = _children_cpu() - cpu_before
        result["command"] = " ".join(
            ["manage.py bench_workspace run", f"--org {org.slug}"]
            + [f"--{k.replace('_', '-')} {opts[k]}" for k in ("users", "seconds", "requests")]
            + ([f"--think-ms {opts['think_ms']}"] if opts["think_ms"] else [])
        )
        result["data"] = shape
        result["server"] = {
            "gunicorn_workers": opts["workers"],
            "cpus": os.cpu_count(),
            "load_average_1m_before": load_before,
            "load_average_1m_after": round(os.getloadavg()[0], 2),
            # CPU seconds used while loading (warm-up and logins included): with fewer cores
            # than busy processes, requests wait for a core as well as for a worker.
            "cpu_seconds": {
                "gunicorn": round(cpu_server, 1),
                "load_generator": round(cpu_load, 1),
            },
            "time_in_gunicorn_ms": _server_times(access_log),
        }
        text = json.dumps(result, indent=2)
        self.stdout.write(text)
        if opts["json_out"]:
            Path(opts["json_out"]).write_text(text + "\n")
        if result.get("result") != "PASS":
            missed = [
                f"{name} p95 {e['p95_ms']} ms > {e['target_p95_ms']} ms"
                for name, e in result["endpoints"].items()
                if e.get("pass") is False
            ]
            raise CommandError("targets missed: " + "; ".join(missed or ["errors"]))

    # -- profile -----------------------------------------------------------------------------


def _data_shape(org: Organization, usernames: list[str]) -> dict:
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(server: subprocess.Popen, url: str, error_log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = error_log.read_text() if error_log.exists() else ""
            raise CommandError(f"gunicorn exited ({server.returncode}):\n{log[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise CommandError(f"gunicorn did not answer {url} within {timeout:.0f} s")


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM to the gunicorn we started (its master stops its workers), SIGKILL to its
    process group if it is still there after 20 seconds."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(5)


# Paths as the load generator names them (the access log has no names).
_ENDPOINTS = [
    ("my_work", re.compile(r"^/work/$")),
    ("account_360", re.compile(r"^/accounts/\d+/$")),
    ("account_health", re.compile(r"^/health/accounts/\d+/$")),
    ("account_work", re.compile(r"^/work/accounts/\d+/work/$")),
    ("account_timeline", re.compile(r"^/work/accounts/\d+/timeline/$")),
    ("playbook", re.compile(r"^/playbooks/\d+/$")),
    ("step_complete", re.compile(r"^/playbooks/steps/\d+/complete/$")),
]


def _server_times(access_log: Path) -> dict:
    """Median and p95 of the time gunicorn spent on each kind of request (from the request
    read to the response written: the page's own cost, without the wait for a free worker)."""
    times: dict[str, list[float]] = {}
    if not access_log.exists():
        return {}
    for line in access_log.read_text().splitlines():
        parts = line.split()
        # The load generator marks its warm-up requests (?warmup=1): not measured.
        if len(parts) < 4 or not parts[3].isdigit() or "warmup" in " ".join(parts[4:]):
            continue
        name = next((n for n, rx in _ENDPOINTS if rx.match(parts[1])), None)
        if name:
            times.setdefault(name, []).append(int(parts[3]) / 1000)
    out = {}
    for name, values in times.items():
        values.sort()
        out[name] = {
            "count": len(values),
            "median_ms": round(statistics.median(values), 1),
            "p95_ms": round(values[min(len(values) - 1, int(0.95 * len(values)))], 1),
        }
    return out
