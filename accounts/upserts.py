"""Writes that integrations make: set-based upserts of the portfolio and its signals, keyed by
each record's natural key (the external id; a product's code; a usage row's account, metric
and day). Callers (the REST API, the CSV import) hand in records already read and with their
relations resolved; these services check what the database would refuse, write the new and
changed rows in bulk and leave identical ones alone, so re-sending a batch changes nothing.

Each writes inside one transaction with its side effects: a new owner hands over the
account's open playbooks (account_owner_changed), a churn goes through accounts_mark_churned,
subscriptions write the MRR ledger and the accounts' rollups.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.celery import enqueue_on_commit
from csplatform.db.bulk import copy_rows, copy_text, update_from_values, upsert_counted
from orgs.relations import relation_scope

from . import models as am
from .services import Churn, PortfolioError, account_rollups_refresh, accounts_mark_churned
from .signals import account_owner_changed

logger = logging.getLogger(__name__)

LOOKUP_CHUNK = 5000


class RecordsRefused(PortfolioError):
    """Records the database would refuse; `errors` lists (index, field, message)."""

    def __init__(self, errors: list[tuple[int, str, str]]):
        self.errors = errors
        index, name, message = errors[0]
        super().__init__(name, f"record {index}: {message}")


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: list[int] = field(default_factory=list)  # per record, in order

    def add(self, other: UpsertResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.ids += other.ids


def filter_in(qs, field_name: str, values, *, lower: bool = False):
    """`qs` narrowed to rows whose `field_name` is one of `values` (compared lower-cased with
    `lower`). A long list is one array parameter on PostgreSQL (`= ANY(%s)`): Django's
    `__in` prepares every value on its own, which costs more than the query for 10,000.

    The array is cast to the column's type: psycopg2 sends Python ints as integer[], and
    `bigint = ANY(integer[])` is a cross-type comparison PostgreSQL cannot hash, so a plan
    that filters rows by it (the organization's index, when the table was loaded since its
    last ANALYZE) compares every row with every value: seconds for 10,000 ids."""
    values = list(values)
    if connection.vendor != "postgresql" or len(values) < 100:
        if lower:
            from django.db.models.functions import Lower

            return qs.annotate(_lower_in=Lower(field_name)).filter(_lower_in__in=values)
        return qs.filter(**{f"{field_name}__in": values})
    f = qs.model._meta.get_field(field_name)
    target = f.target_field if f.is_relation else f
    if isinstance(target, models.IntegerField | models.AutoField):
        cast = "::bigint[]"
    elif isinstance(target, models.CharField | models.TextField):
        cast = "::text[]"
    else:
        cast = ""
    expression = f'"{qs.model._meta.db_table}"."{f.column}"'
    if lower:
        expression = f"LOWER({expression})"
    if cast == "::text[]":  # one literal: psycopg2 would send ARRAY['a', 'b', ...], 10,000
        values = text_array(values)  # constants PostgreSQL plans one by one (a third slower)
    return qs.extra(where=[f"{expression} = ANY(%s{cast})"], params=[values])


def text_array(values) -> str:
    """PostgreSQL's literal of a text[] holding `values`: one parameter, parsed at once,
    where a Python list goes as an ARRAY[...] of one constant each. Every element is
    double-quoted with its backslashes and double quotes escaped; None is NULL."""
    values = list(values)
    if None not in values:
        texts = list(map(str, values))
        joined = '","'.join(texts)
        if '"' not in "".join(texts) and "\\" not in joined:  # the usual keys: as they are
            return '{"' + joined + '"}' if texts else "{}"
    return (
        "{"
        + ",".join(
            "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in values
        )
        + "}"
    )


def _org_id(org) -> int:
    return getattr(org, "pk", org)


def _same(new, old) -> bool:
    if isinstance(new, float) and isinstance(old, float):
        return new == old or abs(new - old) <= 1e-9 * max(abs(new), abs(old))
    if isinstance(new, Decimal) or isinstance(old, Decimal):
        return new is not None and old is not None and Decimal(new) == Decimal(old)
    return new == old


def _check_relations(org_id: int, model, records: Sequence[dict]) -> None:
    """Every id a record points at belongs to the organization (orgs.relations' rule), and
    every key is given once."""
    errors = []
    for f in model._meta.concrete_fields:
        if not f.is_relation or f.attname == "organization_id":
            continue
        wanted = {r[f.attname] for r in records if r.get(f.attname) is not None}
        if not wanted:
            continue
        allowed = set()
        ids = list(wanted)
        for i in range(0, len(ids), LOOKUP_CHUNK):
            scope = relation_scope(f.related_model, org_id).order_by()
            pk_name = f.related_model._meta.pk.name
            allowed |= set(
                filter_in(scope, pk_name, ids[i : i + LOOKUP_CHUNK]).values_list("pk", flat=True)
            )
        for index, r in enumerate(records):
            if r.get(f.attname) is not None and r[f.attname] not in allowed:
                errors.append(
                    (
                        index,
                        f.name,
                        _("Not a %(model)s of this organization.")
                        % {"model": f.related_model._meta.verbose_name},
                    )
                )
    if errors:
        raise RecordsRefused(errors)


def _check_unique(records: Sequence[dict], key: Sequence[str]) -> None:
    try:
        keys = list(map(itemgetter(*key), records))
    except KeyError:  # a record without its key: named below
        keys = [None] * len(records)
    if len(set(keys)) == len(keys) and all(
        k not in (None, "") and (len(key) == 1 or None not in k) for k in keys
    ):
        return
    seen: dict[tuple, int] = {}
    errors = []
    for index, r in enumerate(records):
        k = tuple(r.get(f) for f in key)
        if any(v in (None, "") for v in k):
            errors.append((index, key[0], _("This field is required.")))
        elif k in seen:
            errors.append(
                (index, key[0], _("Repeats record %(first)s (the same key).") % {"first": seen[k]})
            )
        else:
            seen[k] = index
    if errors:
        raise RecordsRefused(errors)


def _existing(model, org_id: int, key: Sequence[str], records, columns) -> dict[tuple, tuple]:
    """The stored rows of these records' keys: {key: (pk, *columns)}."""
    out: dict[tuple, tuple] = {}
    base = model.all_objects.filter(organization_id=org_id).order_by()
    if "external_id" in key:  # the partial unique index's predicate, so it is used
        base = base.exclude(external_id="")
    for i in range(0, len(records), LOOKUP_CHUNK):
        part = records[i : i + LOOKUP_CHUNK]
        if len(key) == 1:
            qs = filter_in(base, key[0], [r[key[0]] for r in part])
        else:  # usage: a box around the keys, the exact ones picked below
            qs = filter_in(base, "account", {r["account_id"] for r in part}).filter(
                metric__in={r["metric"] for r in part},
                date__gte=min(r["date"] for r in part),
                date__lte=max(r["date"] for r in part),
            )
        for row in qs.values_list("pk", *key, *columns):
            out[tuple(row[1 : 1 + len(key)])] = (row[0], *row[1 + len(key) :])
    return out


def _cast(model, attname: str) -> str:
    f = next(f for f in model._meta.concrete_fields if f.attname == attname)
    if f.is_relation:
        return "bigint"
    return f.cast_db_type(connection) or "text"


@dataclass
class _Plan:
    """What writing `records` means against what is stored."""

    columns: list[str]
    new: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    ids: list[int | None] = field(default_factory=list)
    old: dict[int, dict] = field(default_factory=dict)  # index -> stored values of changed


def _plan(model, org_id, key, records, columns) -> _Plan:
    columns = [c for c in columns if c not in key]
    stored = _existing(model, org_id, key, records, columns)
    plan = _Plan(columns=columns, ids=[None] * len(records))
    for index, r in enumerate(records):
        found = stored.get(tuple(r[k] for k in key))
        if found is None:
            plan.new.append(index)
            continue
        plan.ids[index] = found[0]
        old = dict(zip(columns, found[1:], strict=True))
        if any(not _same(r[c], old[c]) for c in columns):
            plan.changed.append(index)
            plan.old[index] = old
    return plan


def _write(model, org_id: int, key, records, plan: _Plan, now) -> None:
    if plan.new and not _copy_new(model, org_id, key, records, plan, now):
        created = model.all_objects.bulk_create(
            [model(organization_id=org_id, **records[i]) for i in plan.new], batch_size=2000
        )
        for i, obj in zip(plan.new, created, strict=True):
            plan.ids[i] = obj.pk
    if plan.changed:
        touched = ["updated_at"] if any(f.name == "updated_at" for f in model._meta.fields) else []
        update_from_values(
            table=model._meta.db_table,
            key="id",
            columns=[(c, _cast(model, c)) for c in plan.columns]
            + [(c, "timestamptz") for c in touched],
            rows=[
                (plan.ids[i], *(records[i][c] for c in plan.columns), *([now] * len(touched)))
                for i in plan.changed
            ],
            org_id=org_id,
        )


# New rows fewer than this go through bulk_create (its cost only shows in thousands).
COPY_NEW_MIN = 500
# Fields whose value bulk_create would write as it stands (their pre_save gives the
# attribute back; the date fields' auto_now is `now`, set here): any other field in a model
# sends its new rows through bulk_create.
_COPYABLE = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.FloatField,
    models.DecimalField,
    models.DateField,  # DateTimeField is one
    models.BooleanField,
    models.ForeignKey,
    models.JSONField,
    models.AutoField,
    models.BigAutoField,
)


