"""The trigger field catalogue: account fields (shared with persona rules) plus health, score
changes, every indicator's raw value and score, renewal and tenure, persona, overdue invoices
and usage aggregates; and the loader that builds the nightly evaluation frame with only the
columns the active triggers read, set-based (a handful of queries per organization)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db.models import Count, F, FloatField, Max, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    Account,
    Invoice,
    LifecycleChange,
    LifecycleStage,
    Subscription,
    SurveyResponse,
    UsageMetric,
)
from accounts.personas import ACCOUNT_FIELDS
from accounts.selectors import customer_on
from conditions import Comparison, ConditionError, Field, FieldType, Phrase, parse
from csplatform.db.frames import values_frame
from health import selectors as health_selectors
from health.measures import MEASURES, unit_label
from health.models import HealthScore

USAGE_METRICS = ("logins", "active_users", "transactions", "transacted_volume")
USAGE_WINDOWS = (30, 90)
USAGE_METRIC_LABELS = {
    "logins": _("Logins"),
    "active_users": _("Active users"),
    "transactions": _("Transactions"),
    "transacted_volume": _("Transacted volume"),
}


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


# How evidence reads an indicator's raw value (conditions.phrases): the measure's default
# window is the one named; a measure added to the catalogue needs its phrase here.
INDICATOR_PHRASES: dict[str, Phrase] = {
    "usage_frequency": Phrase(_("Active on %(value)s of the last %(window)s days")),
    "usage_trend": Phrase(
        _("Usage rose %(value)s%% over %(window)s days"),
        down=_("Usage fell %(value)s%% over %(window)s days"),
    ),
    "volume_trend": Phrase(
        _("Transacted volume rose %(value)s%% over %(window)s days"),
        down=_("Transacted volume fell %(value)s%% over %(window)s days"),
    ),
    "tenure": Phrase(
        ngettext_lazy("A customer for %(value)s month", "A customer for %(value)s months", "count")
    ),
    "renewals": Phrase(ngettext_lazy("Renewed %(value)s time", "Renewed %(value)s times", "count")),
    "nps_latest": Phrase(_("The latest NPS answer is %(value)s")),
    "csat_avg": Phrase(_("Average CSAT is %(value)s over the last %(window)s days")),
    "tickets_over_sla": Phrase(
        ngettext_lazy(
            "%(value)s ticket over SLA in the last %(window)s days",
            "%(value)s tickets over SLA in the last %(window)s days",
            "count",
        )
    ),
    "overdue_invoices": Phrase(
        ngettext_lazy("%(value)s overdue invoice", "%(value)s overdue invoices", "count")
    ),
    "overdue_amount": Phrase(_("Overdue invoices add up to %(value)s")),
    "discount_level": Phrase(_("The average discount is %(value)s%%")),
    "days_since_interaction": Phrase(
        ngettext_lazy("Last contact %(value)s day ago", "Last contact %(value)s days ago", "count")
    ),
    "product_adoption": Phrase(_("Uses %(value)s%% of the products held")),
    "csm_sentiment": Phrase(_("The CSM's sentiment is %(value)s of 5")),
}

_NO_SCORE = _("No health score")


def _score_change(days: int) -> Phrase:
    return Phrase(
        ngettext_lazy(
            "The health score rose %(value)s point in %(days)s days",
            "The health score rose %(value)s points in %(days)s days",
            "count",
        ),
        down=ngettext_lazy(
            "The health score fell %(value)s point in %(days)s days",
            "The health score fell %(value)s points in %(days)s days",
            "count",
        ),
        args=(("days", days),),
        missing=_("No health score %(days)s days before to compare with"),
    )


class ComposedLabel(str):
    """A field label made of translatable parts ("Tenure: value (months)"): the text is the
    English one (what a label is everywhere it is stored or compared), `translated()` is the
    same label in the active language."""

    def __new__(cls, template: str, **parts):
        with translation.override("en"):
            english = template % {k: str(v) for k, v in parts.items()}
        label = super().__new__(cls, english)
        label.template, label.parts = template, parts
        return label

    def translated(self) -> str:
        return gettext(self.template) % {k: str(v) for k, v in self.parts.items()}


class _UnitLabel:
    """A unit read in the active language when the label is (str() at that moment)."""

    def __init__(self, unit: str):
        self.unit = unit

    def __str__(self) -> str:
        return unit_label(self.unit)


def _build_catalogue() -> dict[str, Field]:
    fields = dict(ACCOUNT_FIELDS)

    def add(name, ftype, label, q_path=None, choices=(), q_builder=None, phrase=None):
        fields[name] = Field(
            name, ftype, label, tuple(choices), q_path=q_path, q_builder=q_builder, phrase=phrase
        )

    add(
        "health_score",
        FieldType.NUMBER,
        gettext_noop("Health score"),
        "health_score",
        phrase=Phrase(_("The health score is %(value)s"), missing=_NO_SCORE),
    )
    add(
        "health_colour",
        FieldType.CHOICE,
        gettext_noop("Health colour"),
        "health_colour",
        ("red", "yellow", "green", "none"),
        phrase=Phrase(_("Health is %(value)s (%(health_score)s)"), missing=_NO_SCORE),
    )
    add(
        "score_change_7d",
        FieldType.NUMBER,
        gettext_noop("Score change over 7 days"),
        "health_change_7d",
        phrase=_score_change(7),
    )
    add(
        "score_change_30d",
        FieldType.NUMBER,
        gettext_noop("Score change over 30 days"),
        "health_change_30d",
        phrase=_score_change(30),
    )
    add(
        "score_change_90d",
        FieldType.NUMBER,
        gettext_noop("Score change over 90 days"),
        phrase=_score_change(90),
    )
    add(
        "csm_sentiment",
        FieldType.NUMBER,
        gettext_noop("CSM sentiment (1-5)"),
        q_builder=_sentiment_q,
        phrase=Phrase(INDICATOR_PHRASES["csm_sentiment"].text, missing=_("No CSM sentiment")),
    )
    add(
        "persona",
        FieldType.STRING,
        gettext_noop("Persona (slug)"),
        "persona__slug",
        phrase=Phrase(_("The persona is %(value)s"), missing=_("No persona")),
    )
    add(
        "days_to_renewal",
        FieldType.NUMBER,
        gettext_noop("Days to renewal"),
        q_builder=_days_from_today("renewal_date", +1),
        phrase=Phrase(
            ngettext_lazy("Renews in %(value)s day", "Renews in %(value)s days", "count"),
            down=ngettext_lazy(
                "The renewal date passed %(value)s day ago",
                "The renewal date passed %(value)s days ago",
                "count",
            ),
            missing=_("No renewal date"),
        ),
    )
    add(
        "tenure_days",
        FieldType.NUMBER,
        gettext_noop("Tenure in days"),
        q_builder=_days_from_today("customer_since", -1),
        phrase=Phrase(
            ngettext_lazy("A customer for %(value)s day", "A customer for %(value)s days", "count"),
            missing=_("No customer-since date"),
        ),
    )
    add(
        "overdue_invoice_max_days",
        FieldType.NUMBER,
        gettext_noop("Days the oldest unpaid invoice is overdue"),
        phrase=Phrase(
            ngettext_lazy(
                "The oldest unpaid invoice is %(value)s day overdue",
                "The oldest unpaid invoice is %(value)s days overdue",
                "count",
            ),
            missing=_("No unpaid invoice overdue"),
        ),
    )
    add(
        "overdue_invoice_count",
        FieldType.NUMBER,
        gettext_noop("Overdue invoices"),
        phrase=INDICATOR_PHRASES["overdue_invoices"],
    )
    # What an expansion or referral trigger asks of surveys: "a promoter in the last N days"
    # is days_since_promoter_answer <= N.
    add(
        "days_since_promoter_answer",
        FieldType.NUMBER,
        gettext_noop("Days since the latest promoter answer (NPS 9-10)"),
        phrase=Phrase(
            ngettext_lazy(
                "A contact answered NPS 9 or 10 %(value)s day ago",
                "A contact answered NPS 9 or 10 %(value)s days ago",
                "count",
            ),
            missing=_("No promoter answer"),
        ),
    )
    # The journey (lifecycle/ moves the stages and sets activated_on before the triggers
    # run): "entered renewal" and "not activated at day 45" are ordinary conditions.
    add(
        "days_since_first_subscription",
        FieldType.NUMBER,
        gettext_noop("Days since the first subscription"),
        phrase=Phrase(
            ngettext_lazy(
                "First subscribed %(value)s day ago", "First subscribed %(value)s days ago", "count"
            ),
            missing=_("No subscription yet"),
        ),
    )
    add(
        "activated",
        FieldType.BOOL,
        gettext_noop("Activated"),
        phrase=Phrase(_("Activated"), down=_("Not activated yet")),
    )
    add(
        "stage_entered_today",
        FieldType.CHOICE,
        gettext_noop("Lifecycle stage entered today"),
        choices=(*LifecycleStage.values, "none"),
        phrase=Phrase(_("Entered the %(value)s stage today"), missing=_("No stage change today")),
    )
    add(
        "days_in_stage",
        FieldType.NUMBER,
        gettext_noop("Days in the lifecycle stage"),
        phrase=Phrase(
            ngettext_lazy(
                "In this stage for %(value)s day", "In this stage for %(value)s days", "count"
            ),
            missing=_("No stage change recorded"),
        ),
    )
    add(
        "products_used_30d",
        FieldType.NUMBER,
        gettext_noop("Products used over 30 days"),
        phrase=Phrase(_("Used %(value)s products over the last 30 days")),
    )
    for key, measure in MEASURES.items():
        window = (("window", measure.default_window),) if measure.default_window else ()
        no_data = _("No data for %(measure)s")
        raw = INDICATOR_PHRASES.get(key)
        add(
            f"indicator.{key}.raw",
            FieldType.NUMBER,
            ComposedLabel(
                gettext_noop("%(measure)s: value (%(unit)s)"),
                measure=measure.label,
                unit=_UnitLabel(measure.unit),
            ),
            phrase=raw
            and Phrase(
                raw.text,
                down=raw.down,
                args=(*window, ("measure", measure.label)),
                missing=no_data,
            ),
        )
        add(
            f"indicator.{key}.score",
            FieldType.NUMBER,
            ComposedLabel(gettext_noop("%(measure)s: score 0-100"), measure=measure.label),
            phrase=Phrase(
                _("%(measure)s scores %(value)s of 100"),
                args=(("measure", measure.label),),
                missing=no_data,
            ),
        )
    for metric in USAGE_METRICS:
        name = metric.replace("_", " ")
        for window in USAGE_WINDOWS:
            args = (("metric", name.capitalize()), ("window", window))
            add(
                f"usage.{metric}.sum_{window}d",
                FieldType.NUMBER,
                ComposedLabel(
                    gettext_noop("%(metric)s: total over %(window)s days"),
                    metric=USAGE_METRIC_LABELS[metric],
                    window=window,
                ),
                phrase=Phrase(
                    _("%(metric)s added up to %(value)s over the last %(window)s days"),
                    args=args,
                    missing=_("%(metric)s: no data"),
                ),
            )
            add(
                f"usage.{metric}.active_days_{window}d",
                FieldType.NUMBER,
                ComposedLabel(
                    gettext_noop("%(metric)s: active days over %(window)s days"),
                    metric=USAGE_METRIC_LABELS[metric],
                    window=window,
                ),
                phrase=Phrase(
                    _("%(metric)s recorded on %(value)s of the last %(window)s days"),
                    args=args,
                    missing=_("%(metric)s: no data"),
                ),
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


# The account columns load_frame can carry, and the fields that read each: a column is
# loaded only when a field asked for reads it (the base query of a one-field condition is
# about half as wide). `persona_id` is always there: trigger_scope reads it.
FRAME_ACCOUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "owner_id": ("owner_id",),
    "tier": ("tier",),
    "touch_model": ("touch_model",),
    "lifecycle_stage": ("lifecycle_stage",),
    "size_band": ("size_band",),
    "industry": ("industry",),
    "region": ("region",),
    "acquisition_channel": ("acquisition_channel",),
    "relationship_channel": ("relationship_channel",),
    "mrr": ("mrr",),
    "customer_since": ("customer_since", "tenure_days"),
    "renewal_date": ("renewal_date", "days_to_renewal"),
    "csm_sentiment": ("csm_sentiment",),
    "csm_sentiment_expires_on": ("csm_sentiment",),
    "activated_on": ("activated",),
}

# The journey's fields (lifecycle/), read from subscriptions and the stage changes.
LIFECYCLE_FIELDS = frozenset(
    {"days_since_first_subscription", "stage_entered_today", "days_in_stage", "products_used_30d"}
)


OVERDUE_FIELDS = frozenset({"overdue_invoice_max_days", "overdue_invoice_count"})


def _scoper(first_id: int | None, last_id: int | None, persona_id: int | None):
    """The frame's restriction of a family's queryset: a chunk of account ids, a persona."""

    def scoped(qs, key="account_id"):
        if first_id is not None:
            qs = qs.filter(**{f"{key}__gte": first_id, f"{key}__lte": last_id})
        if persona_id is not None:
            path = "persona_id" if key == "pk" else "account__persona_id"
            qs = qs.filter(**{path: persona_id})
        return qs

    return scoped


def _held(scoped, when: Q):
    """(account_id, product code) of the subscriptions matching `when`."""
    return (
        scoped(Subscription.objects.filter(when))
        .order_by()
        .values_list("account_id", "product__code")
    )


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series) if len(series) else series.astype("datetime64[ns]")


@dataclass
class FrameReadAhead:
    """What load_frame reads for several days at once (the backtest's replayed days), read
    once: the account rows of every account that is a customer on one of the days (their
    columns are the account's today on every day, as load_frame's), with what
    accounts.selectors.customer_on reads; where the fields ask for them, the subscriptions
    and the unpaid invoices that one of the days can see. load_frame(day=d, read_ahead=...)
    filters them for `d` with the same rules as its queries
    (tests/triggers/test_frame_read_ahead.py: the frames are equal)."""

    days: frozenset
    fields: frozenset
    persona_id: int | None
    accounts: pd.DataFrame  # by account_id, sorted, the base columns as load_frame reads them
    rule: pd.DataFrame  # by the same ids: customer_since, churned_at (datetime64), in_churned_stage
    subscriptions: pd.DataFrame | None = None  # account_id, code, start_date, end_date
    invoices: pd.DataFrame | None = None  # account_id, issued_on, due_on, paid_on

    def check(self, *, day: dt.date, fields: set[str], persona_id: int | None, chunked: bool):
        if chunked or persona_id != self.persona_id or day not in self.days:
            raise ValueError("read_ahead: read for other days, another persona or the whole org")
        if not set(fields) <= self.fields:
            raise ValueError(f"read_ahead: read without {sorted(set(fields) - self.fields)}")

    def accounts_on(self, day: dt.date, columns: list[str]) -> pd.DataFrame:
        """The base frame of `day`: accounts.selectors.customer_on in pandas (signed by then
        or without a date; churned after it, or neither churned nor in the churned stage)."""
        on = self.rule
        when = pd.Timestamp(day)
        signed = on["customer_since"].isna() | (on["customer_since"] <= when)
        alive = (on["churned_at"] > when) | (on["churned_at"].isna() & ~on["in_churned_stage"])
        return self.accounts.loc[(signed & alive).to_numpy(), columns]

    def held_on(self, day: dt.date) -> pd.DataFrame:
        s, when = self.subscriptions, pd.Timestamp(day)
        live = (s["start_date"] <= when) & (s["end_date"].isna() | (s["end_date"] > when))
        return s.loc[live.to_numpy(), ["account_id", "code"]]

    def overdue_on(self, day: dt.date) -> pd.DataFrame:
        """(first_due, n) by account_id of the invoices issued by `day`, due before it and
        unpaid on it, as load_frame's aggregate."""
        i, when = self.invoices, pd.Timestamp(day)
        due = (i["issued_on"] <= when) & (i["due_on"] < when)
        due &= i["paid_on"].isna() | (i["paid_on"] > when)
        grouped = i.loc[due.to_numpy()].groupby("account_id")["due_on"]
        return pd.DataFrame({"first_due": grouped.min(), "n": grouped.size()})


def frames_read_ahead(
    *, days: list[dt.date], fields: set[str], persona_id: int | None = None
) -> FrameReadAhead:
    """One read per family for load_frame on each of `days` with these fields (organization
    in context, optionally one persona's accounts): the accounts that are customers on any
    of the days, the subscriptions live on one of them and the invoices overdue on one of
    them (issued by the last day, paid after the first day due + 1, or unpaid)."""
    scoped = _scoper(None, None, persona_id)
    first, last = min(days), max(days)
    base_cols = [
        "pk",
        "persona_id",
        *(col for col, readers in FRAME_ACCOUNT_COLUMNS.items() if fields.intersection(readers)),
    ]
    rule_cols = ["customer_since", "churned_at", "lifecycle_stage"]
    extra = [c for c in rule_cols if c not in base_cols]
    any_day = Q()
    for day in days:
        any_day |= customer_on(day)
    accounts_qs = scoped(Account.objects.filter(any_day), key="pk").order_by()
    rows = values_frame(accounts_qs.values_list(*base_cols, *extra), [*base_cols, *extra])
    rows = rows.rename(columns={"pk": "account_id"}).set_index("account_id").sort_index()
    rule = pd.DataFrame(
        {
            "customer_since": _dates(rows["customer_since"]),
            "churned_at": _dates(rows["churned_at"]),
            "in_churned_stage": (rows["lifecycle_stage"] == LifecycleStage.CHURNED).to_numpy(),
        },
        index=rows.index,
    )
    ahead = FrameReadAhead(
        days=frozenset(days),
        fields=frozenset(fields),
        persona_id=persona_id,
        accounts=rows.drop(columns=extra),
        rule=rule,
    )
    if "products" in fields:
        held = _held(
            scoped, Q(start_date__lte=last) & (Q(end_date__isnull=True) | Q(end_date__gt=first))
        )
        subs = values_frame(
            held.values_list("account_id", "product__code", "start_date", "end_date"),
            ["account_id", "code", "start_date", "end_date"],
        )
        for col in ("start_date", "end_date"):
            subs[col] = _dates(subs[col])
        ahead.subscriptions = subs
    if fields & OVERDUE_FIELDS:
        unpaid = (
            scoped(Invoice.objects.filter(issued_on__lte=last, due_on__lt=last))
            .filter(
                Q(paid_on__isnull=True)
                | (Q(paid_on__gt=first) & Q(paid_on__gt=F("due_on") + dt.timedelta(days=1)))
            )
            .order_by()
            .values_list("account_id", "issued_on", "due_on", "paid_on")
        )
        inv = values_frame(unpaid, ["account_id", "issued_on", "due_on", "paid_on"])
        for col in ("issued_on", "due_on", "paid_on"):
            inv[col] = _dates(inv[col])
        ahead.invoices = inv
    return ahead


def load_frame(
    *,
    day: dt.date,
    fields: set[str],
    first_id: int | None = None,
    last_id: int | None = None,
    persona_id: int | None = None,
    read_ahead: FrameReadAhead | None = None,
) -> pd.DataFrame:
    """One row per account that is a customer on `day` (accounts.selectors.customer_on: none
    churned on or before it; organization in context; optionally
    only ids in [first_id, last_id], a chunk, and only accounts of `persona_id`, a trigger's
    scope read in SQL), with the columns the given fields need (account columns such as
    `name` or `owner_id` may be asked for by name). Set-based: one query per family of
    fields. A frame restricted to a persona has the same rows, with the same values, as the
    whole frame's rows of that persona: the night, the dry run and the backtest agree.

    With `read_ahead` (frames_read_ahead, for several days at once: the backtest) the
    accounts, subscriptions and unpaid invoices come from it, filtered for `day` in pandas,
    instead of a query each; the frame is the same."""
    if read_ahead is not None:
        read_ahead.check(
            day=day, fields=fields, persona_id=persona_id, chunked=first_id is not None
        )

    scoped = _scoper(first_id, last_id, persona_id)
    base_cols = [
        "pk",
        "persona_id",
        *(col for col, readers in FRAME_ACCOUNT_COLUMNS.items() if fields.intersection(readers)),
    ]
    # No ORDER BY in the frame's queries (the frame is sorted by account id here; the model's
    # default order by name made PostgreSQL walk the name index), rows read by values_frame.
    if read_ahead is not None:
        frame = read_ahead.accounts_on(day, [c for c in base_cols if c != "pk"])
    else:
        accounts = scoped(Account.objects.filter(customer_on(day)), key="pk").order_by()
        frame = values_frame(accounts.values_list(*base_cols), base_cols)
        frame = frame.rename(columns={"pk": "account_id"}).set_index("account_id").sort_index()
    if frame.empty:
        return frame
    if "mrr" in frame:
        frame["mrr"] = frame["mrr"].astype("float64")
    ts_day = pd.Timestamp(day)

    if "persona" in fields:
        from accounts.models import Persona

        slugs = dict(Persona.objects.values_list("pk", "slug"))
        frame["persona"] = frame["persona_id"].map(slugs)
    if "products" in fields:
        if read_ahead is not None:
            held_df = read_ahead.held_on(day)
        else:
            held = _held(
                scoped, Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))
            )
            held_df = values_frame(held, ["account_id", "code"])
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
    if fields & OVERDUE_FIELDS:
        if read_ahead is not None:
            inv = read_ahead.overdue_on(day)
        else:
            rows = (
                scoped(Invoice.objects.filter(issued_on__lte=day, due_on__lt=day))
                .filter(Q(paid_on__isnull=True) | Q(paid_on__gt=day))
                .values("account_id")
                .annotate(first_due=Min("due_on"), n=Count("id"))
                .values_list("account_id", "first_due", "n")
            )
            inv = values_frame(rows, ["account_id", "first_due", "n"]).set_index("account_id")
        inv = inv.reindex(frame.index)
        frame["overdue_invoice_max_days"] = (
            (ts_day - _date_col(inv["first_due"])).dt.days.astype("float64").fillna(0.0)
        )
        frame["overdue_invoice_count"] = inv["n"].astype("float64").fillna(0.0)
    if "days_since_promoter_answer" in fields:
        rows = (
            scoped(
                SurveyResponse.objects.filter(
                    kind="nps", score__gte=9, answered_at__lt=_day_after_start(day)
                )
            )
            .values("account_id")
            .annotate(last=Max("answered_at"))
            .values_list("account_id", "last")
        )
        last = pd.DataFrame(list(rows), columns=["account_id", "last"]).set_index("account_id")
        local = pd.to_datetime(last["last"], utc=True).dt.tz_convert(
            timezone.get_current_timezone()
        )
        days = (ts_day - local.dt.tz_localize(None).dt.normalize()).dt.days.astype("float64")
        frame["days_since_promoter_answer"] = days.reindex(frame.index)
    usage_fields = sorted(f for f in fields if f.startswith("usage."))
    if usage_fields:
        _add_usage(frame, day, usage_fields, scoped)
    if "activated" in fields:
        activated_on = _date_col(frame["activated_on"])
        frame["activated"] = activated_on.notna() & (activated_on <= ts_day)
    if fields & LIFECYCLE_FIELDS:
        _add_lifecycle(frame, day, fields, scoped)
    return frame


