"""`bench_workspace run`: the load. gunicorn serves the site on a free loopback port (a child
process, stopped with SIGTERM and waited for), and locust, headless in a second process, loads
it with the users of workspace/bench/locustfile.py, each working on the open steps the plan
gives it; the result is the report's JSON."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from orgs.models import Membership, Organization, Role
from playbooks.models import PlaybookStatus, PlaybookStep, StepStatus

from .plan import PASSWORD
from .prepare import load_usernames
from .report import children_cpu, data_shape, locust_summary, server_times

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SETUP_SECONDS = 120  # time allowed for every user to log in and warm up before the clock starts


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


def locust_run(
    *,
    base_url: str,
    plan: list[dict],
    users: int,
    seconds: float,
    requests: int,
    think_ms: int,
    fragments: bool,
    workdir: Path,
) -> dict:
    """Run the locustfile headless against `base_url` (loopback only) and return its summary:
    `seconds` of work once every user has logged in, or `requests` measured requests,
    whichever comes first."""
    if urllib.parse.urlsplit(base_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise CommandError(f"refusing to load {base_url}: loopback only")
    if users > len(plan):
        raise CommandError(f"--users {users}: the plan has {len(plan)} users")
    if seconds <= 0 or requests <= 0:
        raise CommandError("--seconds and --requests must be positive")
    plan_path, prefix = workdir / "plan.json", workdir / "locust"
    plan_path.write_text(json.dumps({"password": PASSWORD, "users": plan[:users]}))
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),  # all within the first second
        "--run-time",
        f"{round(seconds) + SETUP_SECONDS}s",  # the outer limit: the locustfile times the work
        "--host",
        base_url,
        "--csv",
        str(prefix),
        "--stop-timeout",
        "10",  # should locust stop the users itself, requests under way finish first
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",  # failed requests are in the report; a non-zero exit is locust itself failing
        "--plan",
        str(plan_path),
        "--seconds",
        str(seconds),
        "--think-ms",
        str(think_ms),
        "--requests",
        str(requests),
        *([] if fragments else ["--no-fragments"]),
    ]
    done = subprocess.run(
        cmd,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=seconds + SETUP_SECONDS + 60,
        check=False,
    )
    if done.returncode != 0 or not Path(f"{prefix}_final_stats.csv").exists():
        raise CommandError(f"locust failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return {
        "base_url": base_url,
        "users": users,
        "limits": {"seconds": seconds, "requests": requests},
        "think_ms": think_ms,
        "fragments": fragments,
        **locust_summary(prefix),
    }


def bench_run(
    *,
    org: Organization,
    users: int,
    seconds: float,
    requests: int,
    workers: int,
    think_ms: int,
    fragments: bool,
    log: Callable[[str], None],
) -> dict:
    """gunicorn with `workers` workers, locust with `users` users; the whole report."""
    if not os.environ.get("DATABASE_URL"):
        raise CommandError("DATABASE_URL must be set (the server reads it from the environment)")
    plan = load_plan(org=org, users=users)
    shape = data_shape(org, load_usernames(org, users))
    workdir = Path(tempfile.mkdtemp(prefix="bench-workspace-"))
    # Other work on the machine skews the figures: the 1-minute load average before is kept.
    load_before = round(os.getloadavg()[0], 2)
    with gunicorn_serving(workers=workers, workdir=workdir, log=log) as base_url:
        cpu_before = children_cpu()
        result = locust_run(
            base_url=base_url,
            plan=plan,
            users=users,
            seconds=seconds,
            requests=requests,
            think_ms=think_ms,
            fragments=fragments,
            workdir=workdir,
        )
        cpu_load = children_cpu() - cpu_before
        cpu_before = children_cpu()  # gunicorn's CPU is counted once it has been waited for
    cpu_server = children_cpu() - cpu_before
    times, codes = server_times(workdir / "access.log")
    result["status_codes"] = codes
    result["command"] = " ".join(
        ["manage.py bench_workspace run", f"--org {org.slug}"]
        + [f"--users {users}", f"--seconds {seconds}", f"--requests {requests}"]
        + ([f"--think-ms {think_ms}"] if think_ms else [])
    )
    result["data"] = shape
    result["server"] = {
        "gunicorn_workers": workers,
        "cpus": os.cpu_count(),
        "load_average_1m_before": load_before,
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        # CPU seconds used while loading (warm-up and logins included): with fewer cores
        # than busy processes, requests wait for a core as well as for a worker.
        "cpu_seconds": {"gunicorn": round(cpu_server, 1), "load_generator": round(cpu_load, 1)},
        "time_in_gunicorn_ms": times,
    }
    return result


@contextmanager
def gunicorn_serving(*, workers: int, workdir: Path, log: Callable[[str], None]) -> Iterator[str]:
    """gunicorn serving csplatform.wsgi on a free loopback port (local settings, no debug),
    access log in `workdir`; yields its base URL, and stops it however the block ends."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
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
        "--workers",
        str(workers),
        "--threads",
        "1",
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(m)s %(U)s %(s)s %(D)s %(q)s",
        "--error-logfile",
        str(error_log),
    ]
    log(f"gunicorn on {base_url} ({workers} workers), logs in {workdir}")
    server = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, start_new_session=True)
    try:
        _wait_ready(server, f"{base_url}/healthz", error_log)
        yield base_url
    finally:
        _stop(server)


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
    """SIGTERM to the gunicorn we started (its master stops its workers gracefully), SIGKILL
    to its process group if it is still there after 20 seconds."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(5)