def _copy_new(model, org_id: int, key, records, plan: _Plan, now) -> bool:
    """The new rows of a big batch written by one COPY (bulk.copy_rows) instead of
    bulk_create, which builds a model instance and prepares every field of every row (most
    of a 100,000-account import's time); then their ids, by their external ids. The values
    are bulk_create's: the record's, else `now` for auto_now fields, else the field's
    default. False (nothing written) where that does not hold or cannot map ids back: not
    PostgreSQL, a small batch, a key other than a non-blank external id (unique in the
    organization), a field of another kind or a JSON field with its own encoder."""
    rows = [records[i] for i in plan.new]
    if (
        connection.vendor != "postgresql"
        or len(rows) < COPY_NEW_MIN
        or list(key) != ["external_id"]
    ):
        return False
    if not all(r.get("external_id") for r in rows) or not any(
        isinstance(c, models.UniqueConstraint) and list(c.fields) == ["organization", "external_id"]
        for c in model._meta.constraints
    ):
        return False
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    if any(
        not isinstance(f, _COPYABLE) or (isinstance(f, models.JSONField) and f.encoder)
        for f in fields
    ):
        return False
    attnames = {f.attname for f in fields}
    if any(name not in attnames for name in rows[0]):  # a record names a field by its name
        return False
    columns, getters = [], []
    for f in fields:
        columns.append(f.column)
        if f.attname == "organization_id":
            getters.append(lambda r, v=org_id: v)
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            getters.append(lambda r, v=now: v)
        elif f.has_default() and callable(f.default):
            getters.append(lambda r, a=f.attname, f=f: r[a] if a in r else f.get_default())
        else:
            default = f.get_default()
            getters.append(lambda r, a=f.attname, v=default: r.get(a, v))
    copy_rows(
        table=model._meta.db_table,
        columns=columns,
        rows=([get(r) for get in getters] for r in rows),
    )
    keys = [r["external_id"] for r in rows]
    scope = model.all_objects.filter(organization_id=org_id).exclude(external_id="")
    ids = dict(filter_in(scope.order_by(), "external_id", keys).values_list("external_id", "pk"))
    for i, k in zip(plan.new, keys, strict=True):
        plan.ids[i] = ids[k]
    return True


