"""`demo_seed`: the whole demo organization in one transaction. It builds the frames (frames.py,
signals.py), creates the organization's own rows (organization.py) and writes the rest in bulk
(writers.py), never a row at a time, reporting each table's rows and seconds."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from .catalogue import DemoSpec
from .frames import accounts_frame, contacts_frame, lifecycle_stages, subscriptions_frames
from .organization import (
    DemoSeedError,
    SeedResult,
    _organization_create,
    _strategic_pick,
    demo_org_delete,
)
from .signals import signal_chunks
from .writers import FrameWriter, _foreign_keys_check, _ids, _pg_skip_triggers, _session_set


def demo_seed(
    *, spec: DemoSpec, replace: bool = False, log: Callable[[str], None] = print
) -> SeedResult:
    """Create the demo organization `spec.slug` with its users and whole portfolio, in one
    transaction. With `replace`, an existing organization of that slug is deleted first."""
    from django.db import connection, transaction

    from accounts import models as am
    from accounts import services
    from orgs.models import Organization

    started = time.perf_counter()
    counts: dict[str, int] = {}
    spent: dict[str, float] = {}

    def report(label: str, began: float, rows: int | None = None) -> None:
        took = time.perf_counter() - began
        detail = f"{rows:>11,} rows" if rows is not None else " " * 16
        log(f"  {label:<18}{detail}  {took:6.1f} s")

    def write(label: str, model, frame: pd.DataFrame, refs: dict, plain: bool = False) -> None:
        began = time.perf_counter()
        rows = w.insert_frame(model, frame, refs, plain=plain)
        counts[label] = counts.get(label, 0) + rows
        spent[label] = spent.get(label, 0.0) + time.perf_counter() - began

    # Foreign keys are checked once, set-based, after the load rather than row by row (per-row
    # checks cost more than the inserts themselves): on SQLite as loaddata does, on PostgreSQL
    # when the role may skip triggers; otherwise PostgreSQL checks each COPY as it ends, so
    # deferred checks do not pile up in memory for millions of rows.
    with connection.constraint_checks_disabled(), transaction.atomic():
        _session_set(
            connection, sqlite="PRAGMA cache_size = -262144", pg="SET CONSTRAINTS ALL DEFERRED"
        )
        existing = Organization.objects.filter(slug=spec.slug).first()
        if existing is not None:
            if not replace:
                raise DemoSeedError(
                    f"organization {spec.slug!r} already exists; pass --replace to delete and "
                    "re-seed it, or --if-missing to keep it"
                )
            t = time.perf_counter()
            demo_org_delete(org=existing)
            report("old org deleted", t)
        _session_set(connection, pg="SET CONSTRAINTS ALL IMMEDIATE")
        deferred_fk_check = connection.vendor == "sqlite" or _pg_skip_triggers(connection)

        t = time.perf_counter()
        rng = np.random.default_rng([spec.seed, 0])
        accounts = accounts_frame(spec, rng)
        subs, movements = subscriptions_frames(accounts, spec, rng)
        accounts["lifecycle_stage"] = lifecycle_stages(accounts, subs, spec)
        contacts = contacts_frame(accounts, spec, rng)
        report("portfolio built", t)

        t = time.perf_counter()
        org, user_ids, catalogue = _organization_create(spec)
        report("org and users", t, len(user_ids))
        w = FrameWriter(org.pk)
        users = ("author_id", user_ids)

        write(
            "accounts",
            am.Account,
            accounts.rename(columns={"since": "customer_since", "churn_day": "churned_at"}),
            {
                "owner": ("owner_id", user_ids),
                "churn_reason": ("churn_reason_id", catalogue["reasons"]),
            },
        )
        account_ids = accounts["external_id"].map(_ids(am.Account, org)).to_numpy()
        to_account = ("account_id", account_ids)
        write(
            "subscriptions",
            am.Subscription,
            subs,
            {"account": to_account, "product": ("product_id", catalogue["products"])},
        )
        sub_ids = subs["external_id"].map(_ids(am.Subscription, org)).to_numpy()
        write(
            "mrr movements",
            am.MrrMovement,
            movements,
            {"account": to_account, "subscription": ("subscription_id", sub_ids)},
        )
        write("contacts", am.Contact, contacts, {"account": to_account})
        contact_ids = contacts["external_id"].map(_ids(am.Contact, org)).to_numpy()
        to_contact = ("contact_id", contact_ids)
        for label in ("accounts", "subscriptions", "mrr movements", "contacts"):
            log(f"  {label:<18}{counts[label]:>11,} rows  {spent[label]:6.1f} s")

        t = progress = time.perf_counter()
        generating = 0.0
        for chunk in signal_chunks(accounts, movements, subs, contacts, spec):
            generating += time.perf_counter() - t
            write("usage metrics", am.UsageMetric, chunk.usage, {"account": to_account}, True)
            write("tickets", am.Ticket, chunk.tickets, {"account": to_account})
            write("invoices", am.Invoice, chunk.invoices, {"account": to_account})
            write(
                "survey responses",
                am.SurveyResponse,
                chunk.surveys,
                {"account": to_account, "contact": to_contact},
            )
            write(
                "interactions",
                am.Interaction,
                chunk.interactions,
                {"account": to_account, "contact": to_contact, "owner": users},
            )
            if time.perf_counter() - progress > 20:
                progress = time.perf_counter()
                done = int(chunk.usage["account"].max()) + 1 if len(chunk.usage["account"]) else 0
                log(
                    f"  ... signals for {done:,} of {len(accounts):,} accounts, "
                    f"{counts['usage metrics']:,} usage rows, {progress - started:.0f} s"
                )
            t = time.perf_counter()
        log(f"  {'signals generated':<34}{generating:6.1f} s")
        for label in ("usage metrics", "tickets", "invoices", "survey responses", "interactions"):
            log(f"  {label:<18}{counts.get(label, 0):>11,} rows  {spent.get(label, 0.0):6.1f} s")

        t = time.perf_counter()
        _strategic_pick(accounts, account_ids, catalogue["strategic"])
        if connection.vendor == "postgresql" and deferred_fk_check:
            _session_set(connection, pg="SET LOCAL session_replication_role = origin")
        _session_set(connection, pg="SET CONSTRAINTS ALL DEFERRED")
        if connection.vendor == "postgresql":
            t = time.perf_counter()
            with connection.cursor() as cursor:  # the planner's statistics, before any query
                for model in w.models:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            report("analyze", t)
        if deferred_fk_check:
            t = time.perf_counter()
            _foreign_keys_check(connection, w.models, org.pk)
            report("foreign keys", t)
        t = time.perf_counter()
        services.account_rollups_refresh(org=org)
        services.persona_assign_all(org=org)
        report("rollups, personas", t)

    return SeedResult(organization=org, counts=counts, seconds=time.perf_counter() - started)
