"""Benchmark of the health model editor's preview at scale: on an organization seeded by
seed_demo (reused when it exists; `--accounts` seeds it otherwise), a draft of the model that
scores the most accounts with its weights changed, previewed over today's accounts (the
night's frame and scoring, before and after) `--repeat` times. Writes nothing but the seed
and the default models. Prints JSON with the load."""

from __future__ import annotations

import json
import os
import statistics
import time

from django.core.cache import cache
from django.core.management import call_command
from django.db.models import Count

from accounts.models import Account
from configuration.health_drafts import health_model_draft_from_model
from configuration.health_preview import draft_spec, health_model_preview, preview_frame_key
from health.demo import health_models_create_defaults
from health.models import HealthModel
from health.services import model_specs
from orgs.cli import ProjectCommand, whole_number
from orgs.models import Organization
from orgs.tenancy import org_context
from orgs.timezones import org_today


def _uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cpus)"


def _specs_of(draft, by_persona, default):
    live = [s for s in [default, *by_persona.values()] if s is not None and s.id == draft.model_id]
    return [draft_spec(draft), *live]


class Command(ProjectCommand):
    help = "Benchmark the health model editor's preview (before/after over today's accounts)."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="bench-health")
        parser.add_argument("--accounts", default="100000", help="seeded when the org is new")
        parser.add_argument("--months", default="6", help="months of signals when seeding")
        parser.add_argument("--repeat", default="3")

    def handle(self, *args, **opts):
        n = whole_number("--accounts", opts["accounts"], 10, 1_000_000)
        months = whole_number("--months", opts["months"], 1, 24)
        repeat = whole_number("--repeat", opts["repeat"], 1, 50)
        out: dict = {"uptime_before": _uptime()}
        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is None:
            started = time.perf_counter()
            call_command(
                "seed_demo",
                org=opts["org"],
                accounts=str(n),
                months=str(months),
                no_logins=True,
                stdout=self.stderr,
            )
            org = Organization.objects.get(slug=opts["org"])
            out["seed_seconds"] = round(time.perf_counter() - started, 1)
        health_models_create_defaults(org=org)
        day = org_today(org)
        with org_context(org):
            by_persona, default = model_specs()
            counts = dict(
                Account.objects.values_list("persona_id").annotate(n=Count("id")).order_by()
            )
            # the model with the most accounts: the default one holds those of no persona
            # and of personas without a model of their own
            sizes = {spec.id: counts.get(persona, 0) for persona, spec in by_persona.items()}
            if default is not None:
                sizes[default.id] = n_default = sum(
                    c for p, c in counts.items() if p not in by_persona
                )
                out["default_model_accounts"] = n_default
            model = HealthModel.objects.prefetch_related("indicators").get(
                pk=max(sizes, key=sizes.get)
            )
            draft = health_model_draft_from_model(model=model)
            for i, row in enumerate(draft.indicators):
                row["weight"] = float(row["weight"]) * (3 if i == 0 else 1)
            # cold: the frame of raw measures read (the first preview of a session); warm:
            # the edits after it, re-scored from the cached frame
            cache.delete(
                preview_frame_key(org.pk, model.pk, day, _specs_of(draft, by_persona, default))
            )
            started = time.perf_counter()
            preview = health_model_preview(draft=draft, day=day)
            cold = time.perf_counter() - started
            times = []
            for i in range(repeat):
                draft.indicators[-1]["weight"] = float(draft.indicators[-1]["weight"]) + 0.5 * i
                started = time.perf_counter()
                preview = health_model_preview(draft=draft, day=day)
                times.append(time.perf_counter() - started)
        out.update(
            accounts_in_org=sum(counts.values()),
            model=model.name,
            indicators=len(draft.indicators),
            day=day.isoformat(),
            previewed_accounts=preview.figures["accounts"],
            changed_colour=preview.figures["changed"],
            mean_before=preview.figures["mean_before"],
            mean_after=preview.figures["mean_after"],
            preview_cold_seconds=round(cold, 2),
            preview_warm_seconds={
                "median": round(statistics.median(times), 2),
                "max": round(max(times), 2),
                "runs": [round(t, 2) for t in times],
            },
            target_seconds=5,
            uptime_after=_uptime(),
        )
        self.stdout.write(json.dumps(out, indent=2))