def _result(plan: _Plan, total: int) -> UpsertResult:
    return UpsertResult(
        created=len(plan.new),
        updated=len(plan.changed),
        unchanged=total - len(plan.new) - len(plan.changed),
        ids=list(plan.ids),
    )


def _columns(records: Sequence[dict]) -> list[str]:
    """The columns the records carry: every record of one call carries the same ones."""
    names = list(records[0])
    first = set(names)
    for index, r in enumerate(records):
        if set(r) != first:
            raise RecordsRefused(
                [
                    (
                        index,
                        sorted(set(r) ^ first)[0],
                        _("Records of one batch carry the same fields."),
                    )
                ]
            )
    return names


def _records_upsert(*, model, org, records: Sequence[dict], key: Sequence[str]) -> UpsertResult:
    org_id = _org_id(org)
    if not records:
        return UpsertResult()
    columns = _columns(records)
    _check_unique(records, key)
    _check_relations(org_id, model, records)
    with transaction.atomic():
        plan = _plan(model, org_id, key, records, columns)
        _write(model, org_id, key, records, plan, timezone.now())
    return _result(plan, len(records))


# -- the portfolio ----------------------------------------------------------------------------


def accounts_upsert(
    *, org, records: Sequence[dict], acting_user=None, refresh_segments: bool = True
) -> UpsertResult:
    """Accounts by external id. A new owner hands the account's open playbooks over (the
    account_owner_changed hook); a churn date (with its reason) churns the account through
    accounts_mark_churned (the first churn stands; a blank date does not un-churn). Persona
    membership is refreshed after the commit (a caller writing many batches in one
    transaction asks for it once, with `refresh_segments` on the last call or on its own)."""
    org_id = _org_id(org)
    if not records:
        return UpsertResult()
    churns = [
        (i, r.pop("churned_at", None), r.pop("churn_reason_id", None))
        for i, r in enumerate(records)
    ]
    for r in records:
        if r.get("lifecycle_stage") == am.LifecycleStage.CHURNED:
            r.pop("lifecycle_stage")  # the churn below sets it, with its date and reason
    columns = _columns(records)
    _check_unique(records, ["external_id"])
    _check_relations(org_id, am.Account, records)
    with transaction.atomic():
        plan = _plan(am.Account, org_id, ["external_id"], records, columns)
        _write(am.Account, org_id, ["external_id"], records, plan, timezone.now())
        if "owner_id" in plan.columns:
            moved = {
                plan.ids[i]: plan.old[i]["owner_id"]
                for i in plan.changed
                if plan.old[i]["owner_id"] != records[i]["owner_id"] and records[i]["owner_id"]
            }
            for account in am.Account.all_objects.filter(pk__in=list(moved)):
                account_owner_changed.send(
                    sender=am.Account,
                    account=account,
                    previous_owner_id=moved[account.pk],
                    acting_user=acting_user,
                )
        wanted = [
            Churn(account_id=plan.ids[i], churned_at=day, reason_id=reason)
            for i, day, reason in churns
            if day is not None
        ]
        if wanted:
            already = set(
                am.Account.all_objects.filter(
                    organization_id=org_id, pk__in=[c.account_id for c in wanted]
                )
                .exclude(churned_at=None)
                .values_list("pk", flat=True)
            )
            fresh = [c for c in wanted if c.account_id not in already]
            if fresh:
                accounts_mark_churned(org=org_id, churns=fresh, acting_user=acting_user)
                fresh_ids = {c.account_id for c in fresh}
                for i, idx in enumerate(plan.ids):
                    if idx in fresh_ids and i not in plan.new and i not in plan.changed:
                        plan.changed.append(i)
        if refresh_segments:
            enqueue_on_commit("accounts.portfolio_refresh", org_id)
    result = _result(plan, len(records))
    logger.info(
        "accounts upserted org=%s created=%s updated=%s unchanged=%s",
        org_id,
        result.created,
        result.updated,
        result.unchanged,
    )
    return result


