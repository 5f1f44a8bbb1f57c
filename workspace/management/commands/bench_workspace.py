"""`manage.py bench_workspace`: the CSM workspace benchmark. `prepare` gives an organization a
year of playbooks (about ten steps per account, written with COPY), pending alerts and CSMs
to log in as; `run` serves the site with gunicorn and loads it from a second process
(scripts/loadtest.py), printing percentiles per page as JSON; `profile` renders each page once
and lists its queries, slowest first, with the plan of the slowest."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.db import connection, models, transaction

from accounts.models import Account, ChurnReason, Product
from health.selectors import org_today
from orgs.cli import ProjectCommand
from orgs.models import Membership, Organization, Role, User
from orgs.tenancy import org_context
from playbooks.models import (
    OUTCOMES_BY_KIND,
    Playbook,
    PlaybookKind,
    PlaybookStatus,
    PlaybookStep,
    PlaybookTemplate,
    StepStatus,
)
from playbooks.services import org_manager_id
from triggers.models import Action, Alert, AlertStatus, Firing, Schedule, Trigger

ROOT = Path(settings.BASE_DIR)
LOADTEST = ROOT / "scripts" / "loadtest.py"

# Bench rows are recognisable, so --replace deletes them and nothing else.
BENCH_ORIGIN = "bench"
BENCH_ORIGIN_LABEL = "by the workspace benchmark"
BENCH_TRIGGER = "Bench: workspace alerts"
PASSWORD = "demo-pass-2026"

NO_DAY = -(10**6)  # "no date" in the day-number arrays (days relative to today)
BENCH_MAX_DAYS = 730  # playbooks' history; _Columns reaches 800 days back, steps a few more

# How often each kind of playbook is opened (split evenly between a kind's templates).
KIND_WEIGHTS = {
    PlaybookKind.RETENTION: 0.35,
    PlaybookKind.EXPANSION: 0.25,
    PlaybookKind.RENEWAL: 0.2,
    PlaybookKind.ONBOARDING: 0.15,
    PlaybookKind.CUSTOM: 0.05,
}
# How closed playbooks of each kind end, in OUTCOMES_BY_KIND's order.
OUTCOME_WEIGHTS = {
    PlaybookKind.EXPANSION: (0.45, 0.3, 0.25),
    PlaybookKind.RETENTION: (0.35, 0.45, 0.2),
    PlaybookKind.ONBOARDING: (0.8, 0.2),
    PlaybookKind.RENEWAL: (0.8, 0.1, 0.1),
    PlaybookKind.CUSTOM: (1.0,),
}
EVIDENCE = {
    PlaybookKind.RETENTION: (
        "Health score 44 is below 51; the score fell 12 points in 7 days",
        "Transacted volume fell 34% against the previous 6 months",
        "3 tickets over SLA in the last 30 days; average CSAT 2.1",
        "Invoice overdue for 38 days; discount level 25%",
    ),
    PlaybookKind.EXPANSION: (
        "Health is green; transacted volume grew 26% in 6 months",
        "Health is green; usage grew 18% against the previous 90 days",
    ),
    PlaybookKind.RENEWAL: ("Renewal in 87 days", "Renewal in 82 days"),
    PlaybookKind.ONBOARDING: ("Customer for 3 days", "Customer for 6 days"),
    PlaybookKind.CUSTOM: ("Started by hand",),
}
NOTES = (
    "Spoke to the sponsor; all good.",
    "Left a voicemail, followed up by mail.",
    "Shared the plan in writing.",
    "Customer asked for a follow-up next month.",
)
SNOOZE_REASONS = ("Customer on holiday", "Waiting for the finance team", "Sponsor asked to wait")
ALERT_EVIDENCE = "Health score 47 is below 51; the score fell 11 points in 7 days"


@dataclass(frozen=True)
class StepSpec:
    order: int
    title: str
    instructions: str
    offset: int
    to_manager: bool


@dataclass(frozen=True)
class TemplateSpec:
    id: int
    kind: str
    name: str
    product_id: int | None
    steps: tuple[StepSpec, ...]


def bench_playbooks(
    *,
    account_ids: np.ndarray,
    owner_ids: np.ndarray,
    templates: list[TemplateSpec],
    n: int,
    days: int,
    manager_id: int | None,
    reason_ids: list[int],
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A year of playbooks, pure: `n` playbooks opened uniformly over the last `days` days on
    random accounts (owner_ids[i] owns account_ids[i], -1 for nobody), with their templates'
    steps. A step is done a little after its due date (a few much later), so old playbooks
    are closed with an outcome and recent ones are open, with steps due around today and some
    overdue; 3% are cancelled with their remaining steps skipped.

    Days are numbers relative to today (0 today, -1 yesterday; NO_DAY for none), times seconds
    after midnight UTC, missing ids -1, missing amounts NaN. Steps point at their playbook by
    position (`playbook`). Returns (playbook columns, step columns)."""
    templates = [t for t in templates if t.steps]
    if not templates or not len(account_ids) or n <= 0:
        raise ValueError("need templates with steps, accounts and n > 0")
    kinds = np.array([t.kind for t in templates], dtype=object)
    weights = np.array([KIND_WEIGHTS.get(k, 0.05) / (kinds == k).sum() for k in kinds])
    tpl = rng.choice(len(templates), size=n, p=weights / weights.sum())
    acc = rng.integers(0, len(account_ids), n)
    owner = owner_ids[acc]
    opened = -rng.integers(0, days, n)

    # The templates' steps as one flat table; each playbook takes its template's rows.
    sizes = np.array([len(t.steps) for t in templates])
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = [s for t in templates for s in t.steps]
    offset = np.array([s.offset for s in flat])
    k = sizes[tpl]
    m = int(k.sum())
    pb = np.repeat(np.arange(n), k)
    first = np.cumsum(k) - k
    row = start[tpl][pb] + (np.arange(m) - np.repeat(first, k))
    due = opened[pb] + offset[row]

    u = rng.random(m)
    delay = np.where(
        u < 0.72,
        rng.integers(-1, 3, m),
        np.where(u < 0.96, rng.integers(3, 15, m), rng.integers(15, 61, m)),
    )
    done_day = np.maximum(due + delay, opened[pb])
    done = done_day < 0
    cancel_day = opened + rng.integers(1, 41, n)
    cancelled = (rng.random(n) < 0.03) & (cancel_day < 0)
    skipped = cancelled[pb] & (~done | (done_day >= cancel_day[pb]))
    done &= ~skipped
    all_done = np.minimum.reduceat(done.astype(np.int8), first).astype(bool)
    last_done = np.maximum.reduceat(np.where(done, done_day, NO_DAY), first)
    close_day = last_done + rng.integers(0, 6, n)
    completed = ~cancelled & all_done & (close_day < 0)
    status = np.where(
        completed,
        PlaybookStatus.COMPLETED.value,
        np.where(cancelled, PlaybookStatus.CANCELLED.value, PlaybookStatus.OPEN.value),
    ).astype(object)
    closed_day = np.where(completed, close_day, np.where(cancelled, cancel_day, NO_DAY))
    # One open playbook per account and template, as the database holds it: of several, the
    # first opened stays open and the later ones are cancelled the day they opened.
    open_idx = np.flatnonzero(status == PlaybookStatus.OPEN.value)
    ordered = open_idx[np.lexsort((opened[open_idx], tpl[open_idx], acc[open_idx]))]
    again = np.zeros(n, dtype=bool)
    again[ordered[1:]] = (acc[ordered[1:]] == acc[ordered[:-1]]) & (
        tpl[ordered[1:]] == tpl[ordered[:-1]]
    )
    status[again] = PlaybookStatus.CANCELLED.value
    closed_day = np.where(again, opened, closed_day)
    skipped |= again[pb] & ~done

    pb_kind = kinds[tpl]
    outcome = np.full(n, "", dtype=object)
    evidence = np.empty(n, dtype=object)
    for kind in set(pb_kind.tolist()):
        mask = pb_kind == kind
        texts = EVIDENCE.get(kind, ("",))
        evidence[mask] = np.array(texts, dtype=object)[rng.integers(0, len(texts), mask.sum())]
        choices = [o.value for o in OUTCOMES_BY_KIND.get(kind, ())] or ["done"]
        p = np.array(OUTCOME_WEIGHTS.get(kind, (1.0,))[: len(choices)], dtype=float)
        closing = mask & completed
        outcome[closing] = rng.choice(choices, size=int(closing.sum()), p=p / p.sum())
    is_expansion = pb_kind == PlaybookKind.EXPANSION
    product = np.array([t.product_id or -1 for t in templates])[tpl]
    expected = np.where(is_expansion, np.round(rng.uniform(100, 2000, n), 2), np.nan)
    won = outcome == "won"
    mrr_won = np.where(won, np.round(expected * rng.uniform(0.8, 1.1, n), 2), np.nan)
    reason = np.full(n, -1)
    churned = outcome == "churned"
    if reason_ids:
        reason[churned] = rng.choice(reason_ids, size=int(churned.sum()))
    max_offset = np.array([max(s.offset for s in t.steps) for t in templates])[tpl]

    playbooks = {
        "account_id": account_ids[acc],
        "template_id": np.array([t.id for t in templates])[tpl],
        "kind": pb_kind,
        "title": np.array([t.name for t in templates], dtype=object)[tpl],
        "owner_id": owner,
        "status": status,
        "opened_day": opened,
        "due_day": opened + max_offset,
        "closed_day": closed_day,
        "closed_sec": rng.integers(12 * 3600, 21 * 3600, n),
        "closed_by_id": np.where(completed, owner, -1),
        "outcome": outcome,
        "opportunity_product_id": np.where(is_expansion, product, -1),
        "expected_mrr": expected,
        "mrr_won": mrr_won,
        "churn_reason_id": reason,
        "evidence_text": evidence,
    }

    to_manager = np.array([s.to_manager for s in flat])[row]
    assignee = np.where(to_manager & (manager_id is not None), manager_id or -1, owner[pb])
    step_status = np.where(
        done,
        StepStatus.DONE.value,
        np.where(skipped, StepStatus.SKIPPED.value, StepStatus.OPEN.value),
    ).astype(object)
    is_open = step_status == StepStatus.OPEN.value
    snoozed = is_open & (due >= 0) & (rng.random(m) < 0.03)
    noted = done & (rng.random(m) < 0.25)
    notes = np.full(m, "", dtype=object)
    notes[noted] = np.array(NOTES, dtype=object)[rng.integers(0, len(NOTES), int(noted.sum()))]
    reasons = np.full(m, "", dtype=object)
    reasons[snoozed] = np.array(SNOOZE_REASONS, dtype=object)[
        rng.integers(0, len(SNOOZE_REASONS), int(snoozed.sum()))
    ]
    steps = {
        "playbook": pb,
        "order": np.array([s.order for s in flat])[row],
        "title": np.array([s.title for s in flat], dtype=object)[row],
        "instructions": np.array([s.instructions for s in flat], dtype=object)[row],
        "due_day": due,
        "assignee_id": assignee,
        "status": step_status,
        "done_day": np.where(done, done_day, NO_DAY),
        "done_sec": rng.integers(12 * 3600, 21 * 3600, m),
        "completed_by_id": np.where(done, assignee, -1),
        "notes": notes,
        "snoozed_reason": reasons,
        "version": np.where(is_open & ~snoozed, 1, 2),
    }
    return playbooks, steps


