"""Test fixtures: a real PostgreSQL started by the run, a real Redis and a real Celery worker
for the tests that need them, organizations in context, and users per role."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import environ
import pytest
import redis

from tests.services import PostgresServer

ROOT = Path(__file__).resolve().parent.parent


# -- PostgreSQL -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL, unless DATABASE_URL names a running server."""
    if os.environ.get("DATABASE_URL"):
        yield None
        return
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(postgres_server):
    from django.conf import settings
    from django.db import connections

    if postgres_server is not None:
        parsed = environ.Env.db_url_config(postgres_server.url)
        for key in ("ENGINE", "HOST", "PORT", "USER", "PASSWORD"):
            settings.DATABASES["default"][key] = parsed[key]
        connections["default"].settings_dict.update(settings.DATABASES["default"])
        connections["default"].close()


@pytest.fixture(scope="session")
def test_database_url(django_db_setup) -> str:
    """The URL of the test database, for processes (Celery workers) outside this one."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


# -- Redis and a real Celery worker -----------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(request):
    """pytest-redis's throwaway redis-server, unless REDIS_URL names a running server."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    server = request.getfixturevalue("redis_proc")
    # No snapshots: the data is thrown away at the end of the run.
    with redis.Redis(host=server.host, port=server.port) as client:
        client.config_set("save", "")
    return f"redis://{server.host}:{server.port}/0"


@pytest.fixture(scope="session")
def celery_broker(redis_url):
    """Point this process's Celery app at the real Redis broker (tasks are sent, not run)."""
    from csplatform.celery import app

    previous = dict(app.conf)
    app.conf.update(
        broker_url=redis_url,
        result_backend=redis_url,
        task_always_eager=False,
    )
    _forget_broker_connections(app)
    yield app
    app.conf.update(
        broker_url=previous["broker_url"],
        result_backend=previous["result_backend"],
        task_always_eager=previous["task_always_eager"],
    )
    _forget_broker_connections(app)


def _forget_broker_connections(app) -> None:
    """Drop the app's cached broker pool, producer pool and result backend so the next use
    follows app.conf. kombu keeps a process-wide registry of pools keyed by URL, so closing
    only the app's pool would hand the same closed pool back ("Acquire on closed pool")."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@pytest.fixture(autouse=True)
def _installation_language():
    """Each test starts in the installation's language, as a Celery task does: a page served
    in pt-BR leaves its language active in the thread (LocaleMiddleware activates it and
    nothing turns it off), which made a later night in the same process write Portuguese."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def celery_worker_factory(celery_broker, redis_url, test_database_url, tmp_path):
    """Start real `celery worker` processes on the test database; stopped after the test."""
    yield from _worker_factory(celery_broker, redis_url, test_database_url, tmp_path)


def _worker_factory(app, broker_url, database_url, tmp_path):
    """Each worker runs in a process group of its own (its pid), so a test can kill the whole
    worker, pool processes and all, with os.killpg; `env` adds settings for the worker."""
    procs: list[subprocess.Popen] = []

    def start(
        name: str = "w1", concurrency: int = 1, queues: str = "celery", env: dict | None = None
    ) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "csplatform.settings.test",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            **(env or {}),
        }
        log = tmp_path / f"worker-{name}.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "csplatform",
                "worker",
                "-l",
                "info",
                "-n",
                f"{name}@%h",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "-Q",
                queues,
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited:\n{log.read_text()}")
            replies = app.control.ping(timeout=0.5, destination=None) or []
            if any(name in next(iter(r)) for r in replies):
                return proc
        raise RuntimeError(f"celery worker did not answer within 60 s:\n{log.read_text()}")

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def celery_worker(celery_worker_factory):
    return celery_worker_factory()


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of the test's own, with append-only persistence like `make services`,
    that the test may stop and start again (the broker outage tests)."""
    from tests.services import RedisServer

    server = RedisServer.start(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_broker(own_redis):
    """This process's Celery app pointed at `own_redis` for the test, then back."""
    from csplatform.celery import app

    previous = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=own_redis.url, result_backend=own_redis.url, task_always_eager=False)
    _forget_broker_connections(app)
    yield app
    app.conf.update(**previous)
    _forget_broker_connections(app)


@pytest.fixture
def own_worker_factory(own_broker, own_redis, test_database_url, tmp_path):
    """Real `celery worker` processes on `own_redis` (see celery_worker_factory)."""
    yield from _worker_factory(own_broker, own_redis.url, test_database_url, tmp_path)


# -- Tenancy and users ------------------------------------------------------------------


@pytest.fixture
def org(db):
    from tests.factories import OrganizationFactory

    return OrganizationFactory(name="Acme CS", slug="acme")


@pytest.fixture
def other_org(db):
    from tests.factories import OrganizationFactory

    return OrganizationFactory(name="Globex CS", slug="globex")


@pytest.fixture
def in_org(org):
    """Run the test body as `org` (what the middleware does for a request)."""
    from orgs.tenancy import org_context

    with org_context(org):
        yield org


def _member(org, role, username):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(username=username)
    MembershipFactory(user=user, organization=org, role=role)
    return user


@pytest.fixture
def csm(org):
    return _member(org, "csm", "carla.csm")


@pytest.fixture
def manager(org):
    return _member(org, "manager", "marcos.manager")


@pytest.fixture
def analyst(org):
    return _member(org, "analyst", "ana.analyst")


@pytest.fixture
def org_admin(org):
    return _member(org, "admin", "alice.admin")


# -- CI: no skipped test ----------------------------------------------------------------


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(f"CI=true: {skipped} test(s) skipped; in CI no test may be skipped")
        session.exitstatus = 1