def contacts_upsert(*, org, records: Sequence[dict]) -> UpsertResult:
    """Contacts by external id. Consent is written only from what the records say (given
    at, source, withdrawn at): a record that says nothing of consent leaves it as stored."""
    return _records_upsert(model=am.Contact, org=org, records=records, key=["external_id"])


def products_upsert(*, org, records: Sequence[dict]) -> UpsertResult:
    return _records_upsert(model=am.Product, org=org, records=records, key=["code"])


def subscriptions_upsert(*, org, records: Sequence[dict], today: dt.date) -> UpsertResult:
    """Subscriptions by external id, with the MRR ledger: a new subscription is new MRR (an
    expansion when the account already held another), a changed MRR an expansion or a
    contraction today, a cancellation a churn on its end date; then the accounts' MRR and
    renewal rollups."""
    org_id = _org_id(org)
    if not records:
        return UpsertResult()
    columns = _columns(records)
    _check_unique(records, ["external_id"])
    _check_relations(org_id, am.Subscription, records)
    tracked = [c for c in ("mrr", "status", "end_date", "account_id") if c not in columns]
    with transaction.atomic():
        plan = _plan(am.Subscription, org_id, ["external_id"], records, columns)
        # what the ledger compares against, for the records that do not carry it
        stored = {}
        if tracked and plan.changed:
            stored = {
                row[0]: dict(zip(tracked, row[1:], strict=True))
                for row in am.Subscription.all_objects.filter(
                    pk__in=[plan.ids[i] for i in plan.changed]
                ).values_list("pk", *tracked)
            }
        holders = set(
            am.Subscription.all_objects.filter(
                organization_id=org_id,
                status=am.SubscriptionStatus.ACTIVE,
                account_id__in={r.get("account_id") for r in records if r.get("account_id")},
            ).values_list("account_id", flat=True)
        )
        _write(am.Subscription, org_id, ["external_id"], records, plan, timezone.now())
        movements = []
        for i in plan.new:
            r = {**{"status": "active", "end_date": None}, **records[i]}
            kind = (
                am.MrrMovementKind.EXPANSION
                if r["account_id"] in holders
                else am.MrrMovementKind.NEW
            )
            movements.append((r["account_id"], plan.ids[i], r["start_date"], kind, r["mrr"]))
            holders.add(r["account_id"])
            if r["status"] == am.SubscriptionStatus.CANCELLED:
                movements.append(
                    (
                        r["account_id"],
                        plan.ids[i],
                        r["end_date"] or today,
                        am.MrrMovementKind.CHURN,
                        -r["mrr"],
                    )
                )
        for i in plan.changed:
            old = {**plan.old[i], **stored.get(plan.ids[i], {})}
            new = {**old, **records[i]}
            was_active = old["status"] == am.SubscriptionStatus.ACTIVE
            is_active = new["status"] == am.SubscriptionStatus.ACTIVE
            if was_active and not is_active:
                movements.append(
                    (
                        new["account_id"],
                        plan.ids[i],
                        new["end_date"] or today,
                        am.MrrMovementKind.CHURN,
                        -old["mrr"],
                    )
                )
            elif not was_active and is_active:
                movements.append(
                    (
                        new["account_id"],
                        plan.ids[i],
                        today,
                        am.MrrMovementKind.REACTIVATION,
                        new["mrr"],
                    )
                )
            elif is_active and not _same(new["mrr"], old["mrr"]):
                delta = Decimal(new["mrr"]) - Decimal(old["mrr"])
                kind = am.MrrMovementKind.EXPANSION if delta > 0 else am.MrrMovementKind.CONTRACTION
                movements.append((new["account_id"], plan.ids[i], today, kind, delta))
        am.MrrMovement.all_objects.bulk_create(
            [
                am.MrrMovement(
                    organization_id=org_id,
                    account_id=a,
                    subscription_id=s,
                    date=d,
                    kind=k,
                    delta_mrr=delta,
                    note=_("imported"),
                )
                for a, s, d, k, delta in movements
            ],
            batch_size=5000,
        )
        touched = {records[i].get("account_id") for i in plan.new + plan.changed}
        touched |= {
            plan.old[i].get("account_id") for i in plan.changed if "account_id" in plan.old[i]
        }
        touched.discard(None)
        if plan.changed and "account_id" not in columns:
            touched |= set(
                am.Subscription.all_objects.filter(
                    pk__in=[plan.ids[i] for i in plan.changed]
                ).values_list("account_id", flat=True)
            )
        if touched:
            account_rollups_refresh(org=org_id, account_ids=sorted(touched))
    return _result(plan, len(records))


