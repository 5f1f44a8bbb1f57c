"""The infrastructure around the app: check_services, the local services script, make stack (the
Procfile under honcho), and the documentation of every setting read from the environment."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
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


# -- make stack: check_services, migrate, collectstatic, then the Procfile under honcho -------

STARTED = re.compile(r"^\d\d:\d\d:\d\d system\s+\| (\w+)\.1 started \(pid=(\d+)\)$")


def _stack_env(**overrides: str) -> dict[str, str]:
    """The caller's environment without what make stack must decide itself (settings, debug, the
    service URLs) or what a surrounding `make test` would hand a nested make."""
    dropped = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "MAKEFLAGS"}
    dropped |= {"MFLAGS", "MAKELEVEL", "STACK_BIND", "WEB_CONCURRENCY", "CELERY_CONCURRENCY"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(WEB_CONCURRENCY="1", CELERY_CONCURRENCY="1", **overrides)
    return env


class _Stack:
    """`make stack` in its own session, as a terminal runs it: make and honcho in one process
    group (a Ctrl-C reaches both), each Procfile process in a group of its own."""

    def __init__(self, env: dict[str, str]):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            ["make", "--no-print-directory", "stack"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def groups(self) -> dict[str, int]:
        """Procfile process name -> the process group honcho started it in."""
        found = (STARTED.match(line) for line in list(self.lines))
        return {m[1]: int(m[2]) for m in found if m}

    def wait(self, timeout: float) -> int:
        returncode = self.proc.wait(timeout)
        self._reader.join(5)
        return returncode

    def kill(self) -> None:
        for pgid in [self.proc.pid, *self.groups().values()]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        self.proc.wait(10)


def _group_gone(pgid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _until(predicate, timeout: float, stack: _Stack):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert stack.proc.poll() is None, stack.output
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout} s:\n{stack.output}")


def _get(url: str) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return None


@pytest.fixture
def stack_database(test_database_url):
    """A new, empty database on the test run's PostgreSQL, for make stack to migrate."""
    import psycopg2

    parsed = urllib.parse.urlsplit(test_database_url)
    name = f"stack_{os.getpid()}"
    admin = psycopg2.connect(
        host=parsed.hostname, port=parsed.port, user=parsed.username, dbname="postgres"
    )
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield parsed._replace(path=f"/{name}").geturl()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        admin.close()


def _stack_redis(redis_url: str) -> str:
    """Its own Redis database number: nothing queued by other tests reaches the stack's worker."""
    return redis_url.rsplit("/", 1)[0] + "/1"


def test_make_stack_uses_the_services_of_make_services_and_stops_on_an_unreachable_one():
    # STACK_DOTENV: a DATABASE_URL in the checkout's .env must not decide this test.
    defaults = _Stack(_stack_env(PG_PORT="1", REDIS_PORT="1", STACK_DOTENV="/dev/null"))
    given = _Stack(_stack_env(DATABASE_URL="postgres://x@127.0.0.1:1/given", REDIS_PORT="1"))
    try:
        assert defaults.wait(60) != 0
        assert given.wait(60) != 0
    finally:
        defaults.kill()
        given.kill()

    lines = defaults.lines
    assert lines[:2] == [
        "stack: settings csplatform.settings.local, DJANGO_DEBUG=false",
        "stack: manage.py check_services",
    ], defaults.output
    database = [line for line in lines if line.startswith("database:")]
    assert len(database) == 1 and database[0].startswith(
        "database: UNREACHABLE at 127.0.0.1:1/csplatform: "
    ), defaults.output
    assert any(line.startswith("broker: UNREACHABLE at 127.0.0.1:1/0: ") for line in lines)
    assert "Traceback" not in defaults.output
    assert "stack: manage.py migrate" not in defaults.output
    assert not defaults.groups(), defaults.output
    assert any(
        line.startswith("database: UNREACHABLE at 127.0.0.1:1/given: ") for line in given.lines
    ), given.output


