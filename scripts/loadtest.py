#!/usr/bin/env python3
"""Load generator of the CSM workspace benchmark (`manage.py bench_workspace run` starts it).

Virtual users, each logged in through /login/ as a different CSM, loop as a CSM works: My Work,
the account 360 page of their next open step (and the three fragments that page loads with
htmx), the step's playbook page, then completing the step in place (an htmx POST with the
version the page showed). They stop by themselves at a number of requests or a time limit,
whichever comes first. Loopback only. Standard library only (threads, urllib, http.cookiejar),
so it runs with nothing beyond Python.

The plan (--plan, JSON) names the server and, per user, the open steps to work on:
    {"base_url": "http://127.0.0.1:8123", "password": "...",
     "users": [{"username": "bench-load-01", "steps": [[step, version, playbook, account]]}]}

Prints JSON: per endpoint count, errors, median, p95 and p99 (ms), the throughput, and PASS or
FAIL against the targets (p95 under 200 ms for the pages, 150 ms for completing a step).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import math
import random
import re
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# Endpoints with a target (p95, ms); the account page's fragments are reported alongside.
TARGETS_MS = {"my_work": 200, "account_360": 200, "playbook": 200, "step_complete": 150}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class _NoRaise(urllib.request.HTTPErrorProcessor):
    """Hand every response back as it is: no exception for 4xx/5xx, no redirect followed (a
    redirect to the login page is an error here, not a page)."""

    def http_response(self, request, response):
        return response

    https_response = http_response


class Budget:
    """The requests left, shared by all users, and the deadline."""

    def __init__(self, requests: int):
        self.left = requests
        self.lock = threading.Lock()
        self.deadline = math.inf

    def take(self) -> bool:
        if time.monotonic() >= self.deadline:
            return False
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


class VirtualUser:
    def __init__(self, base: str, username: str, password: str, steps: list, opts):
        self.base = base
        self.username = username
        self.password = password
        self.steps = list(steps)
        self.fragments = not opts.no_fragments
        self.think = opts.think_ms / 1000
        self.timeout = opts.timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRaise()
        )
        self.samples: list[tuple[str, float, int]] = []  # (endpoint, ms, status)
        self.errors: list[str] = []
        self.rng = random.Random(username)

    # -- HTTP

    def _cookie(self, name: str) -> str:
        return next((c.value for c in self.jar if c.name == name), "")

    def _open(self, method: str, path: str, data: dict | None = None, headers=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers or {}
        )
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        with self.opener.open(request, timeout=self.timeout) as response:
            return response.status, response.read()

    def login(self) -> None:
        status, page = self._open("GET", "/login/")
        match = CSRF_INPUT.search(page.decode("utf-8", "replace"))
        if status != 200 or not match:
            raise RuntimeError(f"{self.username}: GET /login/ answered {status}")
        data = {
            "username": self.username,
            "password": self.password,
            "csrfmiddlewaretoken": match.group(1),
        }
        status, _ = self._open("POST", "/login/", data, {"Referer": self.base + "/login/"})
        if status != 302 or not self._cookie("sessionid"):
            raise RuntimeError(f"{self.username}: login failed ({status})")

    def warm_up(self) -> None:
        """One My Work per user before the clock starts (marked, so the server's log skips it)."""
        self._open("GET", "/work/?warmup=1")

    def request(self, budget: Budget, name: str, method: str, path: str, data=None, hx=False):
        if not budget.take():
            return None
        headers = {"HX-Request": "true"} if hx else {}
        if method == "POST":
            headers["X-CSRFToken"] = self._cookie("csrftoken")
            headers["Referer"] = self.base + path
        t0 = time.perf_counter()
        try:
            status, body = self._open(method, path, data, headers)
        except (urllib.error.URLError, OSError) as exc:
            status, body = 0, str(exc).encode()
        ms = (time.perf_counter() - t0) * 1000
        self.samples.append((name, ms, status))
        if status != 200 and len(self.errors) < 5:
            self.errors.append(f"{method} {path} -> {status}: {body[:200]!r}")
        if self.think:
            time.sleep(self.think * self.rng.uniform(0.5, 1.5))
        return status

    # -- The loop

    def run(self, budget: Budget) -> None:
        while self.steps:
            step, version, playbook, account = self.steps.pop(0)
            if self.request(budget, "my_work", "GET", "/work/") is None:
                return
            if self.request(budget, "account_360", "GET", f"/accounts/{account}/") is None:
                return
            if self.fragments:
                for name, path in (
                    ("account_health", f"/health/accounts/{account}/"),
                    ("account_work", f"/work/accounts/{account}/work/"),
                    ("account_timeline", f"/work/accounts/{account}/timeline/"),
                ):
                    if self.request(budget, name, "GET", path, hx=True) is None:
                        return
            if self.request(budget, "playbook", "GET", f"/playbooks/{playbook}/") is None:
                return
            data = {"version": version, "where": "playbook", "notes": ""}
            path = f"/playbooks/steps/{step}/complete/"
            if self.request(budget, "step_complete", "POST", path, data, hx=True) is None:
                return


def _percentile(ordered: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summarize(users: list[VirtualUser], elapsed: float) -> dict:
    by_name: dict[str, list[tuple[float, int]]] = {}
    codes: dict[str, int] = {}
    for user in users:
        for name, ms, status in user.samples:
            by_name.setdefault(name, []).append((ms, status))
            codes[str(status)] = codes.get(str(status), 0) + 1
    endpoints = {}
    passed = True
    order = ["my_work", "account_360", "account_health", "account_work", "account_timeline"]
    order += ["playbook", "step_complete"]
    for name in [n for n in order if n in by_name] + [n for n in by_name if n not in order]:
        rows = by_name[name]
        ordered = sorted(ms for ms, _ in rows)
        errors = sum(1 for _, status in rows if status != 200)
        entry = {
            "count": len(rows),
            "errors": errors,
            "median_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(_percentile(ordered, 95), 1),
            "p99_ms": round(_percentile(ordered, 99), 1),
            "max_ms": round(ordered[-1], 1),
        }
        if name in TARGETS_MS:
            entry["target_p95_ms"] = TARGETS_MS[name]
            entry["pass"] = errors == 0 and entry["p95_ms"] < TARGETS_MS[name]
            passed &= entry["pass"]
        elif errors:
            passed = False
        endpoints[name] = entry
    missing = [n for n in TARGETS_MS if n not in endpoints]
    total = sum(len(r) for r in by_name.values())
    return {
        "requests": total,
        "errors": sum(e["errors"] for e in endpoints.values()),
        "elapsed_s": round(elapsed, 2),
        "throughput_rps": round(total / elapsed, 1) if elapsed else 0.0,
        "status_codes": codes,
        "endpoints": endpoints,
        "not_measured": missing,
        "result": "PASS" if passed and not missing else "FAIL",
        "error_samples": [e for u in users for e in u.errors][:10],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", required=True, help="JSON plan (see the module docstring)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60, help="time limit (60)")
    parser.add_argument("--requests", type=int, default=4000, help="request limit (4000)")
    parser.add_argument("--think-ms", type=int, default=0, help="mean pause between requests")
    parser.add_argument("--timeout", type=float, default=30, help="per request, seconds")
    parser.add_argument("--no-fragments", action="store_true")
    opts = parser.parse_args(argv)

    with open(opts.plan) as f:
        plan = json.load(f)
    base = plan["base_url"].rstrip("/")
    if urllib.parse.urlsplit(base).hostname not in LOOPBACK:
        parser.error(f"refusing to load {base}: loopback only")
    if opts.users > len(plan["users"]):
        parser.error(f"--users {opts.users}: the plan has {len(plan['users'])} users")
    if opts.seconds <= 0 or opts.requests <= 0:
        parser.error("--seconds and --requests must be positive")

    users = [
        VirtualUser(base, u["username"], plan["password"], u["steps"], opts)
        for u in plan["users"][: opts.users]
    ]
    budget = Budget(opts.requests)
    ready = threading.Barrier(len(users) + 1)
    failures: list[str] = []

    def work(user: VirtualUser) -> None:
        try:
            user.login()
            user.warm_up()
        except Exception as exc:  # noqa: BLE001 (reported, and the run stops)
            failures.append(f"{user.username}: {exc}")
            ready.abort()
            return
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        # Users arrive spread over one think time, as people do, rather than all opening My
        # Work in the same millisecond (with --think-ms 0 they all start at once).
        if user.think:
            time.sleep(user.rng.uniform(0, user.think))
        user.run(budget)

    threads = [threading.Thread(target=work, args=(u,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        print(json.dumps({"result": "FAIL", "setup_errors": failures}, indent=2))
        return 1
    started = time.monotonic()
    budget.deadline = started + opts.seconds
    for thread in threads:
        thread.join(opts.seconds + opts.timeout + 5)
    elapsed = time.monotonic() - started
    result = {
        "base_url": base,
        "users": len(users),
        "limits": {"seconds": opts.seconds, "requests": opts.requests},
        "think_ms": opts.think_ms,
        "fragments": not opts.no_fragments,
        **summarize(users, elapsed),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