def _day_after_start(day: dt.date) -> dt.datetime:
    """The first instant after `day` in the current (the organization's) time zone."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def _add_lifecycle(frame: pd.DataFrame, day: dt.date, fields: set[str], scoped) -> None:
    """Days since the first subscription started, the stage entered on `day` ("none"), days
    since the last stage change (missing before the first), products used over 30 days
    (distinct "product:<code>" usage metrics above 0): one aggregate query each."""
    ts_day = pd.Timestamp(day)
    if "days_since_first_subscription" in fields:
        rows = (
            scoped(Subscription.objects.filter(start_date__lte=day))
            .values("account_id")
            .annotate(first=Min("start_date"))
            .values_list("account_id", "first")
        )
        first = pd.Series(dict(rows), dtype="object").reindex(frame.index)
        frame["days_since_first_subscription"] = (ts_day - _date_col(first)).dt.days.astype(
            "float64"
        )
    if fields & {"stage_entered_today", "days_in_stage"}:
        changes = scoped(LifecycleChange.objects.filter(changed_on__lte=day))
        if "stage_entered_today" in fields:
            today_rows = changes.filter(changed_on=day).order_by("account_id", "id")
            entered = pd.DataFrame(
                list(today_rows.values_list("account_id", "to_stage")),
                columns=["account_id", "to_stage"],
            ).drop_duplicates("account_id", keep="last")
            frame["stage_entered_today"] = (
                entered.set_index("account_id")["to_stage"].reindex(frame.index).fillna("none")
            )
        if "days_in_stage" in fields:
            last = dict(
                changes.values("account_id")
                .annotate(last=Max("changed_on"))
                .values_list("account_id", "last")
            )
            since = pd.Series(last, dtype="object").reindex(frame.index)
            frame["days_in_stage"] = (ts_day - _date_col(since)).dt.days.astype("float64")
    if "products_used_30d" in fields:
        rows = (
            scoped(
                UsageMetric.objects.filter(
                    metric__startswith="product:",
                    value__gt=0,
                    date__gte=day - dt.timedelta(days=29),
                    date__lte=day,
                )
            )
            .values("account_id")
            .annotate(n=Count("metric", distinct=True))
            .values_list("account_id", "n")
        )
        used = pd.Series(dict(rows), dtype="float64").reindex(frame.index)
        frame["products_used_30d"] = used.fillna(0.0)


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
    layouts = health_selectors.score_layouts() if wanted else []
    for name in wanted:
        _, measure, part = name.split(".")
        keys = _indicator_keys(measure)
        values = [
            health_selectors.indicator_value(key, "raw" if part == "raw" else "score", layouts)
            for key in keys
        ]
        if values:
            extracted[name] = (
                Coalesce(*values, output_field=FloatField()) if len(values) > 1 else values[0]
            )
    columns = ["account_id", "score", "colour", *extracted]
    rows = (
        scoped(HealthScore.objects.filter(date=day))
        .order_by()
        .annotate(**{f"x{i}": expr for i, expr in enumerate(extracted.values())})
        .values_list("account_id", "score", "colour", *[f"x{i}" for i in range(len(extracted))])
    )
    scores = values_frame(rows, columns).set_index("account_id").reindex(frame.index)
    frame["health_score"] = scores["score"].astype("float64")
    frame["health_colour"] = scores["colour"].fillna("none")
    for lag in (7, 30, 90):
        name = f"score_change_{lag}d"
        if name not in fields:
            continue
        past = (
            scoped(HealthScore.objects.filter(date=day - dt.timedelta(days=lag)))
            .order_by()
            .values_list("account_id", "score")
        )
        past_df = values_frame(past, ["account_id", "score"])
        prev = pd.Series(
            past_df["score"].to_numpy(dtype="float64"), index=past_df["account_id"]
        ).reindex(frame.index)
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
            # counted on `date`, in the usage index: read from the index alone (health.usage)
            annotations[f"active_days_{w}d"] = Count("date", filter=Q(date__gte=first, value__gt=0))
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
