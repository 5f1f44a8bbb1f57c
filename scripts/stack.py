#!/usr/bin/env python3
"""`make stack`: the whole platform in the foreground against real PostgreSQL and Redis: checks
the services, migrates, collects static files, then runs gunicorn, a Celery worker and Celery
beat with each line of their logs prefixed by its name, and stops them all on Ctrl-C.

Settings are csplatform.settings.local with DJANGO_DEBUG=false unless told otherwise: what
production runs (no debug pages, static files collected and served by whitenoise) without
production's demands for a real secret key, HTTPS cookies and an explicit host list.

Environment: DATABASE_URL and REDIS_URL (default: the servers of `make services`, unless set
in the environment or in .env), PG_PORT and REDIS_PORT (those servers' ports), STACK_BIND
(127.0.0.1:8000), WEB_CONCURRENCY (gunicorn workers, 2), CELERY_CONCURRENCY (2).
Standard library only, so it needs nothing beyond the project's own dependencies.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLOURS = ["\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m"]
RESET = "\033[0m"


def _in_dotenv(key: str) -> bool:
    dotenv = ROOT / ".env"
    if not dotenv.exists():
        return False
    pattern = re.compile(rf"^\s*(export\s+)?{re.escape(key)}\s*=")
    return any(pattern.match(line) for line in dotenv.read_text().splitlines())


def stack_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment every process of the stack runs with."""
    env = dict(environ)
    defaults = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{env.get('PG_PORT', '54329')}/csplatform",
        "REDIS_URL": f"redis://127.0.0.1:{env.get('REDIS_PORT', '63799')}/0",
    }
    for key, value in defaults.items():
        if key not in env and not _in_dotenv(key):
            env[key] = value
    # Named, not left to manage.py, Celery and wsgi.py, whose default is production.
    env.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings.local")
    env.setdefault("DJANGO_DEBUG", "false")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def supervise(
    commands: Mapping[str, Sequence[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    grace: float = 20.0,
    out=None,
) -> int:
    """Run `commands` side by side, prefixing their output. Returns 0 when stopped by SIGINT or
    SIGTERM, or the exit status of the first process that ended on its own (1 if it was 0),
    after stopping the others: SIGTERM to each, then SIGKILL to its process group after
    `grace` seconds. A second Ctrl-C skips the grace period."""
    out = out or sys.stdout
    colour = out.isatty() if hasattr(out, "isatty") else False
    width = max(len(name) for name in commands)
    lock = threading.Lock()
    stop = threading.Event()
    signals_received: list[int] = []

    names = list(commands)

    def write(name: str, line: str) -> None:
        prefix = f"{name:<{width}} | "
        if colour:
            prefix = f"{COLOURS[names.index(name) % len(COLOURS)]}{prefix}{RESET}"
        with lock:
            out.write(prefix + line.rstrip("\n") + "\n")
            out.flush()

    def pump(name: str, proc: subprocess.Popen) -> None:
        for raw in iter(proc.stdout.readline, b""):
            write(name, raw.decode(errors="replace"))

    def on_signal(signum, frame):
        signals_received.append(signum)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    procs: dict[str, subprocess.Popen] = {}
    pumps: list[threading.Thread] = []
    status = 0
    try:
        for name, argv in commands.items():
            # Own session: a Ctrl-C reaches only this supervisor, which then stops each
            # process in order instead of all of them dying at once mid-write.
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            procs[name] = proc
            thread = threading.Thread(target=pump, args=(name, proc), daemon=True)
            thread.start()
            pumps.append(thread)
        while not stop.is_set():
            ended = [(n, p) for n, p in procs.items() if p.poll() is not None]
            if ended:
                name, proc = ended[0]
                status = proc.returncode or 1
                write(name, f"exited with status {proc.returncode}; stopping the others")
                break
            stop.wait(0.2)
    finally:
        _stop_all(procs, grace=grace, hurry=lambda: len(signals_received) > 1, write=write)
        for thread in pumps:
            thread.join(timeout=2)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status


def _stop_all(procs, *, grace: float, hurry, write) -> None:
    for name, proc in procs.items():
        if proc.poll() is None:
            write(name, "stopping (SIGTERM)")
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not hurry():
        if all(proc.poll() is not None for proc in procs.values()):
            break
        time.sleep(0.1)
    for name, proc in procs.items():
        # Also reaches what the process left behind (gunicorn and Celery pool children).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            if proc.poll() is None:
                write(name, "did not stop in time: killed")
        except ProcessLookupError:
            pass
        proc.wait()


def main() -> int:
    env = stack_environment(os.environ)
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    services_dir = ROOT / "var" / "services"
    services_dir.mkdir(parents=True, exist_ok=True)

    print(f"stack: settings {env['DJANGO_SETTINGS_MODULE']}, DJANGO_DEBUG={env['DJANGO_DEBUG']}")
    for step in (
        [*manage, "check_services"],
        [*manage, "migrate", "--noinput"],
        [*manage, "collectstatic", "--noinput", "--verbosity", "0"],
    ):
        print("stack: manage.py " + " ".join(step[2:]), flush=True)
        result = subprocess.run(step, cwd=ROOT, env=env)
        if result.returncode != 0:
            return result.returncode

    bind = env.get("STACK_BIND", "127.0.0.1:8000")
    print(f"stack: serving on http://{bind}/ ; Ctrl-C stops everything", flush=True)
    celery = [python, "-m", "celery", "-A", "csplatform"]
    return supervise(
        {
            "web": [
                python,
                "-m",
                "gunicorn",
                "csplatform.wsgi",
                "--bind",
                bind,
                "--workers",
                env.get("WEB_CONCURRENCY", "2"),
                "--access-logfile",
                "-",
            ],
            "worker": [
                *celery,
                "worker",
                "--loglevel",
                "info",
                "--concurrency",
                env.get("CELERY_CONCURRENCY", "2"),
            ],
            "beat": [
                *celery,
                "beat",
                "--loglevel",
                "info",
                "--schedule",
                str(services_dir / "celerybeat-schedule"),
            ],
        },
        env=env,
        cwd=ROOT,
    )


if __name__ == "__main__":
    sys.exit(main())
