"""Locust users of the CSM workspace benchmark: `manage.py bench_workspace run` runs this file
headless against the gunicorn it starts (`locust -f workspace/bench/locustfile.py --headless
-u N -r N -t ... --csv ... --host http://127.0.0.1:PORT --plan plan.json --seconds 60`).

Each user logs in through /login/ as a different load CSM and opens My Work once to warm up;
when every user has, the clock starts and each works as a CSM does, one open step of its plan
after another: My Work, the account 360 page of the step's account and the three fragments
that page loads with htmx, the step's playbook page, then completing the step in place (an
htmx POST carrying the version the page showed). Any answer but a 200 is a failure (a
redirect to the login page is not a page). Requests are named after the page, so locust's
statistics have one row per page; the login and warm-up rows (`login`, `warmup`) are not
measured.

Runs in locust's own process (gevent): it imports locust and the standard library, never
Django. Its options, besides locust's: --plan (JSON: the password, and per user the steps to
work on as [step, version, playbook, account]), --seconds (how long the users work once all
are in; locust's own --run-time is only the outer limit, logins included), --requests (the
run stops after so many measured requests, 0: no limit), --think-ms (a user's mean pause
between requests, 0: back to back) and --no-fragments. Requests under way when a limit is
reached finish and are counted.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
import time

import gevent
import gevent.event
from locust import HttpUser, events, task
from locust.exception import StopUser
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--plan", default="", help="JSON plan written by bench_workspace run")
    parser.add_argument("--seconds", type=float, default=60, help="measured time, once all in")
    parser.add_argument("--requests", type=int, default=0, help="stop after N requests (0: no)")
    parser.add_argument("--think-ms", type=int, default=0, help="mean pause between requests")
    parser.add_argument("--no-fragments", action="store_true", help="skip the 3 fragments")


class _Run:
    """What the users share: the plan's users not yet taken, the start line (work starts
    once every user has logged in and warmed up, so logins never queue with measured
    requests) and the limits: `seconds` from the start, or `requests` measured requests."""

    def __init__(self, environment):
        options = environment.parsed_options
        with open(options.plan) as f:
            plan = json.load(f)
        self.environment = environment
        self.password = plan["password"]
        self.users = list(plan["users"])
        self.think = options.think_ms / 1000
        self.fragments = not options.no_fragments
        self.seconds = options.seconds
        self.left = options.requests or None
        self.expected = min(options.num_users, len(self.users))
        self.arrived = 0
        self.started = gevent.event.Event()
        self.deadline = math.inf
        self.ending = False

    def arrive(self, *, ready: bool) -> None:
        """A user is ready (or gave up, `ready=False`); the last one in starts the clock.
        Then wait for the start."""
        if ready:
            self.arrived += 1
        else:
            self.expected -= 1
        if self.arrived >= self.expected and not self.started.is_set():
            self.deadline = time.monotonic() + self.seconds
            # locust's Requests/s count from its totals' start: from here, the measured time
            # (the per-page rows and the failures so far are kept).
            self.environment.stats.total.reset()
            self.started.set()
            if not self.arrived:
                self.end()
        if ready:
            self.started.wait()

    def take(self) -> bool:
        """One measured request, if the time and the budget allow; once either is spent, each
        user stops at its next request (so requests under way finish and are counted) and
        the run ends when the last one has."""
        if self.left is not None and self.left <= 0 or time.monotonic() >= self.deadline:
            self.end()
            return False
        if self.left is not None:
            self.left -= 1
        return True

    def end(self) -> None:
        if not self.ending:
            self.ending = True
            gevent.spawn(self._quit_when_all_stopped)

    def _quit_when_all_stopped(self) -> None:
        runner = self.environment.runner
        for _ in range(600):  # at most a minute; users stop at their next request
            if runner.user_count == 0:
                break
            gevent.sleep(0.1)
        runner.quit()


_run: _Run | None = None


@events.test_start.add_listener
def _start(environment, **kwargs):
    global _run
    _run = _Run(environment)


@events.quit.add_listener
def _final_csv(**kwargs):
    """The final statistics, in the format of locust's --csv files, beside them as
    <prefix>_final_stats.csv, _final_failures.csv and _final_exceptions.csv: locust rewrites
    its own files once a second while the test runs and not when it ends (its issues #1806,
    #2299), so they can miss the last second of requests."""
    prefix = _run and _run.environment.parsed_options.csv_prefix
    if not prefix:
        return
    stats = StatsCSV(_run.environment, PERCENTILES_TO_REPORT)
    for name, write in (
        ("stats", stats.requests_csv),
        ("failures", stats.failures_csv),
        ("exceptions", stats.exceptions_csv),
    ):
        with open(f"{prefix}_final_{name}.csv", "w", newline="") as f:
            write(csv.writer(f))


class CsmUser(HttpUser):
    """One load CSM working through its open steps."""

    def wait_time(self):
        return _run.think * self.rng.uniform(0.5, 1.5) if _run.think else 0

    def on_start(self):
        if not _run.users:
            raise StopUser()
        me = _run.users.pop(0)
        self.username, self.steps = me["username"], list(me["steps"])
        self.rng = random.Random(self.username)
        try:
            self._login()
            self._get("warmup", "/work/?warmup=1", measured=False)
        except StopUser:
            _run.arrive(ready=False)
            raise
        _run.arrive(ready=True)
        # Users arrive spread over one think time, as people do, rather than all opening My
        # Work in the same millisecond (back to back, they all start at once).
        if _run.think:
            gevent.sleep(self.rng.uniform(0, _run.think))

    def _login(self) -> None:
        """GET the login page for its CSRF token, POST the form; StopUser if either fails."""
        with self.client.get("/login/", name="login", catch_response=True) as response:
            match = CSRF_INPUT.search(response.text or "")
            if response.status_code != 200 or not match:
                response.failure(f"{self.username}: GET /login/ answered {response.status_code}")
        if response.status_code != 200 or not match:
            raise StopUser()
        data = {
            "username": self.username,
            "password": _run.password,
            "csrfmiddlewaretoken": match.group(1),
        }
        with self.client.post(
            "/login/",
            data=data,
            name="login",
            headers={"Referer": f"{self.host}/login/"},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            logged_in = response.status_code == 302 and "sessionid" in self.client.cookies
            if not logged_in:
                response.failure(f"{self.username}: login failed ({response.status_code})")
        if not logged_in:
            raise StopUser()

    def _get(self, name: str, path: str, *, hx: bool = False, measured: bool = True) -> None:
        self._request("GET", name, path, hx=hx, measured=measured)

    def _request(self, method, name, path, *, data=None, hx=False, measured=True) -> None:
        if measured and not _run.take():
            raise StopUser()
        headers = {"HX-Request": "true"} if hx else {}
        if method == "POST":
            headers["X-CSRFToken"] = self.client.cookies.get("csrftoken", "")
            headers["Referer"] = f"{self.host}{path}"
        with self.client.request(
            method,
            path,
            name=name,
            data=data,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{method} {path} -> {response.status_code}")

    @task
    def work_next_step(self):
        if not self.steps:
            raise StopUser()
        step, version, playbook, account = self.steps.pop(0)
        self._get("my_work", "/work/")
        self.wait()
        self._get("account_360", f"/accounts/{account}/")
        if _run.fragments:
            for name, path in (
                ("account_health", f"/health/accounts/{account}/"),
                ("account_work", f"/work/accounts/{account}/work/"),
                ("account_timeline", f"/work/accounts/{account}/timeline/"),
            ):
                self.wait()
                self._get(name, path, hx=True)
        self.wait()
        self._get("playbook", f"/playbooks/{playbook}/")
        self.wait()
        data = {"version": version, "where": "playbook", "notes": ""}
        path = f"/playbooks/steps/{step}/complete/"
        self._request("POST", "step_complete", path, data=data, hx=True)