# -- Writing ------------------------------------------------------------------------------


class _Columns:
    """Turns day numbers, ids and amounts into COPY text (None for NULL)."""

    def __init__(self, today: dt.date, low: int = -800, high: int = 400):
        self.low = low
        self.days = [(today + dt.timedelta(days=d)).isoformat() for d in range(low, high + 1)]

    def dates(self, days: np.ndarray) -> list:
        table, low = self.days, self.low
        return [None if d == NO_DAY else table[d - low] for d in days.tolist()]

    def datetimes(self, days: np.ndarray, seconds: np.ndarray) -> list:
        table, low = self.days, self.low
        return [
            None
            if d == NO_DAY
            else f"{table[d - low]} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00"
            for d, s in zip(days.tolist(), seconds.tolist(), strict=True)
        ]

    @staticmethod
    def ids(values: np.ndarray) -> list:
        return [None if v < 0 else v for v in values.tolist()]

    @staticmethod
    def amounts(values: np.ndarray) -> list:
        return [None if v != v else f"{v:.2f}" for v in values.tolist()]


def _copy(model, columns: dict, n: int, *, chunk: int = 200_000) -> None:
    """COPY `n` rows into the model's table. Columns left out get the field's default, so a
    field added later with a default keeps this working; one without a default is an error."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = set(columns) - set(fields)
    if unknown:
        raise CommandError(f"{model.__name__}: no such fields {sorted(unknown)}")
    now = dt.datetime.now(dt.UTC).isoformat()
    data: dict[str, list] = {}
    for name, f in fields.items():
        if name in columns:
            values = columns[name]
        elif f.primary_key:
            continue
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values = now
        elif f.has_default():
            default = f.get_default()
            values = json.dumps(default) if isinstance(default, dict | list) else default
        elif f.null:
            values = None
        elif f.get_default() is not None:  # "" for text fields without an explicit default
            values = f.get_default()
        else:
            raise CommandError(f"{model.__name__}.{name}: no value and no default")
        if isinstance(values, np.ndarray):
            values = values.tolist()
        if not isinstance(values, list):
            values = [values] * n
        data[f.column] = ["\\N" if v is None else v for v in values]
    qn = connection.ops.quote_name
    sql = (
        f"COPY {qn(model._meta.db_table)} ({', '.join(qn(c) for c in data)}) "
        "FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    )
    rows = list(zip(*data.values(), strict=True))
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        for i in range(0, n, chunk):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(rows[i : i + chunk])
            buf.seek(0)
            cursor.copy_expert(sql, buf)


def _next_ids(model, n: int) -> np.ndarray:
    """Reserve `n` primary keys from the table's sequence (rows can then point at each other
    before they are written)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, n],
        )
        return np.array([r[0] for r in cursor.fetchall()], dtype=np.int64)


