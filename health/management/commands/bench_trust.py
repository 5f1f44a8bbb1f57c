"""Benchmark of trust in the score at scale: seeds (or reuses) an organization of N accounts
with a history of scores (weekly over --weeks, plus the monthly days a weight suggestion
samples), then times the background fitness snapshot, the model page that reads it, the
two-day explanation on the account card, and the weight suggestion. Prints JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import time

import numpy as np
from django.db import connection, transaction
from django.test import Client

from accounts.models import Account
from csplatform.db.bulk import insert_columns
from health import services
from health.compact import Layout, array_text
from health.models import FitnessSnapshot, HealthModel, HealthScore, Indicator, ScoreLayout
from health.selectors import model_weight_suggestion
from orgs.cli import ProjectCommand, whole_number
from orgs.models import Membership, Organization, User
from orgs.tenancy import org_context
from orgs.timezones import org_today

KEYS = ("usage_frequency:30:logins", "nps_latest:365", "tickets_over_sla:90")
INDICATORS = (
    ("usage_frequency", 30, "logins"),
    ("nps_latest", 365, ""),
    ("tickets_over_sla", 90, ""),
)


def _uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cpus)"


def _timed(fn, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


class Command(ProjectCommand):
    help = "Benchmark fitness snapshots, the model page, the explanation and weight suggestions."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="bench-trust")
        parser.add_argument("--accounts", default="100000")
        parser.add_argument("--weeks", default="17", help="weeks of weekly scores (fitness)")
        parser.add_argument("--seed", default="7")
        parser.add_argument("--repeat", default="5")
        parser.add_argument("--reseed", action="store_true", help="drop and seed the org again")

    def handle(self, *args, **opts):
        n = whole_number("--accounts", opts["accounts"], 10, 1_000_000)
        weeks = whole_number("--weeks", opts["weeks"], 1, 104)
        repeat = whole_number("--repeat", opts["repeat"], 1, 100)
        seed = whole_number("--seed", opts["seed"], 0)
        out: dict = {"uptime_before": _uptime(), "accounts": n, "weeks": weeks}
        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is not None and opts["reseed"]:
            with org_context(org):
                HealthScore.objects.all().delete()
                Account.objects.all().delete()
                HealthModel.objects.all().delete()
            org.delete()
            org = None
        if org is None:
            started = time.perf_counter()
            org = self._seed(opts["org"], n, weeks, seed)
            out["seed_seconds"] = round(time.perf_counter() - started, 1)
        user = User.objects.get(username=f"{opts['org']}-analyst")
        today = org_today(org)
        with org_context(org):
            model = HealthModel.objects.prefetch_related("indicators").get()
            out["score_rows"] = HealthScore.objects.count()
            FitnessSnapshot.objects.filter(model=model).delete()
            started = time.perf_counter()
            snapshot = services.fitness_snapshot_request(model=model, day=today)
            snapshot.refresh_from_db()
            if snapshot.state != "done":  # queued on a broker: compute it here, as a worker would
                services.fitness_snapshot_compute(snapshot_id=snapshot.pk)
                snapshot.refresh_from_db()
            out["fitness_snapshot_seconds"] = round(time.perf_counter() - started, 2)
            out["fitness_churners_90d"] = snapshot.payload["leads"]["90"]["churners"]
            account = Account.objects.filter(churned_at__isnull=True).order_by("pk").first()
            started = time.perf_counter()
            suggestion = model_weight_suggestion(org=org, model=model, lead=90, today=today)
            out["suggestion_seconds"] = round(time.perf_counter() - started, 2)
            out["suggestion"] = {
                k: suggestion.get(k)
                for k in ("samples", "auc_current", "auc_suggested", "suggested")
            }
        client = Client()
        client.force_login(user)
        model_url = f"/health/models/{model.pk}/"
        client.get(model_url)  # warm
        out["model_page"] = _timed(lambda: client.get(model_url), repeat)
        explain_url = f"/health/accounts/{account.pk}/explain/"
        params = {
            "date_from": (today - dt.timedelta(days=30)).isoformat(),
            "date_to": today.isoformat(),
        }
        response = client.get(explain_url, params, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.status_code
        out["explain_fragment"] = _timed(
            lambda: client.get(explain_url, params, HTTP_HX_REQUEST="true"), repeat
        )
        out["uptime_after"] = _uptime()
        self.stdout.write(json.dumps(out, indent=2, default=str))

    def _seed(self, slug: str, n: int, weeks: int, seed: int) -> Organization:
        """N accounts; 8% churn at a random day of the last year, likelier with low usage.
        Scores weekly over `weeks` weeks and on the 13 monthly days a 90-day suggestion samples."""
        rng = np.random.default_rng(seed)
        org = Organization.objects.create(name="Bench trust", slug=slug, timezone="UTC")
        user, _ = User.objects.get_or_create(username=f"{slug}-analyst")
        Membership.objects.create(user=user, organization=org, role="analyst")
        today = org_today(org)
        with org_context(org), transaction.atomic():
            model = HealthModel.objects.create(organization=org, name="Default")
            for measure, window, metric in INDICATORS:
                Indicator.objects.create(
                    organization=org,
                    model=model,
                    measure=measure,
                    window_days=window,
                    metric=metric,
                    direction="higher",
                    bad_value=0,
                    good_value=10,
                    weight=1,
                )
            usage = rng.uniform(0, 100, n)
            churn_p = 0.16 / (1 + np.exp((usage - 30) / 10))
            churns = rng.random(n) < churn_p
            churn_day = np.where(
                churns,
                (np.datetime64(today) - rng.integers(1, 365, n)).astype("datetime64[D]"),
                np.datetime64("NaT"),
            )
            insert_columns(
                model=Account,
                n=n,
                columns={
                    "organization_id": org.pk,
                    "name": np.array([f"Bench {i:06d}" for i in range(n)], dtype=object),
                    "external_id": np.array([f"B{i:06d}" for i in range(n)], dtype=object),
                    "customer_since": np.datetime64("2015-01-01"),
                    "churned_at": churn_day,
                    "lifecycle_stage": "ongoing",
                },
            )
            ids = np.array(Account.objects.order_by("pk").values_list("pk", flat=True))
            shape = Layout(keys=KEYS, weights=(1.0, 1.0, 1.0))  # the indicators' weights
            layout, _ = ScoreLayout.all_objects.get_or_create(
                organization=org,
                digest=shape.digest,
                defaults={"keys": list(shape.keys), "weights": list(shape.weights)},
            )
            vendor = connection.vendor
            days = {today - dt.timedelta(days=7 * w) for w in range(weeks)}
            days |= {today - dt.timedelta(days=90 + 30 * k) for k in range(13)}
            days |= {today - dt.timedelta(days=30)}
            for day in sorted(days):
                alive = np.isnat(churn_day) | (churn_day > np.datetime64(day))
                idx = np.flatnonzero(alive)
                u = np.clip(usage[idx] + rng.normal(0, 5, len(idx)), 0, 100).round(1)
                nps = rng.uniform(0, 100, len(idx)).round(1)
                tickets = rng.uniform(0, 100, len(idx)).round(1)
                score = np.floor((u + nps + tickets) / 3 + 0.5)
                colour = np.where(score <= 50, "red", np.where(score <= 75, "yellow", "green"))
                # compact rows, as the night writes them (health/compact.py): the fitness
                # reads time the array path the night's rows take, not the JSON fallback
                raws = np.array(
                    [
                        array_text([a / 10, b / 10, c / 10], vendor)
                        for a, b, c in zip(u.tolist(), nps.tolist(), tickets.tolist(), strict=True)
                    ],
                    dtype=object,
                )
                scores = np.array(
                    [
                        array_text([a, b, c], vendor)
                        for a, b, c in zip(u.tolist(), nps.tolist(), tickets.tolist(), strict=True)
                    ],
                    dtype=object,
                )
                insert_columns(
                    model=HealthScore,
                    n=len(idx),
                    columns={
                        "organization_id": org.pk,
                        "account_id": ids[idx],
                        "date": np.datetime64(day),
                        "model_id": model.pk,
                        "model_version": 1,
                        "score": score,
                        "colour": colour.astype(object),
                        "breakdown": "{}",
                        "missing": "[]",
                        "layout_id": layout.pk,
                        "raws": raws,
                        "scores": scores,
                    },
                )
        return org
