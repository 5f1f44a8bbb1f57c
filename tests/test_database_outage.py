"""A database outage during requests, for real: gunicorn (two workers, persistent database
connections as in production) serves a signed-in CSM while this test ends every one of its
database connections and refuses new ones for a moment (what a PostgreSQL restart does to
them), then lets them in again. Every response is a 200 or the 503 page, never a 500."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time

import psycopg2
import pytest
from django.test import Client

from tests.conftest import ROOT
from tests.services import free_port

PAGES = ["/work/", "/accounts/", "/work/notifications/", "/health/models/"]


@pytest.fixture
def gunicorn(test_database_url, tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csplatform.settings.test",
        "DATABASE_URL": test_database_url,
        "DATABASE_CONN_MAX_AGE": "60",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "csplatform.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError(f"gunicorn did not start:\n{log.read_text()}")
    yield port
    proc.terminate()
    proc.wait(20)


@pytest.mark.django_db(transaction=True)
def test_a_database_restart_during_requests_gives_200s_or_the_503_page(
    gunicorn, csm, org, test_database_url
):
    from django.db import connection

    connection.ensure_connection()
    mine = connection.connection.get_backend_pid()  # this test's own session stays
    browser = Client()
    browser.force_login(csm)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    base, database = test_database_url.rsplit("/", 1)
    admin = psycopg2.connect(f"{base}/postgres")  # the server's, not the one it shuts
    admin.autocommit = True
    answers: list[tuple[int, str]] = []
    stop = threading.Event()

    def user():
        while not stop.is_set():
            for page in PAGES:
                conn = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=30)
                conn.request("GET", page, headers={"Cookie": cookie, "Host": "127.0.0.1"})
                response = conn.getresponse()
                answers.append((response.status, response.read().decode()))

    def restart():
        """Every other session of the database ended, new ones refused for 0.6 s."""
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> %s",
                [database, mine],
            )
            time.sleep(0.6)
            cur.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

    users = [threading.Thread(target=user) for _ in range(2)]
    for thread in users:
        thread.start()
    try:
        time.sleep(1)
        for _ in range(3):
            restart()
            time.sleep(1)
    finally:
        stop.set()
        for thread in users:
            thread.join(60)
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        admin.close()
    statuses = [status for status, _ in answers]
    assert len(answers) > 20 and statuses.count(200) > 10, statuses
    assert set(statuses) <= {200, 503}, statuses
    assert 503 in statuses, "no request met the outage"
    for status, html in answers:
        if status == 503:
            assert "Temporarily unavailable" in html and "its database" in html