def _delete_where(model, where: str, params: list) -> int:
    """DELETE the model's rows matching `where`, first doing what each relation pointing at
    them asks on delete (cascade, set null), set-based: the database's foreign keys have no
    ON DELETE, and the ORM would load a million steps to cascade."""
    qn = connection.ops.quote_name
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    subquery = f"SELECT {pk} FROM {table} WHERE {where}"
    reverse = [
        f
        for f in model._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
    ]
    with connection.cursor() as cursor:
        for rel in reverse:
            related, column = rel.related_model, qn(rel.field.column)
            if rel.on_delete is models.CASCADE:
                _delete_where(related, f"{column} IN ({subquery})", params)
            elif rel.on_delete is models.SET_NULL:
                cursor.execute(
                    f"UPDATE {qn(related._meta.db_table)} SET {column} = NULL "
                    f"WHERE {column} IN ({subquery})",
                    params,
                )
            elif rel.on_delete is not models.DO_NOTHING:
                raise CommandError(
                    f"{related.__name__}.{rel.field.name} protects {model.__name__} rows"
                )
        cursor.execute(f"DELETE FROM {table} WHERE {where}", params)
        return cursor.rowcount


# -- Reads for the run --------------------------------------------------------------------


def load_usernames(org: Organization, count: int) -> list[str]:
    return [f"{org.slug}-load-{i:02d}" for i in range(1, count + 1)]