@pytest.mark.django_db
def test_make_stack_migrates_then_serves_runs_a_worker_and_beat_and_ctrl_c_stops_all(
    stack_database, redis_url
):
    from celery import Celery

    port = free_port()
    broker = _stack_redis(redis_url)
    stack = _Stack(
        _stack_env(DATABASE_URL=stack_database, REDIS_URL=broker, STACK_BIND=f"127.0.0.1:{port}")
    )
    # Not the current app: tasks that later tests send must not go through this one.
    pinger = Celery(broker=broker, set_as_current=False)
    try:
        health = _until(lambda: _get(f"http://127.0.0.1:{port}/healthz"), 180, stack)
        assert health[0] == 200, health
        # DJANGO_DEBUG=false: the plain 404 page, not Django's technical one.
        missing = _get(f"http://127.0.0.1:{port}/no-such-page")
        assert missing[0] == 404 and "URLconf" not in missing[1], missing
        replies = _until(lambda: pinger.control.ping(timeout=1), 120, stack)
        assert any(reply.get("ok") == "pong" for r in replies for reply in r.values()), replies
        _until(lambda: any("beat: Starting..." in line for line in stack.lines), 60, stack)
        groups = stack.groups()
        assert set(groups) == {"web", "worker", "beat"}, stack.output

        os.killpg(stack.proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        returncode = stack.wait(60)
    finally:
        pinger.close()
        stack.kill()

    out = stack.output
    assert returncode != 0, out  # interrupted
    assert "stack: settings csplatform.settings.local, DJANGO_DEBUG=false" in out
    assert "Applying orgs.0001_organizations_users_roles... OK" in out
    assert re.search(r"^\d\d:\d\d:\d\d web\.1\s+\| .*\"GET /healthz HTTP/1\.1\" 200", out, re.M)
    assert re.search(r"^\d\d:\d\d:\d\d worker\.1 +\| .*celery@\S+ ready\.", out, re.M)
    assert re.search(r"^\d\d:\d\d:\d\d beat\.1 +\| .*var/services/celerybeat-schedule", out, re.M)
    assert "SIGINT received" in out
    for name, pgid in groups.items():
        assert f"sending SIGTERM to {name}.1" in out
        assert _group_gone(pgid), f"{name} (process group {pgid}) still running\n{out}"


@pytest.mark.django_db
def test_make_stack_stops_the_others_when_one_dies(test_database_url, redis_url):
    # gunicorn cannot bind a port that is taken, gives up after its retries and exits.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bind = f"127.0.0.1:{taken.getsockname()[1]}"
        stack = _Stack(
            _stack_env(
                DATABASE_URL=test_database_url, REDIS_URL=_stack_redis(redis_url), STACK_BIND=bind
            )
        )
        try:
            returncode = stack.wait(240)
        finally:
            stack.kill()

    out = stack.output
    assert returncode != 0, out
    groups = stack.groups()
    assert set(groups) == {"web", "worker", "beat"}, out
    assert re.search(r"^\d\d:\d\d:\d\d system\s+\| web\.1 stopped \(rc=[1-9]\d*\)$", out, re.M), out
    for name in ("worker", "beat"):
        assert f"sending SIGTERM to {name}.1" in out, out
    for name, pgid in groups.items():
        assert _group_gone(pgid), f"{name} (process group {pgid}) still running\n{out}"


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


def test_every_stylesheet_rule_is_closed():
    """Each rule of our stylesheets opens and closes its braces in order (comments aside): a
    merge once kept two sides of a conflict without the brace between them, and the browser
    dropped the next rule (the top bar's "More" menu lost its layout) without any error."""
    for path in sorted((ROOT / "static" / "css").glob("*.css")):
        text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        depth = 0
        for number, line in enumerate(text.splitlines(), 1):
            for char in line:
                depth += {"{": 1, "}": -1}.get(char, 0)
                assert depth >= 0, f"{path.name}: a '}}' closes nothing near line {number}"
            # our rules do not nest (no @media inside @media): two open braces is a rule left open
            assert depth <= 2, f"{path.name}: a rule is left open near line {number}"
        assert depth == 0, f"{path.name}: {depth} rule(s) left open"
