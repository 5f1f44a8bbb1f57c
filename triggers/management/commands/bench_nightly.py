"""Benchmark of the nightly pipeline: seeds (or reuses) an organization, scores one day
set-based, times the trigger stage after it, and compares scoring with a naive per-account ORM
version on a sample. Prints JSON. It lives in triggers, the top of the chain it times."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import resource
import time

import pandas as pd
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from accounts.models import (
    Account,
    Interaction,
    Invoice,
    Subscription,
    SurveyResponse,
    Ticket,
    UsageMetric,
)
from csplatform.db.partitions import relation_bytes
from health import services
from health.demo import health_models_create_defaults
from health.floor import floor_score_day
from health.measures import MEASURES, USAGE_TREND_BASELINE_DAYS, MeasureContext, load_accounts
from health.models import HealthRun, HealthScore
from health.scoring import score_frame
from health.selectors import org_today
from orgs.cli import ProjectCommand, check_day, parse_date, today_for
from orgs.models import Organization
from orgs.tenancy import org_context
from orgs.timezones import org_zone
from playbooks.models import Playbook
from triggers import selectors as trigger_selectors
from triggers import services as trigger_services
from triggers.demo import demo_configuration_create
from triggers.models import Firing, Trigger, WeeklyCap


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024.0, 1)


def _process_chunk(chunk_id: int) -> dict:
    connections.close_all()  # each worker process opens its own connection
    timings = services.ChunkTimings()
    services.health_chunk_process(chunk_id=chunk_id, timings=timings, queue=False)
    connections.close_all()
    return {
        "read": timings.read,
        "compute": timings.compute,
        "write": timings.write,
        "accounts": timings.accounts,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


class Command(ProjectCommand):
    help = "Benchmark nightly health scoring (set-based vs naive per-account ORM). Prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="bench")
        parser.add_argument("--accounts", type=int, default=100_000)
        parser.add_argument("--months", type=int, default=6)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--workers", type=int, default=2, help="parallel chunk processes")
        parser.add_argument("--chunk-size", type=int, default=10_000)
        parser.add_argument("--naive-sample", type=int, default=2_000)
        parser.add_argument("--date", help="day to score (default: the org's today)")
        parser.add_argument("--triggers", type=int, default=50, help="0 skips the trigger stage")
        parser.add_argument(
            "--compare-cap",
            type=int,
            metavar="N",
            help="time the trigger stage twice, without a weekly cap and with N per CSM",
        )
        parser.add_argument(
            "--floor",
            action="store_true",
            help="after the scoring, time its floor in the same run (health/floor.py: one SQL"
            " aggregate per measure over all accounts, vectorized scoring, one COPY) and print"
            " the project's stages over the floor's",
        )
        parser.add_argument(
            "--skip-scoring",
            action="store_true",
            help="reuse the day's scores (already scored): time only the trigger stage",
        )

    def handle(self, *args, **opts):
        if opts["accounts"] < 1 or opts["workers"] < 1 or opts["naive_sample"] < 1:
            raise CommandError("--accounts, --workers and --naive-sample must be positive")
        if opts["floor"] and connection.vendor != "postgresql":  # refused before any work
            raise CommandError("--floor needs PostgreSQL (COPY)")
        org = Organization.objects.filter(slug=opts["org"]).first()
        today, zone = today_for(org)
        if opts["date"]:  # checked before minutes of seeding, and again with the org's today
            check_day(parse_date(opts["date"], "--date"), "--date", today=today, zone=zone)
        seeded = False
        if org is None:
            t0 = time.perf_counter()
            call_command(
                "seed_demo",
                org=opts["org"],
                accounts=opts["accounts"],
                months=opts["months"],
                seed=opts["seed"],
                stdout=self.stderr,
            )
            seed_seconds = time.perf_counter() - t0
            org = Organization.objects.get(slug=opts["org"])
            seeded = True
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
        health_models_create_defaults(org=org)
        day = org_today(org)
        if opts["date"]:
            day = check_day(parse_date(opts["date"], "--date"), "--date", today=day, zone=zone)

        with org_context(org):
            n_accounts = Account.objects.count()
            signal_rows = self._signal_rows(day)

        # Yesterday's scores (untimed) give the trigger stage a night of history.

        with org_context(org):
            scored_yesterday = HealthRun.objects.filter(
                date=day - dt.timedelta(days=1), state="done"
            ).exists()
        if opts["triggers"] and not scored_yesterday:
            services.health_score_day(org=org, day=day - dt.timedelta(days=1))

        if opts["skip_scoring"]:
            if not opts["triggers"]:
                raise CommandError("--skip-scoring times the trigger stage: give --triggers")
            with org_context(org):
                if not HealthRun.objects.filter(date=day, state="done").exists():
                    raise CommandError(f"--skip-scoring: {day} is not scored yet")
            self.stdout.write(
                json.dumps(
                    {
                        "organization": org.slug,
                        "day": day.isoformat(),
                        "accounts": n_accounts,
                        **self._trigger_stages(org, day, opts),
                    },
                    indent=2,
                )
            )
            return

        # -- the set-based pipeline, chunks over parallel processes like Celery workers ----
        t_start = time.perf_counter()
        run, chunk_ids = services.health_run_start(
            org=org, day=day, replace=True, chunk_size=opts["chunk_size"], queue=False
        )
        t_plan = time.perf_counter() - t_start
        connections.close_all()
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(processes=opts["workers"]) as pool:
            results = pool.map(_process_chunk, chunk_ids, chunksize=1)
        run = services.health_run_finish(run_id=run.pk, notify=False)
        wall = time.perf_counter() - t_start
        stage = {k: round(sum(r[k] for r in results), 2) for k in ("read", "compute", "write")}
        scored = sum(r["accounts"] for r in results)
        floor = self._floor(org, day, wall, stage) if opts["floor"] else None

        # -- the trigger stage: 50 triggers over every account, firings and playbooks ------
        triggers = self._trigger_stages(org, day, opts) if opts["triggers"] else None

        # -- the naive version on a sample: one query per measure per account, one save ----
        naive = self._naive(org, day, opts["naive_sample"])

        set_rate = scored / wall if wall else 0.0
        out = {
            "organization": org.slug,
            "database": connection.vendor,
            "day": day.isoformat(),
            "accounts": n_accounts,
            "accounts_scored": scored,
            "seeded_now": seeded,
            "signal_rows_read": signal_rows,
            "workers": opts["workers"],
            "chunks": len(chunk_ids),
            "seconds": {
                "total_wall": round(wall, 2),
                "plan": round(t_plan, 2),
                # summed over worker processes (CPU-side time per stage)
                "read": stage["read"],
                "compute": stage["compute"],
                "write": stage["write"],
            },
            "dominant_stage": max(stage, key=stage.get),
            "accounts_per_second": round(set_rate, 1),
            "peak_memory_mb": max([_peak_mb()] + [round(r["peak_mb"], 1) for r in results]),
            "naive": naive,
            "speedup_vs_naive": round(set_rate / naive["accounts_per_second"], 1)
            if naive["accounts_per_second"]
            else None,
            "run_state": run.state,
            **({"floor": floor} if floor else {}),
            "score_history": _score_history_size(),
            **(triggers or {"trigger_stage": None}),
        }
        if seeded:
            out["seed_seconds"] = round(seed_seconds, 1)
        self.stdout.write(json.dumps(out, indent=2))

    def _trigger_stages(self, org, day: dt.date, opts) -> dict:
        """The trigger stage under the organization's weekly cap as it is; with --compare-cap
        N, twice in the same run, without a cap and with N per CSM (the setting restored)."""
        if opts["compare_cap"] is None:
            return {"trigger_stage": self._trigger_stage(org, day, opts["triggers"])}
        with org_context(org):
            before = list(WeeklyCap.objects.filter(persona=None).values_list("per_csm", flat=True))
        runs = {}
        try:
            for name, cap in (("cap_off", None), ("cap_on", opts["compare_cap"])):
                with org_context(org):
                    WeeklyCap.objects.update_or_create(
                        organization=org, persona=None, defaults={"per_csm": cap}
                    )
                runs[name] = self._trigger_stage(org, day, opts["triggers"])
        finally:
            with org_context(org):
                if before:
                    WeeklyCap.objects.filter(persona=None).update(per_csm=before[0])
                else:
                    WeeklyCap.objects.filter(persona=None).delete()
        off, on = runs["cap_off"], runs["cap_on"]
        return {
            "trigger_stage_cap_off": off,
            "trigger_stage_cap_on": on,
            "cap_on_vs_off": {
                "first_night_playbooks": [
                    on["first_night_without_history"]["playbooks"],
                    off["first_night_without_history"]["playbooks"],
                ],
                "first_night_seconds_ratio": _ratio(
                    on["first_night_without_history"]["seconds"],
                    off["first_night_without_history"]["seconds"],
                ),
                "second_night_seconds_ratio": _ratio(on["seconds"], off["seconds"]),
            },
        }

    def _trigger_stage(self, org, day: dt.date, count: int) -> dict:
        """Make sure the organization has `count` active nightly triggers (the demo's, then
        variants with other thresholds), clear the day's firings so they are written again,
        and time one evaluation: frame read, masks, firings, playbooks and alerts."""

        demo_configuration_create(org=org)
        with org_context(org):
            base = list(Trigger.objects.filter(schedule="nightly").order_by("pk"))
            have = Trigger.objects.filter(is_active=True, schedule="nightly").count()
            variants = []
            i = 0
            while have + len(variants) < count:
                source = base[i % len(base)]
                variants.append(_variant(source, i // len(base) + 1))
                i += 1
            Trigger.objects.bulk_create(variants)
            _clear_nights(day)  # fresh history for the two nights measured
            n_triggers = Trigger.objects.filter(is_active=True, schedule="nightly").count()
        # The night before, on the same scores: the first night with no history fires on
        # every match at once; it sets the cool-downs a real night runs under.
        t0 = time.perf_counter()
        first = trigger_services.triggers_evaluate(org=org, day=day - dt.timedelta(days=1))
        first_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        stats = trigger_services.triggers_evaluate(org=org, day=day)
        seconds = time.perf_counter() - t0
        with org_context(org):
            _clear_nights(day)  # leave no trace
        with org_context(org):
            cap = trigger_selectors.caps_in_force().organization
            csms = Account.objects.exclude(owner=None).values("owner").distinct().count()
        return {
            "triggers": n_triggers,
            "weekly_cap_per_csm": cap,
            "account_owners": csms,
            "accounts_evaluated": stats.evaluated // max(n_triggers, 1),
            "fired": stats.fired,
            "playbooks": stats.playbooks,
            "alerts": stats.alerts,
            "queued": stats.queued,
            "released": stats.released,
            "waiting": stats.waiting,
            "seconds": round(seconds, 2),
            "seconds_by_step": {k: round(v, 2) for k, v in stats.seconds.items()},
            "target_seconds": 10,
            "first_night_without_history": {
                "fired": first.fired,
                "playbooks": first.playbooks,
                "alerts": first.alerts,
                "queued": first.queued,
                "released": first.released,
                "waiting": first.waiting,
                "seconds": round(first_seconds, 2),
            },
        }

    def _floor(self, org, day: dt.date, wall: float, stage: dict) -> dict:
        """The floor of the scoring just run, on the same data and day, and the project's
        figures over it. The project's stage seconds are summed over its worker processes;
        the floor runs in one process, so its stage seconds are wall and CPU-side alike."""
        with org_context(org):
            result = floor_score_day(day=day, tz=org_zone(org).key)
            stored = pd.Series(
                dict(HealthScore.objects.filter(date=day).values_list("account_id", "score")),
                dtype="float64",
            )
        scores = result.scores.reindex(stored.index)
        differing = int(((scores != stored) & ~(scores.isna() & stored.isna())).sum())
        seconds = result.seconds
        return {
            "accounts": result.accounts,
            "rows_copied": result.rows_copied,
            "scores_differing_from_project": differing,
            "seconds": seconds,
            "project_over_floor": {
                "total_wall": _ratio(wall, seconds.get("total", 0)),
                **{k: _ratio(stage[k], seconds.get(k, 0)) for k in ("read", "compute", "write")},
            },
            # this process's own peak (the floor runs here; the workers were children)
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        }

    def _signal_rows(self, day: dt.date) -> dict:
        """Rows of each signal table inside the windows the measures read."""
        longest = 30 + USAGE_TREND_BASELINE_DAYS
        first = day - dt.timedelta(days=max(longest, 180))
        counts = {
            "usage": UsageMetric.objects.filter(date__gt=first, date__lte=day).count(),
            "tickets": Ticket.objects.filter(
                opened_at__date__gt=day - dt.timedelta(days=90)
            ).count(),
            "invoices": Invoice.objects.filter(issued_on__lte=day).count(),
            "surveys": SurveyResponse.objects.filter(
                answered_at__date__gt=day - dt.timedelta(days=365)
            ).count(),
            "interactions": Interaction.objects.count(),
            "subscriptions": Subscription.objects.count(),
        }
        counts["total"] = sum(counts.values())
        return counts

    def _naive(self, org, day, sample: int) -> dict:
        """Per account: one ORM query per measure, score it, update_or_create the row.
        Done inside a transaction that is rolled back, so it leaves no trace."""
        with org_context(org):
            by_persona, default = services.model_specs()
            ids = list(
                Account.objects.filter(churned_at__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:sample]
            )
        t0 = time.perf_counter()
        queries = 0

        class Rollback(Exception):
            pass

        try:
            with org_context(org), transaction.atomic():
                for account_id in ids:
                    accounts = load_accounts(first_id=account_id, last_id=account_id, day=day)
                    queries += 1
                    if accounts.empty:
                        continue
                    persona = accounts["persona_id"].iloc[0]
                    spec = by_persona.get(persona, default) if persona == persona else default
                    ctx = MeasureContext(day=day, accounts=accounts, tz=org_zone(org).key)
                    raw = pd.DataFrame(
                        {
                            ind.key: MEASURES[ind.measure].compute(ctx, ind.window, ind.metric)
                            for ind in spec.indicators
                        },
                        index=accounts.index,
                    )
                    queries += len(spec.indicators)
                    scored = score_frame(raw, spec).iloc[0]
                    HealthScore.objects.update_or_create(
                        organization=org,
                        account_id=account_id,
                        date=day,
                        defaults={
                            "score": None
                            if scored["score"] != scored["score"]
                            else scored["score"],
                            "colour": scored["colour"],
                            "model_id": spec.id,
                            "model_version": spec.version,
                        },
                    )
                    queries += 2
                raise Rollback
        except Rollback:
            pass
        seconds = time.perf_counter() - t0
        return {
            "accounts": len(ids),
            "seconds": round(seconds, 2),
            "queries": queries,
            "accounts_per_second": round(len(ids) / seconds, 1) if seconds else None,
        }


def _variant(trigger, n: int):
    """A copy of a trigger with its numeric thresholds moved by n steps of 5%, so the
    benchmark evaluates many distinct conditions (bench data only)."""
    import copy

    def shift(node):
        if isinstance(node, dict):
            if (
                "value" in node
                and isinstance(node["value"], int | float)
                and not isinstance(node["value"], bool)
            ):
                node["value"] = round(node["value"] * (1 + 0.05 * n), 2)
            for value in node.values():
                shift(value)
        elif isinstance(node, list):
            for value in node:
                shift(value)

    condition = copy.deepcopy(trigger.condition)
    shift(condition)
    return Trigger(
        organization_id=trigger.organization_id,
        name=f"{trigger.name} (variant {n})",
        kind=trigger.kind,
        persona_id=trigger.persona_id,
        product_id=trigger.product_id,
        condition=condition,
        schedule=trigger.schedule,
        cooldown_days=trigger.cooldown_days,
        action=trigger.action,
        template_id=trigger.template_id,
    )


def _score_history_size() -> dict | None:
    """What the score history costs on disk: the whole table (every organization's rows, heap,
    TOAST and indexes) over its rows, so bytes per account and day. PostgreSQL only.

    A re-scored day leaves the replaced rows' dead versions in the table, and once vacuum has
    cleared them, the free space they held (reused by later writes, not given back to the
    disk), so after a re-run the figure counts them too (`dead_rows_estimate`, from
    PostgreSQL's statistics, is 0 again once autovacuum has run);
    scripts/score_history_size.sql measures a clean copy."""
    if connection.vendor != "postgresql":
        return None
    table = HealthScore._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        rows = cursor.fetchone()[0]
        # the partitions' sizes too: the score table is partitioned by month on PostgreSQL
        total, indexes = relation_bytes(table)
        cursor.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = %s", [table])
        dead = cursor.fetchone()
    return {
        "rows": rows,
        "bytes_total": total,
        "bytes_per_account_day": round(total / rows) if rows else None,
        "of_which_indexes": round(indexes / rows) if rows else None,
        "dead_rows_estimate": dead[0] if dead else None,
        "target_bytes_per_account_day": 350,
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def _clear_nights(day: dt.date) -> None:
    """The trigger stage's firings of `day` and the night before (their alerts go with them)
    and the playbooks they made; bench data only, organization in context."""

    firings = Firing.objects.filter(fired_on__in=[day, day - dt.timedelta(days=1)])
    Playbook.objects.filter(origin_ref__in=firings.values("pk")).delete()
    firings.delete()
