"""`manage.py bench_configuration --org bench`: the configuration area's evaluations at scale,
as JSON with the machine's load. On the workspace benchmark's data (`seed_demo --org bench
--accounts 100000 --months 6 --seed 7`; its demo triggers and personas), times:

- the dry run of each active trigger ("if it ran tonight": the night's frame, scope,
  evaluation and cool-downs), `--repeat` times each: median and p95 (target <= 2 s);
- each persona's live count and sample while editing (the rules as stored plus its
  hand-picked accounts), `--repeat` times: median and p95 (target <= 500 ms);
- the weekly backtest over `--days` (default 180) of one trigger of each kind, or of every
  active trigger with `--backtest all`, once each (target <= 30 s).

Reads only: nothing is written. PostgreSQL only (the frame's SQL is the night's)."""

from __future__ import annotations

import json
import os
import statistics
import time

from django.core.management.base import CommandError
from django.db import connection

from accounts.models import Persona
from orgs.cli import ProjectCommand, org_by_slug, whole_number
from orgs.tenancy import org_context
from orgs.timezones import org_today
from triggers.models import Trigger

from ... import selectors
from ...evaluation import dry_run_day, trigger_backtest, trigger_dry_run

DRY_RUN_S = 2.0
LIVE_COUNT_MS = 500
BACKTEST_S = 30.0


def _uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cpus)"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _timed(fn, repeat: int) -> tuple[dict, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return {
        "median_s": round(statistics.median(times), 3),
        "p95_s": round(_p95(times), 3),
        "runs": repeat,
    }, result


class Command(ProjectCommand):
    help = "Time the dry runs, persona live counts and backtests at scale (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="bench")
        parser.add_argument("--repeat", default="5", help="runs per dry run and live count")
        parser.add_argument("--days", default="180", help="days the backtest replays")
        parser.add_argument(
            "--backtest",
            choices=("kinds", "all", "none"),
            default="kinds",
            help="one trigger of each kind (default), every active trigger, or none",
        )

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("bench_configuration runs on PostgreSQL (set DATABASE_URL)")
        repeat = whole_number("--repeat", opts["repeat"], 1, 100)
        days = whole_number("--days", opts["days"], 7, 730)
        org = org_by_slug(opts["org"])
        out: dict = {"organization": org.slug, "uptime_before": _uptime()}
        today = org_today(org)
        with org_context(org):
            triggers = list(
                Trigger.objects.filter(is_active=True)
                .select_related("persona", "product", "template")
                .order_by("kind", "name")
            )
            if not triggers:
                raise CommandError(f"--org: {org.slug} has no active trigger to dry-run")
            from accounts.models import Account

            out["accounts"] = Account.objects.count()
            day = dry_run_day(today)
            out["dry_run_day"] = day.isoformat()
            out["dry_runs"] = self._dry_runs(triggers, day, repeat)
            out["persona_live_counts"] = self._live_counts(repeat)
            out["backtests"] = self._backtests(triggers, today, days, opts["backtest"])
        worst = {
            "dry_run_p95_s": max(r["p95_s"] for r in out["dry_runs"]),
            "live_count_p95_ms": max((r["p95_ms"] for r in out["persona_live_counts"]), default=0),
            "backtest_s": max((r["seconds"] for r in out["backtests"]), default=0),
        }
        out["worst"] = worst
        out["targets"] = {
            "dry_run_s": DRY_RUN_S,
            "live_count_ms": LIVE_COUNT_MS,
            "backtest_s": BACKTEST_S,
        }
        out["result"] = (
            "PASS"
            if worst["dry_run_p95_s"] <= DRY_RUN_S
            and worst["live_count_p95_ms"] <= LIVE_COUNT_MS
            and worst["backtest_s"] <= BACKTEST_S
            else "FAIL"
        )
        out["uptime_after"] = _uptime()
        self.stdout.write(json.dumps(out, indent=2, default=str))

    def _dry_runs(self, triggers, day, repeat) -> list[dict]:
        rows = []
        for trigger in triggers:
            timing, run = _timed(lambda t=trigger: trigger_dry_run(trigger=t, day=day), repeat)
            rows.append(
                {
                    "trigger": trigger.name,
                    "id": trigger.pk,
                    **timing,
                    "matched": run.matched,
                    "held_back": run.held_back,
                    "would_fire": run.would_fire,
                }
            )
        return rows

    def _live_counts(self, repeat) -> list[dict]:
        rows = []
        for persona in Persona.objects.order_by("priority", "name"):
            picked = list(persona.hand_picked.values_list("pk", flat=True))
            timing, (count, _sample) = _timed(
                lambda p=persona, ids=picked: selectors.persona_live(
                    rules=p.rules or None, hand_picked_ids=ids
                ),
                repeat,
            )
            rows.append(
                {
                    "persona": persona.name,
                    "median_ms": round(timing["median_s"] * 1000, 1),
                    "p95_ms": round(timing["p95_s"] * 1000, 1),
                    "runs": repeat,
                    "count": count,
                }
            )
        return rows

    def _backtests(self, triggers, today, days, which) -> list[dict]:
        if which == "none":
            return []
        if which == "kinds":
            seen, chosen = set(), []
            for t in triggers:
                if t.kind not in seen:
                    seen.add(t.kind)
                    chosen.append(t)
        else:
            chosen = triggers
        rows = []
        for trigger in chosen:
            started = time.perf_counter()
            result = trigger_backtest(trigger=trigger, today=today, days=days)
            rows.append(
                {
                    "trigger": trigger.name,
                    "kind": trigger.kind,
                    "days": days,
                    "replayed_days": len(result.days),
                    "seconds": round(time.perf_counter() - started, 2),
                    "total_firings": result.total_firings,
                }
            )
        return rows