# -- signals ---------------------------------------------------------------------------------


def usage_upsert(*, org, records: Sequence[dict], accounts_resolved: bool = False) -> UpsertResult:
    """Daily usage rows by (account, metric, day). On PostgreSQL no lookup comes first: the
    rows are COPYed straight in when none exists yet (a new day), else upserted in one
    INSERT ... ON CONFLICT that replaces only values that differ (the tolerance of `_same`)
    and counts what it created and updated; an identical re-send writes nothing.

    Every account id is checked to be the organization's, unless `accounts_resolved`: the
    caller found each id by its key inside the organization (api.resolve, through
    orgs.relations.relation_scope, as the API and the CSV import do), so a second look
    would ask the database the same question again (a tenth of a 10,000-row request)."""
    org_id = _org_id(org)
    if not records:
        return UpsertResult()
    key = ["account_id", "metric", "date"]
    _check_unique(records, key)
    if not accounts_resolved:
        _check_relations(org_id, am.UsageMetric, records)
    if connection.vendor != "postgresql":
        # The unique day is a covering index, which only PostgreSQL builds (SQLite, the
        # demo's database, has no constraint to conflict on): new rows are inserted and
        # changed ones updated by id, as the plan found them.
        with transaction.atomic():
            plan = _plan(am.UsageMetric, org_id, key, records, ["value"])
            _write(am.UsageMetric, org_id, key, records, plan, timezone.now())
        result = _result(plan, len(records))
        result.ids = []  # usage rows are named by their key, not an id
        return result
    with transaction.atomic():
        created, updated = upsert_counted(
            table=am.UsageMetric._meta.db_table,
            columns=["organization_id", "account_id", "metric", "date", "value"],
            rows=[(org_id, r["account_id"], r["metric"], r["date"], r["value"]) for r in records],
            conflict=["organization_id", "metric", "account_id", "date"],
            update=["value"],
            changed=USAGE_CHANGED,
            copy_first=True,
        )
    return UpsertResult(
        created=created, updated=updated, unchanged=len(records) - created - updated
    )


