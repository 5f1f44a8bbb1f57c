"""`bench_workspace prepare`: writes the data plan into an organization once (load CSMs given
half its live accounts, a year of playbooks and steps through the one bulk writer, pending
alerts), and `--replace` deletes the bench rows, set-based, before writing them again."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np
from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.db import connection, models, transaction

from accounts.models import Account, ChurnReason, Product
from csplatform.db.bulk import insert_columns
from orgs.models import Membership, Organization, Role, User
from orgs.tenancy import org_context
from orgs.timezones import org_today
from playbooks.models import Playbook, PlaybookKind, PlaybookStep, PlaybookTemplate
from playbooks.services import org_manager_id
from triggers.models import Action, Alert, AlertStatus, Firing, Schedule, Trigger

from .plan import (
    ALERT_EVIDENCE,
    BENCH_MAX_DAYS,
    BENCH_ORIGIN,
    BENCH_ORIGIN_LABEL,
    BENCH_TRIGGER,
    NO_DAY,
    PASSWORD,
    StepSpec,
    TemplateSpec,
    bench_playbooks,
)


def load_usernames(org: Organization, count: int) -> list[str]:
    return [f"{org.slug}-load-{i:02d}" for i in range(1, count + 1)]


def bench_prepare(
    *,
    org: Organization,
    csms: int,
    share: float,
    playbooks_per_account: float,
    days: int,
    alerts_per_csm: int,
    seed: int,
    replace: bool,
    log: Callable[[str], None],
) -> None:
    """Write the bench data into `org` (once; `replace` deletes it and writes it again),
    logging each stage's rows and seconds, then a summary line."""
    if csms < 1 or not 0 < share <= 1 or playbooks_per_account <= 0:
        raise CommandError("--csms must be positive, --share in (0, 1], playbooks > 0")
    if not 1 <= days <= BENCH_MAX_DAYS:
        raise CommandError(f"--days must be between 1 and {BENCH_MAX_DAYS} (got {days})")

    def timed(label: str, began: float, rows: int | None = None) -> None:
        detail = f"{rows:>11,} rows" if rows is not None else " " * 16
        log(f"  {label:<24}{detail}  {time.perf_counter() - began:6.1f} s")

    started = time.perf_counter()
    prepared = Playbook.all_objects.filter(organization=org, origin=BENCH_ORIGIN)
    if prepared.exists() and not replace:
        log(
            f"{org.slug}: already prepared ({prepared.count():,} bench playbooks); "
            "pass --replace to write them again"
        )
        return
    today = org_today(org)
    rng = np.random.default_rng(seed)
    with transaction.atomic():
        if replace:
            _clear(org, timed)
        t = time.perf_counter()
        timed("load CSMs", t, _load_users(org, csms))
        t = time.perf_counter()
        timed("accounts reassigned", t, _reassign(org, csms, share))
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
        templates = _templates(org)
        timed("templates", t, len(templates))
        t = time.perf_counter()
        n = max(1, round(len(accounts) * playbooks_per_account))
        playbooks, steps = bench_playbooks(
            account_ids=account_ids,
            owner_ids=owner_ids,
            templates=templates,
            n=n,
            days=days,
            manager_id=org_manager_id(org.pk),
            reason_ids=list(
                ChurnReason.all_objects.filter(organization=org).values_list("pk", flat=True)
            ),
            rng=rng,
        )
        timed("generated", t, n + len(steps["playbook"]))
        t = time.perf_counter()
        ids = _next_ids(Playbook, n)
        timed("playbook ids reserved", t, n)
        t = time.perf_counter()
        _write_playbooks(org, today, ids, playbooks)
        timed("playbooks", t, n)
        t = time.perf_counter()
        _write_steps(org, today, ids, steps)
        timed("steps", t, len(steps["playbook"]))
        t = time.perf_counter()
        alerts = _alerts(org, today, account_ids, owner_ids, alerts_per_csm, rng)
        timed("pending alerts", t, alerts)
        t = time.perf_counter()  # the deferred foreign key checks run at commit
    timed("commit", t)
    t = time.perf_counter()
    # VACUUM also sets the visibility map (index-only scans); it cannot run inside a
    # transaction (a test's), where ANALYZE alone refreshes the planner's statistics.
    analyze = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for model in (Account, Playbook, PlaybookStep, Firing, Alert):
            cursor.execute(f"{analyze} {connection.ops.quote_name(model._meta.db_table)}")
    timed(analyze.lower(), t)
    log(_summary(org, today, started))


