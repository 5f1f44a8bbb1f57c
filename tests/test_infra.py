"""The infrastructure around the app: check_services, the local services script, the stack
supervisor, and the documentation of every setting read from the environment."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from tests.services import free_port

ROOT = Path(__file__).resolve().parent.parent


def _clean_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["DJANGO_SETTINGS_MODULE"] = "csplatform.settings.local"
    env.update(overrides)
    return env


def _check_services(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check_services", "--timeout", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- check_services ---------------------------------------------------------------------------


def test_check_services_reports_an_unreachable_database_in_one_line():
    result = _check_services(_clean_env(DATABASE_URL="postgres://x@127.0.0.1:1/x"))

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    lines = [line for line in result.stderr.splitlines() if line.startswith("database:")]
    assert len(lines) == 1
    assert lines[0].startswith("database: UNREACHABLE at 127.0.0.1:1/x: ")
    assert "make services" in lines[0] and "DATABASE_URL" in lines[0]


def test_check_services_reports_an_unreachable_broker(tmp_path):
    env = _clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL="redis://127.0.0.1:1/0"
    )
    result = _check_services(env)

    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert re.search(r"^database: ok \(sqlite [\d.]+ at .*db\.sqlite3\)$", result.stdout, re.M)
    assert re.search(r"^broker: UNREACHABLE at 127\.0\.0\.1:1/0: .+REDIS_URL$", result.stderr, re.M)


# django_db: the session's test database is only created when some test asks for it.
@pytest.mark.django_db
def test_check_services_passes_on_real_postgresql_and_redis(test_database_url, redis_url):
    result = _check_services(_clean_env(DATABASE_URL=test_database_url, REDIS_URL=redis_url))

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(
        r"^database: ok \(postgresql 1\d\.\d+ at 127\.0\.0\.1:\d+/", result.stdout, re.M
    )
    assert re.search(
        r"^broker: ok \(redis \d+\.\d+\.\d+ at 127\.0\.0\.1:\d+/0\)$", result.stdout, re.M
    )


# -- make services ----------------------------------------------------------------------------


def test_services_script_starts_reuses_and_stops_postgresql_and_redis():
    # Not pytest's tmp_path: its folders are private to root, and as root the cluster must be
    # reachable by the `postgres` user.
    services_dir = Path(tempfile.mkdtemp(prefix="csplatform-services-test-"))
    services_dir.chmod(0o755)
    pg_port = free_port()
    redis_port = next(p for p in iter(free_port, None) if p != pg_port)
    env = {
        **os.environ,
        "SERVICES_DIR": str(services_dir),
        "PG_PORT": str(pg_port),
        "REDIS_PORT": str(redis_port),
        "PG_SHARED_BUFFERS": "128MB",
        "PG_EFFECTIVE_CACHE_SIZE": "1GB",
        "PG_MAINTENANCE_WORK_MEM": "64MB",
    }
    script = [str(ROOT / "scripts" / "services.sh")]

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*script, command], env=env, capture_output=True, text=True, timeout=120
        )

    try:
        first = run("start")
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"export DATABASE_URL=postgres://postgres@127.0.0.1:{pg_port}/csplatform" in (
            first.stdout
        )
        assert f"export REDIS_URL=redis://127.0.0.1:{redis_port}/0" in first.stdout

        second = run("start")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "postgresql: already running" in second.stdout
        assert "redis: already running" in second.stdout

        checked = _check_services(
            _clean_env(
                DATABASE_URL=f"postgres://postgres@127.0.0.1:{pg_port}/csplatform",
                REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
            )
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "database: ok (postgresql 15." in checked.stdout
    finally:
        stopped = run("stop")
        subprocess.run(["rm", "-rf", str(services_dir)], check=False)

    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "redis: stopped" in stopped.stdout
    assert "postgresql: stopped" in stopped.stdout
    assert run("status").stdout.splitlines() == ["postgresql: not running", "redis: not running"]


# -- make stack's supervisor ------------------------------------------------------------------

DRIVER = textwrap.dedent(
    """
    import importlib.util, sys

    spec = importlib.util.spec_from_file_location("stack", {stack!r})
    stack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stack)
    py = sys.executable
    sys.exit(
        stack.supervise(
            {{
                "alpha": [py, "-u", "-c", {alpha!r}],
                "beta": [py, "-u", "-c", {beta!r}],
            }},
            grace=5,
        )
    )
    """
)

LONG_RUNNING = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *a: (print('{name} got SIGTERM'), sys.exit(0)))\n"
    "print('{name} pid', os.getpid())\n"
    "while True: time.sleep(0.1)\n"
)


def _driver(tmp_path: Path, alpha: str, beta: str) -> subprocess.Popen:
    path = tmp_path / "driver.py"
    path.write_text(DRIVER.format(stack=str(ROOT / "scripts" / "stack.py"), alpha=alpha, beta=beta))
    return subprocess.Popen(
        [sys.executable, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_lines(proc: subprocess.Popen, needles: list[str], timeout: float = 20) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(any(n in x for x in lines) for n in needles):
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
    return lines


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stack_supervisor_prefixes_output_and_stops_everything_on_ctrl_c(tmp_path):
    proc = _driver(tmp_path, LONG_RUNNING.format(name="alpha"), LONG_RUNNING.format(name="beta"))
    try:
        lines = _wait_for_lines(proc, ["alpha pid", "beta pid"])
        pids = [int(line.rsplit(" ", 1)[1]) for line in lines if " pid " in line]
        assert len(pids) == 2, lines
        assert any(line.startswith("alpha | alpha pid") for line in lines), lines
        assert any(line.startswith("beta  | beta pid") for line in lines), lines

        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()

    assert proc.returncode == 0
    assert "alpha | alpha got SIGTERM" in rest
    assert "beta  | beta got SIGTERM" in rest
    assert not any(_alive(pid) for pid in pids)


def test_stack_supervisor_stops_the_others_when_one_dies(tmp_path):
    dies = "import time; time.sleep(0.5); print('failing'); raise SystemExit(3)"
    proc = _driver(tmp_path, LONG_RUNNING.format(name="alpha"), dies)
    try:
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()

    assert proc.returncode == 3, out
    assert "beta  | exited with status 3; stopping the others" in out
    assert "alpha | alpha got SIGTERM" in out


def test_stack_environment_defaults_to_the_local_services(monkeypatch):
    spec = importlib.util.spec_from_file_location("stack", ROOT / "scripts" / "stack.py")
    stack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stack)
    monkeypatch.setattr(stack, "_in_dotenv", lambda key: False)

    env = stack.stack_environment({"PG_PORT": "5555", "PATH": "/usr/bin"})
    assert env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5555/csplatform"
    assert env["REDIS_URL"] == "redis://127.0.0.1:63799/0"
    assert env["DJANGO_SETTINGS_MODULE"] == "csplatform.settings.local"
    assert env["DJANGO_DEBUG"] == "false"

    given = stack.stack_environment({"DATABASE_URL": "sqlite:///x", "DJANGO_DEBUG": "true"})
    assert given["DATABASE_URL"] == "sqlite:///x"
    assert given["DJANGO_DEBUG"] == "true"


# -- documentation and scripts ------------------------------------------------------------------


def test_every_environment_variable_the_settings_read_is_documented_in_the_readme():
    settings_dir = ROOT / "csplatform" / "settings"
    read = set()
    for path in settings_dir.glob("*.py"):
        read |= set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", path.read_text()))
    readme = (ROOT / "README.md").read_text()
    configuration = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]

    assert read, "found no env(...) reads in the settings"
    assert sorted(v for v in read if f"`{v}`" not in configuration) == []


@pytest.mark.parametrize("script", ["scripts/services.sh", "scripts/system-deps.sh", ".ci/run"])
def test_shell_scripts_parse_and_are_executable(script):
    path = ROOT / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