def usage_columns_upsert(
    *,
    org,
    account_ids: Sequence[int],
    metrics: Sequence[str],
    dates: Sequence[dt.date],
    values: Sequence[float],
    accounts_resolved: bool = False,
    distinct: bool = False,
) -> UpsertResult:
    """`usage_upsert` of a batch given as columns (record i is account_ids[i], metrics[i],
    dates[i], values[i]), as a plain bulk request is read (api.records.read_columns): the
    same rows written and the same counts, the COPY text written a column at a time
    (csplatform.db.bulk.copy_text) instead of a tuple and a dict per row. Anything
    `usage_upsert` would refuse or check (a repeated key, accounts not resolved in the
    organization, SQLite) goes through it, record by record, so its errors and their
    indexes are the same. `distinct`: the caller has checked that no (account, metric, date)
    repeats (a plain bulk request, by the keys it came with), which is then not checked again."""
    n = len(account_ids)
    if not len(metrics) == len(dates) == len(values) == n:
        raise ValueError("usage columns of different lengths")
    if (
        connection.vendor != "postgresql"
        or not accounts_resolved
        or (not distinct and len(set(zip(account_ids, metrics, dates, strict=True))) != n)
    ):
        records = [
            {"account_id": a, "metric": m, "date": d, "value": v}
            for a, m, d, v in zip(account_ids, metrics, dates, values, strict=True)
        ]
        return usage_upsert(org=org, records=records, accounts_resolved=accounts_resolved)
    if not n:
        return UpsertResult()
    org_id = _org_id(org)
    with transaction.atomic():
        created, updated = upsert_counted(
            table=am.UsageMetric._meta.db_table,
            columns=["organization_id", "account_id", "metric", "date", "value"],
            rows=copy_text([[org_id] * n, account_ids, metrics, dates, values]),
            conflict=["organization_id", "metric", "account_id", "date"],
            update=["value"],
            changed=USAGE_CHANGED,
            copy_first=True,
        )
    return UpsertResult(created=created, updated=updated, unchanged=n - created - updated)