def load_plan(*, org: Organization, users: int, steps_per_user: int = 400) -> list[dict]:
    """What each virtual user works on: their open steps (in open playbooks, earliest due
    first) with the version the page would show, their playbook and account."""
    names = load_usernames(org, users)
    found = dict(
        Membership.objects.filter(
            organization=org, role=Role.CSM, user__username__in=names
        ).values_list("user__username", "user_id")
    )
    missing = [n for n in names if n not in found]
    if missing:
        raise CommandError(
            f"{len(missing)} load users missing (e.g. {missing[0]}): run "
            f"`bench_workspace prepare --org {org.slug} --csms {users}` (with --replace if "
            "it was prepared with fewer)"
        )
    plan = []
    for name in names:
        steps = list(
            PlaybookStep.all_objects.filter(
                organization=org,
                assignee_id=found[name],
                status=StepStatus.OPEN,
                playbook__status=PlaybookStatus.OPEN,
            )
            .order_by("due_on", "pk")
            .values_list("pk", "version", "playbook_id", "playbook__account_id")[:steps_per_user]
        )
        if not steps:
            raise CommandError(f"{name} has no open steps: run prepare with --replace")
        plan.append({"username": name, "steps": [list(s) for s in steps]})
    return plan


# -- The command --------------------------------------------------------------------------