def _clear(org: Organization, timed) -> None:
    t = time.perf_counter()
    n = _delete_where(Playbook, "organization_id = %s AND origin = %s", [org.pk, BENCH_ORIGIN])
    timed("old bench playbooks", t, n)
    trigger = Trigger.all_objects.filter(organization=org, name=BENCH_TRIGGER).first()
    if trigger is not None:
        t = time.perf_counter()
        n = _delete_where(Firing, "organization_id = %s AND trigger_id = %s", [org.pk, trigger.pk])
        timed("old bench firings", t, n)


def _load_users(org: Organization, count: int) -> int:
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


def _reassign(org: Organization, count: int, share: float) -> int:
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
            WHERE a.id = picked.id AND a.organization_id = %(org)s
              AND a.owner_id IS DISTINCT FROM (%(users)s::bigint[])[1 + picked.k %% %(n)s]
            """,
            {"org": org.pk, "share": share, "users": user_ids, "n": len(user_ids)},
        )
        return cursor.rowcount


def _templates(org: Organization) -> list[TemplateSpec]:
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


# -- writing ------------------------------------------------------------------------------


def _days(today: dt.date, days: np.ndarray) -> np.ndarray:
    """Day numbers since 1970-01-01 of the plan's days relative to today (-1: none)."""
    base = int(np.datetime64(today, "D").astype(np.int64))
    return np.where(days == NO_DAY, -1, base + days)


def _times(today: dt.date, days: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """UTC datetimes of the plan's days relative to today and seconds after midnight."""
    offset = (days.astype(np.int64) * 86400 + seconds).astype("timedelta64[s]")
    return np.where(days == NO_DAY, np.datetime64("NaT", "s"), np.datetime64(today, "s") + offset)


def _write_playbooks(org, today, ids, p) -> None:
    insert_columns(
        model=Playbook,
        columns={
            "id": ids,
            "organization_id": org.pk,
            "account_id": p["account_id"],
            "template_id": p["template_id"],
            "kind": p["kind"],
            "title": p["title"],
            "owner_id": p["owner_id"],
            "status": p["status"],
            "opened_on": _days(today, p["opened_day"]),
            "due_on": _days(today, p["due_day"]),
            "closed_at": _times(today, p["closed_day"], p["closed_sec"]),
            "closed_by_id": p["closed_by_id"],
            "origin": BENCH_ORIGIN,
            "origin_label": BENCH_ORIGIN_LABEL,
            "evidence_text": p["evidence_text"],
            "outcome": p["outcome"],
            "opportunity_product_id": p["opportunity_product_id"],
            "expected_mrr": p["expected_mrr"],
            "mrr_won": p["mrr_won"],
            "churn_reason_id": p["churn_reason_id"],
            "is_demo": True,
            "created_at": _times(today, p["opened_day"], p["closed_sec"] - 3 * 3600),
        },
        n=len(ids),
    )


def _write_steps(org, today, ids, s) -> None:
    insert_columns(
        model=PlaybookStep,
        columns={
            "organization_id": org.pk,
            "playbook_id": ids[s["playbook"]],
            "order": s["order"],
            "title": s["title"],
            "instructions": s["instructions"],
            "due_on": _days(today, s["due_day"]),
            "assignee_id": s["assignee_id"],
            "status": s["status"],
            "completed_at": _times(today, s["done_day"], s["done_sec"]),
            "completed_by_id": s["completed_by_id"],
            "notes": s["notes"],
            "snoozed_reason": s["snoozed_reason"],
            "version": s["version"],
        },
        n=len(s["playbook"]),
    )


def _alerts(org, today, account_ids, owner_ids, per_csm: int, rng) -> int:
    """`per_csm` pending alerts for each CSM, on accounts they own, fired in the last days by
    a bench trigger that never runs (inactive, monthly)."""
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
        Membership.objects.filter(organization=org, role=Role.CSM).values_list("user_id", flat=True)
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
    Firing.objects.bulk_create(firings, batch_size=2000)
    Alert.objects.bulk_create(
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


def _summary(org: Organization, today: dt.date, started: float) -> str:
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
    return (
        f"Prepared {org.slug} in {time.perf_counter() - started:.1f} s: "
        f"{sum(by_status.values()):,} playbooks {by_status}, {total:,} steps "
        f"({open_steps:,} open in open playbooks, {overdue:,} of them overdue); "
        f"logins {org.slug}-load-01.. password {PASSWORD!r}"
    )


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
