"""The trigger field catalogue: account fields (shared with persona rules) plus health, score
changes, every indicator's raw value and score, renewal and tenure, persona, overdue invoices
and usage aggregates; and the loader that builds the nightly evaluation frame with only the
columns the active triggers read, set-based (a handful of queries per organization)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db.models import Count, FloatField, Min, Q, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from accounts.models import Account, Invoice, Subscription, UsageMetric
from accounts.personas import ACCOUNT_FIELDS
from conditions import Comparison, ConditionError, Field, FieldType, parse
from health.measures import MEASURES
from health.models import HealthScore

USAGE_METRICS = ("logins", "active_users", "transactions", "transacted_volume")
USAGE_WINDOWS = (30, 90)


def _days_from_today(column: str, sign: int):
    """Q for a number of days counted from a date column: days_to_renewal is
    (renewal_date - today), tenure_days is (today - customer_since). Each comparison on the
    number becomes one on the date, so live counts need no date arithmetic in SQL."""

    def build(op: str, value) -> Q:
        today = timezone.localdate()

        def date_of(days):
            return today + dt.timedelta(days=sign * days)

        # a number of days N maps to the date today +/- N; for tenure (sign -1) the order flips
        flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<="} if sign < 0 else {}
        present = Q(**{f"{column}__isnull": False})
        if op == "is_empty":
            return ~present if value else present
        # Day counts are whole numbers: a fractional threshold becomes the whole one it means.
        if op in ("<", "<=") and value != math.floor(value):
            op, value = "<=", math.floor(value)
        elif op in (">", ">=") and value != math.ceil(value):
            op, value = ">=", math.ceil(value)
        elif op == "between":
            value = (math.ceil(value[0]), math.floor(value[1]))
            if value[0] > value[1]:
                return present & Q(pk__in=[])
        elif op in ("=", "!=") and value != math.floor(value):
            return present & (Q(pk__in=[]) if op == "=" else Q())
        elif op == "in":
            value = [v for v in value if v == math.floor(v)]
        if op == "=":
            return present & Q(**{column: date_of(value)})
        if op == "!=":
            return present & ~Q(**{column: date_of(value)})
        if op == "in":
            return present & Q(**{f"{column}__in": [date_of(v) for v in value]})
        if op == "between":
            low, high = sorted([date_of(value[0]), date_of(value[1])])
            return present & Q(**{f"{column}__gte": low, f"{column}__lte": high})
        lookup = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}[flip.get(op, op)]
        return present & Q(**{f"{column}__{lookup}": date_of(value)})

    return build


def _sentiment_q(op: str, value) -> Q:
    """CSM sentiment counts until it expires, as in the nightly frame."""
    today = timezone.localdate()
    live = Q(csm_sentiment__isnull=False) & (
        Q(csm_sentiment_expires_on__isnull=True) | Q(csm_sentiment_expires_on__gte=today)
    )
    if op == "is_empty":
        return ~live if value else live
    plain = Comparison(
        Field("csm_sentiment", FieldType.NUMBER, q_path="csm_sentiment"), op, value
    ).to_q()
    return live & plain


def _build_catalogue() -> dict[str, Field]:
    fields = dict(ACCOUNT_FIELDS)

    def add(name, ftype, label, q_path=None, choices=(), q_builder=None):
        fields[name] = Field(name, ftype, label, tuple(choices), q_path=q_path, q_builder=q_builder)

    add("health_score", FieldType.NUMBER, "Health score", "health_score")
    add(
        "health_colour",
        FieldType.CHOICE,
        "Health colour",
        "health_colour",
        ("red", "yellow", "green", "none"),
    )
    add("score_change_7d", FieldType.NUMBER, "Score change over 7 days", "health_change_7d")
    add("score_change_30d", FieldType.NUMBER, "Score change over 30 days", "health_change_30d")
    add("score_change_90d", FieldType.NUMBER, "Score change over 90 days")
    add("csm_sentiment", FieldType.NUMBER, "CSM sentiment (1-5)", q_builder=_sentiment_q)
    add("persona", FieldType.STRING, "Persona (slug)", "persona__slug")
    add(
        "days_to_renewal",
        FieldType.NUMBER,
        "Days to renewal",
        q_builder=_days_from_today("renewal_date", +1),
    )
    add(
        "tenure_days",
        FieldType.NUMBER,
        "Tenure in days",
        q_builder=_days_from_today("customer_since", -1),
    )
    add("overdue_invoice_max_days", FieldType.NUMBER, "Days the oldest unpaid invoice is overdue")
    add("overdue_invoice_count", FieldType.NUMBER, "Overdue invoices")
    for key, measure in MEASURES.items():
        add(f"indicator.{key}.raw", FieldType.NUMBER, f"{measure.label}: value ({measure.unit})")
        add(f"indicator.{key}.score", FieldType.NUMBER, f"{measure.label}: score 0-100")
    for metric in USAGE_METRICS:
        for window in USAGE_WINDOWS:
            add(
                f"usage.{metric}.sum_{window}d",
                FieldType.NUMBER,
                f"{metric.replace('_', ' ')}: total over {window} days",
            )
            add(
                f"usage.{metric}.active_days_{window}d",
                FieldType.NUMBER,
                f"{metric.replace('_', ' ')}: active days over {window} days",
            )
    return fields


TRIGGER_FIELDS: dict[str, Field] = _build_catalogue()


def validate_condition(tree) -> None:
    """A trigger condition must be a non-empty tree over the catalogue; errors name the
    field `condition` and the place in the tree."""
    if not tree:
        raise ValidationError({"condition": "the condition is empty"})
    try:
        parse(tree, TRIGGER_FIELDS)
    except ConditionError as exc:
        raise ValidationError({"condition": f"{exc.path}: {exc.message}"}) from exc


# -- the evaluation frame ---------------------------------------------------------------


def _date_col(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series)


def load_frame(
    *, day: dt.date, fields: set[str], first_id: int | None = None, last_id: int | None = None
) -> pd.DataFrame:
    """One row per account that is a customer on `day` (organization in context; optionally
    only ids in [first_id, last_id], a chunk), with the columns the given fields need.
    Set-based: one query per family of fields."""

    def scoped(qs, key="account_id"):
        if first_id is not None:
            qs = qs.filter(**{f"{key}__gte": first_id, f"{key}__lte": last_id})
        return qs

    base_cols = [
        "pk",
        "name",
        "owner_id",
        "persona_id",
        "tier",
        "touch_model",
        "lifecycle_stage",
        "size_band",
        "industry",
        "region",
        "acquisition_channel",
        "relationship_channel",
        "mrr",
        "customer_since",
        "renewal_date",
        "csm_sentiment",
        "csm_sentiment_expires_on",
    ]
    accounts = scoped(
        Account.objects.filter(Q(customer_since__isnull=True) | Q(customer_since__lte=day)).filter(
            Q(churned_at__isnull=True) | Q(churned_at__gt=day)
        ),
        key="pk",
    )
    frame = pd.DataFrame(list(accounts.values_list(*base_cols)), columns=base_cols)
    frame = frame.rename(columns={"pk": "account_id"}).set_index("account_id").sort_index()
    if frame.empty:
        return frame
    frame["mrr"] = frame["mrr"].astype("float64")
    ts_day = pd.Timestamp(day)

    if "persona" in fields:
        from accounts.models import Persona

        slugs = dict(Persona.objects.values_list("pk", "slug"))
        frame["persona"] = frame["persona_id"].map(slugs)
    if "products" in fields:
        held = (
            Subscription.objects.filter(start_date__lte=day)
            .filter(Q(end_date__isnull=True) | Q(end_date__gt=day))
            .values_list("account_id", "product__code")
        )
        held_df = pd.DataFrame(list(held), columns=["account_id", "code"])
        held_df = held_df.drop_duplicates().sort_values(["account_id", "code"])
        # "|a|b|" per account: a grouped sum concatenates the strings without a Python
        # function per account.
        joined = ("|" + held_df["code"]).groupby(held_df["account_id"]).sum() + "|"
        frame["products"] = joined.reindex(frame.index).fillna("")
    if "days_to_renewal" in fields:
        frame["days_to_renewal"] = (_date_col(frame["renewal_date"]) - ts_day).dt.days.astype(
            "float64"
        )
    if "tenure_days" in fields:
        frame["tenure_days"] = (ts_day - _date_col(frame["customer_since"])).dt.days.astype(
            "float64"
        )
    if "csm_sentiment" in fields:
        expires = _date_col(frame["csm_sentiment_expires_on"])
        value = pd.to_numeric(frame["csm_sentiment"], errors="coerce").astype("float64")
        frame["csm_sentiment"] = value.where(~(expires.notna() & (expires < ts_day)))

    health_fields = {f for f in fields if f.startswith(("health_", "score_change", "indicator."))}
    if health_fields:
        _add_health(frame, day, health_fields, scoped)
    if fields & {"overdue_invoice_max_days", "overdue_invoice_count"}:
        rows = (
            scoped(Invoice.objects.filter(issued_on__lte=day, due_on__lt=day))
            .filter(Q(paid_on__isnull=True) | Q(paid_on__gt=day))
            .values("account_id")
            .annotate(first_due=Min("due_on"), n=Count("id"))
            .values_list("account_id", "first_due", "n")
        )
        inv = pd.DataFrame(list(rows), columns=["account_id", "first_due", "n"]).set_index(
            "account_id"
        )
        inv = inv.reindex(frame.index)
        frame["overdue_invoice_max_days"] = (
            (ts_day - _date_col(inv["first_due"])).dt.days.astype("float64").fillna(0.0)
        )
        frame["overdue_invoice_count"] = inv["n"].astype("float64").fillna(0.0)
    usage_fields = sorted(f for f in fields if f.startswith("usage."))
    if usage_fields:
        _add_usage(frame, day, usage_fields, scoped)
    return frame


def _indicator_keys(measure: str) -> list[str]:
    """The breakdown keys under which the organization's models store a measure
    (measure[:window[:metric]]), so the value can be read in SQL without decoding JSON."""
    from health.models import Indicator
    from health.services import indicator_key

    default = MEASURES[measure]
    keys = {
        indicator_key(measure, default.default_window, default.default_metric or ""),
        *(
            indicator_key(m, w, x)
            for m, w, x in Indicator.objects.filter(measure=measure).values_list(
                "measure", "window_days", "metric"
            )
        ),
    }
    return sorted(keys)


def _add_health(frame: pd.DataFrame, day: dt.date, fields: set[str], scoped) -> None:
    wanted = sorted(f for f in fields if f.startswith("indicator."))
    extracted = {}
    for name in wanted:
        _, measure, part = name.split(".")
        position = "0" if part == "raw" else "1"
        keys = _indicator_keys(measure)
        # A missing value is JSON null: SQL NULL on PostgreSQL, the text 'null' on SQLite
        # (which would cast to 0), hence the NULLIF.
        values = [
            Cast(NullIf(KT(f"breakdown__{key}__{position}"), Value("null")), FloatField())
            for key in keys
        ]
        if values:
            extracted[name] = (
                Coalesce(*values, output_field=FloatField()) if len(values) > 1 else values[0]
            )
    columns = ["account_id", "score", "colour", *extracted]
    rows = (
        scoped(HealthScore.objects.filter(date=day))
        .annotate(**{f"x{i}": expr for i, expr in enumerate(extracted.values())})
        .values_list("account_id", "score", "colour", *[f"x{i}" for i in range(len(extracted))])
    )
    scores = pd.DataFrame(list(rows), columns=columns).set_index("account_id").reindex(frame.index)
    frame["health_score"] = scores["score"].astype("float64")
    frame["health_colour"] = scores["colour"].fillna("none")
    for lag in (7, 30, 90):
        name = f"score_change_{lag}d"
        if name not in fields:
            continue
        past = scoped(HealthScore.objects.filter(date=day - dt.timedelta(days=lag))).values_list(
            "account_id", "score"
        )
        prev = pd.Series(dict(past), dtype="float64").reindex(frame.index)
        frame[name] = frame["health_score"] - prev
    for name in wanted:
        frame[name] = (
            pd.to_numeric(scores[name], errors="coerce").astype("float64")
            if name in scores
            else np.nan
        )


def _add_usage(frame: pd.DataFrame, day: dt.date, fields: list[str], scoped) -> None:
    by_metric: dict[str, set[int]] = {}
    for name in fields:
        _, metric, agg = name.split(".")
        by_metric.setdefault(metric, set()).add(int(agg.rsplit("_", 1)[1].rstrip("d")))
    for metric, windows in by_metric.items():
        longest = max(windows)
        annotations = {}
        for w in windows:
            first = day - dt.timedelta(days=w - 1)
            annotations[f"sum_{w}d"] = Sum("value", filter=Q(date__gte=first))
            annotations[f"active_days_{w}d"] = Count("id", filter=Q(date__gte=first, value__gt=0))
        rows = (
            scoped(
                UsageMetric.objects.filter(
                    metric=metric, date__gte=day - dt.timedelta(days=longest - 1), date__lte=day
                )
            )
            .values("account_id")
            .annotate(**annotations)
        )
        agg = pd.DataFrame(list(rows))
        agg = agg.set_index("account_id") if not agg.empty else pd.DataFrame(index=frame.index)
        agg = agg.reindex(frame.index)
        for col in annotations:
            name = f"usage.{metric}.{col}"
            if name in fields:
                frame[name] = agg[col].astype("float64").fillna(0.0) if col in agg else 0.0