class Command(ProjectCommand):
    help = (
        "Workspace benchmark: `prepare` a year of playbooks and load CSMs, `run` gunicorn "
        "and the load generator (JSON percentiles), `profile` one page's queries."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        prepare = sub.add_parser("prepare", help="write the bench data (once; --replace redoes)")
        prepare.add_argument("--org", default="bench")
        prepare.add_argument("--csms", type=int, default=20, help="load CSMs to create (20)")
        prepare.add_argument(
            "--share",
            type=float,
            default=0.5,
            help="share of live accounts given to the load CSMs (0.5)",
        )
        prepare.add_argument(
            "--playbooks-per-account",
            type=float,
            default=3.4,
            help="playbooks opened over the year per live account (3.4: ~12 steps each)",
        )
        prepare.add_argument("--days", type=int, default=365)
        prepare.add_argument("--alerts-per-csm", type=int, default=5)
        prepare.add_argument("--seed", type=int, default=7)
        prepare.add_argument(
            "--replace", action="store_true", help="delete the bench data and write it again"
        )

        run = sub.add_parser("run", help="gunicorn + scripts/loadtest.py, JSON on stdout")
        run.add_argument("--org", default="bench")
        run.add_argument("--users", type=int, default=20)
        run.add_argument("--seconds", type=float, default=60)
        run.add_argument("--requests", type=int, default=4000)
        run.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
        run.add_argument(
            "--think-ms", type=int, default=0, help="pause of each user between requests (0)"
        )
        run.add_argument(
            "--no-fragments",
            action="store_true",
            help="skip the three fragments the account page loads",
        )
        run.add_argument("--json-out", default="", help="also write the result here")

        profile = sub.add_parser("profile", help="one render of each page: queries and plans")
        profile.add_argument("--org", default="bench")
        profile.add_argument("--user", default="", help="username (the first load CSM)")
        profile.add_argument("--explain", type=int, default=2, help="plans of the N slowest")

    def handle(self, *args, **opts):
        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(
                f"--org: no organization {opts['org']!r}; seed it first, e.g. `manage.py "
                f"seed_demo --org {opts['org']} --accounts 100000 --months 6 --seed 7`"
            )
        if connection.vendor != "postgresql":
            raise CommandError("the workspace benchmark needs PostgreSQL (set DATABASE_URL)")
        with org_context(org):
            getattr(self, f"_{opts['action']}")(org, opts)

    def _log(self, label: str, began: float, rows: int | None = None) -> None:
        detail = f"{rows:>11,} rows" if rows is not None else " " * 16
        self.stdout.write(f"  {label:<24}{detail}  {time.perf_counter() - began:6.1f} s")

    # -- prepare ---------------------------------------------------------------------------

    def _prepare(self, org: Organization, opts) -> None:
        if opts["csms"] < 1 or not 0 < opts["share"] <= 1 or opts["playbooks_per_account"] <= 0:
            raise CommandError("--csms must be positive, --share in (0, 1], playbooks > 0")
        if not 1 <= opts["days"] <= BENCH_MAX_DAYS:
            raise CommandError(
                f"--days must be between 1 and {BENCH_MAX_DAYS} (got {opts['days']})"
            )
        started = time.perf_counter()
        prepared = Playbook.all_objects.filter(organization=org, origin=BENCH_ORIGIN)
        if prepared.exists() and not opts["replace"]:
            self.stdout.write(
                f"{org.slug}: already prepared ({prepared.count():,} bench playbooks); "
                "pass --replace to write them again"
            )
            return
        today = org_today(org)
        rng = np.random.default_rng(opts["seed"])
        with transaction.atomic():
            if opts["replace"]:
                self._clear(org)
            t = time.perf_counter()
            n_users = self._load_users(org, opts["csms"])
            self._log("load CSMs", t, n_users)
            t = time.perf_counter()
            moved = self._reassign(org, opts["csms"], opts["share"])
            self._log("accounts reassigned", t, moved)
            accounts = list(
                Account.all_objects.filter(organization=org, churned_at__isnull=True)
                .order_by("pk")
                .values_list("pk", "owner_id")
            )
            if not accounts:
                raise CommandError(f"{org.slug} has no live accounts")
            account_ids = np.array([a for a, _ in accounts], dtype=np.int64)
            owner_ids = np.array([o or -1 for _, o in accounts], dtype=np.int64)
            t = time.perf_counter()
            templates = self._templates(org)
            self._log("templates", t, len(templates))
            t = time.perf_counter()
            n = max(1, round(len(accounts) * opts["playbooks_per_account"]))
            playbooks, steps = bench_playbooks(
                account_ids=account_ids,
                owner_ids=owner_ids,
                templates=templates,
                n=n,
                days=opts["days"],
                manager_id=org_manager_id(org.pk),
                reason_ids=list(
                    ChurnReason.all_objects.filter(organization=org).values_list("pk", flat=True)
                ),
                rng=rng,
            )
            self._log("generated", t, n + len(steps["playbook"]))
            t = time.perf_counter()
            ids = _next_ids(Playbook, n)
            self._log("playbook ids reserved", t, n)
            t = time.perf_counter()
            self._write_playbooks(org, today, ids, playbooks)
            self._log("playbooks", t, n)
            t = time.perf_counter()
            self._write_steps(org, today, ids, steps)
            self._log("steps", t, len(steps["playbook"]))
            t = time.perf_counter()
            alerts = self._alerts(org, today, account_ids, owner_ids, opts["alerts_per_csm"], rng)
            self._log("pending alerts", t, alerts)
            t = time.perf_counter()  # the deferred foreign key checks run at commit
        self._log("commit", t)
        t = time.perf_counter()
        # VACUUM also sets the visibility map (index-only scans); it cannot run inside a
        # transaction (a test's), where ANALYZE alone refreshes the planner's statistics.
        analyze = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for model in (Account, Playbook, PlaybookStep, Firing, Alert):
                cursor.execute(f"{analyze} {connection.ops.quote_name(model._meta.db_table)}")
        self._log(analyze.lower(), t)
        self._summary(org, today, started)

    def _clear(self, org: Organization) -> None:
        t = time.perf_counter()
        n = _delete_where(
            Playbook,
            "organization_id = %s AND origin = %s",
            [org.pk, BENCH_ORIGIN],
        )
        self._log("old bench playbooks", t, n)
        trigger = Trigger.all_objects.filter(organization=org, name=BENCH_TRIGGER).first()
        if trigger is not None:
            t = time.perf_counter()
            n = _delete_where(Firing, "trigger_id = %s", [trigger.pk])
            self._log("old bench firings", t, n)

    def _load_users(self, org: Organization, count: int) -> int:
        names = load_usernames(org, count)
        elsewhere = (
            Membership.objects.filter(user__username__in=names)
            .exclude(organization=org)
            .values_list("user__username", flat=True)
            .first()
        )
        if elsewhere:
            raise CommandError(f"user {elsewhere!r} belongs to another organization")
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        password = make_password(PASSWORD)  # hashed once: the slow part of creating users
        User.objects.bulk_create(
            [
                User(
                    username=name,
                    password=password,
                    first_name="Load",
                    last_name=f"CSM {i:02d}",
                    email=f"{name}@bench.csplatform.example",
                )
                for i, name in enumerate(names, 1)
                if name not in existing
            ]
        )
        users = User.objects.filter(username__in=names)
        Membership.objects.bulk_create(
            [Membership(user=u, organization=org, role=Role.CSM) for u in users],
            ignore_conflicts=True,
        )
        return len(names) - len(existing)

    def _reassign(self, org: Organization, count: int, share: float) -> int:
        """Give `share` of the live accounts, evenly spread by id (so a re-run picks the same
        ones), to the load CSMs in turn: one UPDATE."""
        names = load_usernames(org, count)
        by_name = dict(User.objects.filter(username__in=names).values_list("username", "pk"))
        user_ids = [by_name[name] for name in names]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH ranked AS (
                    SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn
                    FROM accounts_account
                    WHERE organization_id = %(org)s AND churned_at IS NULL
                ), picked AS (
                    SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
                    FROM ranked
                    WHERE floor((rn + 1) * %(share)s) > floor(rn * %(share)s)
                )
                UPDATE accounts_account a
                SET owner_id = (%(users)s::bigint[])[1 + picked.k %% %(n)s]
                FROM picked
                WHERE a.id = picked.id
                  AND a.owner_id IS DISTINCT FROM (%(users)s::bigint[])[1 + picked.k %% %(n)s]
                """,
                {"org": org.pk, "share": share, "users": user_ids, "n": len(user_ids)},
            )
            return cursor.rowcount

    def _templates(self, org: Organization) -> list[TemplateSpec]:
        """The organization's active templates (the demo's, created if it has none)."""

        def read():
            return list(
                PlaybookTemplate.all_objects.filter(organization=org, is_active=True)
                .prefetch_related("steps")
                .order_by("pk")
            )

        templates = [t for t in read() if t.steps.all()]
        if not templates:
            from triggers.demo import demo_configuration_create

            demo_configuration_create(org=org)
            templates = [t for t in read() if t.steps.all()]
        products = dict(Product.all_objects.filter(organization=org).values_list("name", "pk"))
        return [
            TemplateSpec(
                id=t.pk,
                kind=t.kind,
                name=t.name,
                product_id=next(
                    (pk for name, pk in products.items() if t.name.endswith(f"offer {name}")),
                    None,
                )
                if t.kind == PlaybookKind.EXPANSION
                else None,
                steps=tuple(
                    StepSpec(
                        s.order, s.title, s.instructions, s.due_offset_days, s.assignee == "manager"
                    )
                    for s in t.steps.all()
                ),
            )
            for t in templates
        ]

    def _write_playbooks(self, org, today, ids, p) -> None:
        c = _Columns(today)
        _copy(
            Playbook,
            {
                "id": ids,
                "organization_id": org.pk,
                "account_id": p["account_id"],
                "template_id": p["template_id"],
                "kind": p["kind"],
                "title": p["title"],
                "owner_id": c.ids(p["owner_id"]),
                "status": p["status"],
                "opened_on": c.dates(p["opened_day"]),
                "due_on": c.dates(p["due_day"]),
                "closed_at": c.datetimes(p["closed_day"], p["closed_sec"]),
                "closed_by_id": c.ids(p["closed_by_id"]),
                "origin": BENCH_ORIGIN,
                "origin_label": BENCH_ORIGIN_LABEL,
                "evidence_text": p["evidence_text"],
                "outcome": p["outcome"],
                "opportunity_product_id": c.ids(p["opportunity_product_id"]),
                "expected_mrr": c.amounts(p["expected_mrr"]),
                "mrr_won": c.amounts(p["mrr_won"]),
                "churn_reason_id": c.ids(p["churn_reason_id"]),
                "is_demo": True,
                "created_at": c.datetimes(p["opened_day"], p["closed_sec"] - 3 * 3600),
            },
            len(ids),
        )

    def _write_steps(self, org, today, ids, s) -> None:
        c = _Columns(today)
        _copy(
            PlaybookStep,
            {
                "organization_id": org.pk,
                "playbook_id": ids[s["playbook"]],
                "order": s["order"],
                "title": s["title"],
                "instructions": s["instructions"],
                "due_on": c.dates(s["due_day"]),
                "assignee_id": c.ids(s["assignee_id"]),
                "status": s["status"],
                "completed_at": c.datetimes(s["done_day"], s["done_sec"]),
                "completed_by_id": c.ids(s["completed_by_id"]),
                "notes": s["notes"],
                "snoozed_reason": s["snoozed_reason"],
                "version": s["version"],
            },
            len(s["playbook"]),
        )

    def _alerts(self, org, today, account_ids, owner_ids, per_csm: int, rng) -> int:
        """`per_csm` pending alerts for each CSM, on accounts they own, fired in the last
        days by a bench trigger that never runs (inactive, monthly)."""
        if per_csm <= 0:
            return 0
        template = (
            PlaybookTemplate.all_objects.filter(organization=org, kind=PlaybookKind.RETENTION)
            .order_by("pk")
            .first()
        )
        if template is None:
            return 0
        trigger, _ = Trigger.all_objects.get_or_create(
            organization=org,
            name=BENCH_TRIGGER,
            defaults={
                "kind": PlaybookKind.RETENTION,
                "condition": {"field": "health_colour", "op": "=", "value": "red"},
                "schedule": Schedule.MONTHLY,
                "action": Action.ALERT,
                "template": template,
                "is_active": False,
            },
        )
        csm_ids = list(
            Membership.objects.filter(organization=org, role=Role.CSM).values_list(
                "user_id", flat=True
            )
        )
        firings, owners = [], []
        for csm_id in csm_ids:
            own = account_ids[owner_ids == csm_id]
            if not len(own):
                continue
            picked = rng.choice(own, size=min(per_csm, len(own)), replace=False)
            for account_id in picked.tolist():
                # Two to six days old: the nightly benchmark clears today's and yesterday's.
                fired_on = today - dt.timedelta(days=int(rng.integers(2, 7)))
                firings.append(
                    Firing(
                        organization=org,
                        trigger=trigger,
                        account_id=account_id,
                        period=fired_on,
                        fired_on=fired_on,
                        evidence={"health_score": 47},
                        evidence_text=ALERT_EVIDENCE,
                    )
                )
                owners.append(csm_id)
        Firing.all_objects.bulk_create(firings, batch_size=2000)
        Alert.all_objects.bulk_create(
            [
                Alert(
                    organization=org,
                    firing=f,
                    account_id=f.account_id,
                    owner_id=owner,
                    status=AlertStatus.PENDING,
                )
                for f, owner in zip(firings, owners, strict=True)
            ],
            batch_size=2000,
        )
        return len(firings)

    def _summary(self, org: Organization, today: dt.date, started: float) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT count(*) FILTER (WHERE s.status = 'open' AND p.status = 'open'),
                       count(*) FILTER (WHERE s.status = 'open' AND p.status = 'open'
                                        AND s.due_on < %s),
                       count(*)
                FROM playbooks_playbookstep s JOIN playbooks_playbook p ON p.id = s.playbook_id
                WHERE p.organization_id = %s AND p.origin = %s
                """,
                [today, org.pk, BENCH_ORIGIN],
            )
            open_steps, overdue, total = cursor.fetchone()
        with org_context(org):
            by_status = dict(
                Playbook.objects.filter(origin=BENCH_ORIGIN)
                .values_list("status")
                .annotate(n=models.Count("pk"))
                .values_list("status", "n")
            )
        self.stdout.write(
            f"Prepared {org.slug} in {time.perf_counter() - started:.1f} s: "
            f"{sum(by_status.values()):,} playbooks {by_status}, {total:,} steps "
            f"({open_steps:,} open in open playbooks, {overdue:,} of them overdue); "
            f"logins {org.slug}-load-01.. password {PASSWORD!r}"
        )

    # -- run ---------------------------------------------------------------------------------

    def _run(self, org: Organization, opts) -> None:
        for key in ("DATABASE_URL",):
            if not os.environ.get(key):
                raise CommandError(f"{key} must be set (the server reads it from the environment)")
        plan = load_plan(org=org, users=opts["users"])
        shape = _data_shape(org, load_usernames(org, opts["users"]))
        workdir = Path(tempfile.mkdtemp(prefix="bench-workspace-"))
        plan_path = workdir / "plan.json"
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        plan_path.write_text(
            json.dumps({"base_url": base_url, "password": PASSWORD, "users": plan})
        )
        access_log, error_log = workdir / "access.log", workdir / "error.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "csplatform.settings.local",
            "DJANGO_DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "csplatform.wsgi",
            "-w",
            str(opts["workers"]),
            "--threads",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(D)s %(q)s",
            "--error-logfile",
            str(error_log),
        ]
        self.stderr.write(f"gunicorn on {base_url} ({opts['workers']} workers), logs in {workdir}")
        # Other work on the machine skews the figures: the 1-minute load average before is kept.
        load_before = round(os.getloadavg()[0], 2)
        server = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        try:
            _wait_ready(server, f"{base_url}/healthz", error_log)
            load = [
                sys.executable,
                str(LOADTEST),
                "--plan",
                str(plan_path),
                "--users",
                str(opts["users"]),
                "--seconds",
                str(opts["seconds"]),
                "--requests",
                str(opts["requests"]),
                "--think-ms",
                str(opts["think_ms"]),
            ]
            if opts["no_fragments"]:
                load.append("--no-fragments")
            cpu_before = _children_cpu()
            done = subprocess.run(load, cwd=ROOT, capture_output=True, text=True, check=False)
            cpu_load = _children_cpu() - cpu_before
            if done.returncode != 0 or not done.stdout.strip():
                raise CommandError(f"the load generator failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout)
        finally:
            cpu_before = _children_cpu()
            _stop(server)
            cpu_server = _children_cpu() - cpu_before
        result["command"] = " ".join(
            ["manage.py bench_workspace run", f"--org {org.slug}"]
            + [f"--{k.replace('_', '-')} {opts[k]}" for k in ("users", "seconds", "requests")]
            + ([f"--think-ms {opts['think_ms']}"] if opts["think_ms"] else [])
        )
        result["data"] = shape
        result["server"] = {
            "gunicorn_workers": opts["workers"],
            "cpus": os.cpu_count(),
            "load_average_1m_before": load_before,
            "load_average_1m_after": round(os.getloadavg()[0], 2),
            # CPU seconds used while loading (warm-up and logins included): with fewer cores
            # than busy processes, requests wait for a core as well as for a worker.
            "cpu_seconds": {
                "gunicorn": round(cpu_server, 1),
                "load_generator": round(cpu_load, 1),
            },
            "time_in_gunicorn_ms": _server_times(access_log),
        }
        text = json.dumps(result, indent=2)
        self.stdout.write(text)
        if opts["json_out"]:
            Path(opts["json_out"]).write_text(text + "\n")
        if result.get("result") != "PASS":
            missed = [
                f"{name} p95 {e['p95_ms']} ms > {e['target_p95_ms']} ms"
                for name, e in result["endpoints"].items()
                if e.get("pass") is False
            ]
            raise CommandError("targets missed: " + "; ".join(missed or ["errors"]))

    # -- profile -----------------------------------------------------------------------------

    def _profile(self, org: Organization, opts) -> None:
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        username = opts["user"] or load_usernames(org, 1)[0]
        user = User.objects.filter(username=username, memberships__organization=org).first()
        if user is None:
            raise CommandError(f"--user: {username!r} is not a member of {org.slug}")
        step = (
            PlaybookStep.all_objects.filter(
                organization=org, assignee=user, status=StepStatus.OPEN, playbook__status="open"
            )
            .order_by("due_on", "pk")
            .values("pk", "version", "playbook_id", "playbook__account_id")
            .first()
        )
        if step is None:
            raise CommandError(f"{username} has no open step")
        account = step["playbook__account_id"]
        client = Client()
        client.force_login(user)
        hx = {"HTTP_HX_REQUEST": "true"}
        pages = [
            ("my_work", "get", "/work/", {}, {}),
            ("account_360", "get", f"/accounts/{account}/", {}, {}),
            ("account_health", "get", f"/health/accounts/{account}/", {}, hx),
            ("account_work", "get", f"/work/accounts/{account}/work/", {}, hx),
            ("account_timeline", "get", f"/work/accounts/{account}/timeline/", {}, hx),
            ("playbook", "get", f"/playbooks/{step['playbook_id']}/", {}, {}),
            (
                "step_complete",
                "post",
                f"/playbooks/steps/{step['pk']}/complete/",
                {"version": step["version"], "where": "mywork"},
                hx,
            ),
        ]
        report = {}
        for name, method, url, data, headers in pages:
            timings = []
            for _ in range(3):
                # Writes are rolled back, so profiling leaves the step open.
                with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
                    t0 = time.perf_counter()
                    response = getattr(client, method)(url, data, **headers)
                    timings.append((time.perf_counter() - t0) * 1000)
                    transaction.set_rollback(True)
            if response.status_code != 200:
                raise CommandError(f"{url} answered {response.status_code}")
            queries = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))
            entry = {
                "url": url,
                "ms": round(statistics.median(timings), 1),
                "queries": len(queries),
                "db_ms": round(sum(float(q["time"]) for q in queries) * 1000, 1),
                "slowest": [
                    {"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"][:400]}
                    for q in queries[:3]
                ],
            }
            plans = []
            for q in queries[: opts["explain"]]:
                if q["sql"].lstrip().upper().startswith("SELECT"):
                    with connection.cursor() as cursor:
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                        plans.append([r[0] for r in cursor.fetchall()])
            entry["plans"] = plans
            report[name] = entry
        self.stdout.write(json.dumps({"user": username, "pages": report}, indent=2))