# `_same` for floats, in SQL: a value is replaced unless equal within a relative 1e-9.
USAGE_CHANGED = (
    "NOT (t.value = EXCLUDED.value OR abs(t.value - EXCLUDED.value) "
    "<= 1e-9 * greatest(abs(t.value), abs(EXCLUDED.value)))"
)


def tickets_upsert(*, org, records: Sequence[dict]) -> UpsertResult:
    return _records_upsert(model=am.Ticket, org=org, records=records, key=["external_id"])


def invoices_upsert(*, org, records: Sequence[dict]) -> UpsertResult:
    return _records_upsert(model=am.Invoice, org=org, records=records, key=["external_id"])


def surveys_upsert(*, org, records: Sequence[dict]) -> UpsertResult:
    return _records_upsert(model=am.SurveyResponse, org=org, records=records, key=["external_id"])


def interactions_upsert(*, org, records: Sequence[dict]) -> UpsertResult:
    return _records_upsert(model=am.Interaction, org=org, records=records, key=["external_id"])


# -- personal data ---------------------------------------------------------------------------


def contact_erase_personal_data(*, contact: am.Contact) -> am.Contact:
    """A data subject's erasure request (LGPD art. 18): the contact's name, email, phone and
    title are replaced, consent is marked withdrawn, and the comments of their survey answers
    and the notes of interactions with them are blanked; the scores and dates (no longer
    about a person) stay, so history still adds up. The caller records who asked."""
    now = timezone.now()
    with transaction.atomic():
        contact.name = _("Erased contact")
        contact.email = ""
        contact.phone = ""
        contact.title = ""
        contact.consent_withdrawn_at = contact.consent_withdrawn_at or now
        contact.save(
            update_fields=["name", "email", "phone", "title", "consent_withdrawn_at", "updated_at"]
        )
        am.SurveyResponse.all_objects.filter(
            organization_id=contact.organization_id, contact_id=contact.pk
        ).update(comment="", updated_at=now)
        am.Interaction.all_objects.filter(
            organization_id=contact.organization_id, contact_id=contact.pk
        ).update(notes="", updated_at=now)
    logger.info("contact erased org=%s contact=%s", contact.organization_id, contact.pk)
    return contact


UPSERTS = {
    "accounts": accounts_upsert,
    "contacts": contacts_upsert,
    "products": products_upsert,
    "subscriptions": subscriptions_upsert,
    "usage": usage_upsert,
    "tickets": tickets_upsert,
    "invoices": invoices_upsert,
    "surveys": surveys_upsert,
    "interactions": interactions_upsert,
}