def _data_shape(org: Organization, usernames: list[str]) -> dict:
    """How much data the pages read: the organization's rows, and per load CSM the open steps
    My Work lists and the alerts waiting (min, median, max over the CSMs)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM accounts_account WHERE organization_id = %(org)s),
                   (SELECT count(*) FROM playbooks_playbook WHERE organization_id = %(org)s),
                   (SELECT count(*) FROM playbooks_playbookstep WHERE organization_id = %(org)s)
            """,
            {"org": org.pk},
        )
        accounts, playbooks, steps = cursor.fetchone()
        cursor.execute(
            """
            SELECT u.username,
                   (SELECT count(*) FROM playbooks_playbookstep s
                    JOIN playbooks_playbook p ON p.id = s.playbook_id
                    WHERE s.organization_id = %(org)s AND s.assignee_id = u.id
                      AND s.status = 'open' AND p.status = 'open'),
                   (SELECT count(*) FROM triggers_alert a
                    WHERE a.organization_id = %(org)s AND a.owner_id = u.id
                      AND a.status = 'pending')
            FROM orgs_user u WHERE u.username = ANY(%(names)s)
            """,
            {"org": org.pk, "names": usernames},
        )
        rows = cursor.fetchall()

    def spread(values: list[int]) -> dict:
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    return {
        "accounts": accounts,
        "playbooks": playbooks,
        "steps": steps,
        "open_steps_per_load_csm": spread([r[1] for r in rows]),
        "pending_alerts_per_load_csm": spread([r[2] for r in rows]),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(server: subprocess.Popen, url: str, error_log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = error_log.read_text() if error_log.exists() else ""
            raise CommandError(f"gunicorn exited ({server.returncode}):\n{log[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise CommandError(f"gunicorn did not answer {url} within {timeout:.0f} s")


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM to the gunicorn we started (its master stops its workers), SIGKILL to its
    process group if it is still there after 20 seconds."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(5)


# Paths as the load generator names them (the access log has no names).
_ENDPOINTS = [
    ("my_work", re.compile(r"^/work/$")),
    ("account_360", re.compile(r"^/accounts/\d+/$")),
    ("account_health", re.compile(r"^/health/accounts/\d+/$")),
    ("account_work", re.compile(r"^/work/accounts/\d+/work/$")),
    ("account_timeline", re.compile(r"^/work/accounts/\d+/timeline/$")),
    ("playbook", re.compile(r"^/playbooks/\d+/$")),
    ("step_complete", re.compile(r"^/playbooks/steps/\d+/complete/$")),
]


def _server_times(access_log: Path) -> dict:
    """Median and p95 of the time gunicorn spent on each kind of request (from the request
    read to the response written: the page's own cost, without the wait for a free worker)."""
    times: dict[str, list[float]] = {}
    if not access_log.exists():
        return {}
    for line in access_log.read_text().splitlines():
        parts = line.split()
        # The load generator marks its warm-up requests (?warmup=1): not measured.
        if len(parts) < 4 or not parts[3].isdigit() or "warmup" in " ".join(parts[4:]):
            continue
        name = next((n for n, rx in _ENDPOINTS if rx.match(parts[1])), None)
        if name:
            times.setdefault(name, []).append(int(parts[3]) / 1000)
    out = {}
    for name, values in times.items():
        values.sort()
        out[name] = {
            "count": len(values),
            "median_ms": round(statistics.median(values), 1),
            "p95_ms": round(values[min(len(values) - 1, int(0.95 * len(values)))], 1),
        }
    return out
