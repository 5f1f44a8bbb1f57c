"""The measure catalogue: each measure computes one raw value for every account of a chunk at
once, with one SQL aggregate, as of a day. Adding a measure is one function and `@measure`.

A measure returns a float Series indexed by account id; NaN means "no data" (the indicator is
then left out of the score and its weight redistributed). Day boundaries are the organization's
local midnight.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.db.models import Avg, Count, F, Max, Q, QuerySet, Sum
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    Account,
    Interaction,
    Invoice,
    Subscription,
    SurveyResponse,
    Ticket,
    subscription_held_on,
)
from accounts.selectors import customer_on
from csplatform.db.frames import values_frame
from orgs import formatting

from .usage import DenseUsage, SqlUsage

# The baseline that usage trend compares the recent window against: the 6 months before it.
USAGE_TREND_BASELINE_DAYS = 180
# A baseline shorter than this (a young account) makes the trend "no data" rather than noise.
MIN_BASELINE_DAYS = 30


@dataclass
class MeasureContext:
    """What a measure needs: the day, and the accounts of the chunk (a frame indexed by id with
    customer_since, csm_sentiment, csm_sentiment_expires_on)."""

    day: dt.date
    accounts: pd.DataFrame
    tz: str = "UTC"
    dense: DenseUsage | None = None  # a backfill's preloaded usage; None: SQL per window

    @cached_property
    def usage(self):
        """The chunk's usage reader, one per context: what prefetch read ahead is kept there."""
        if self.dense is not None:
            return self.dense.view(self.ids)
        return SqlUsage(self.ids, self.id_range)

    @property
    def ids(self) -> pd.Index:
        return self.accounts.index

    @property
    def id_range(self) -> tuple[int, int]:
        return int(self.ids.min()), int(self.ids.max())

    def day_end(self, day: dt.date | None = None) -> dt.datetime:
        """The first instant after `day` (default: the scored day), in the org's time zone."""
        d = (day or self.day) + dt.timedelta(days=1)
        return dt.datetime.combine(d, dt.time.min, tzinfo=ZoneInfo(self.tz))

    @cached_property
    def customer_since(self) -> pd.Series:
        """The accounts' customer_since as datetimes (NaT for none), converted once for the
        measures that count days from it."""
        return pd.to_datetime(self.accounts["customer_since"])

    @cached_property
    def subscriptions(self) -> pd.DataFrame:
        """The chunk's subscriptions started by the day, in one query for the subscription
        measures (renewals, discount level, product adoption), one row per account and
        product: the highest renewals count of all of them, and of those held on the day
        (accounts.models.subscription_held_on) how many, the sum of discount x MRR and the
        sum of MRR (numeric sums, Decimals: added up per account they stay exact)."""
        held = subscription_held_on(self.day)
        rows = (
            self.scoped(Subscription.objects.filter(start_date__lte=self.day))
            .order_by()
            .values("account_id", "product__code")
            .annotate(
                renewals=Max("renewals_count"),
                held=Count("pk", filter=held),
                weighted=Sum(F("discount_pct") * F("mrr"), filter=held),
                mrr=Sum("mrr", filter=held),
            )
            .values_list("account_id", "product__code", "renewals", "held", "weighted", "mrr")
        )
        return values_frame(rows, ["account_id", "code", "renewals", "held", "weighted", "mrr"])

    @cached_property
    def overdue(self) -> pd.DataFrame:
        """Per account of the chunk with overdue invoices (_overdue), in one query for both
        invoice measures: how many (n) and the amount net of discounts (amount, a Decimal)."""
        rows = (
            _overdue(self)
            .order_by()
            .values("account_id")
            .annotate(n=Count("*"), amount=Sum(F("amount") - F("discount_amount")))
            .values_list("account_id", "n", "amount")
        )
        return values_frame(rows, ["account_id", "n", "amount"])

    def scoped(self, qs):
        lo, hi = self.id_range
        return qs.filter(account_id__gte=lo, account_id__lte=hi)

    def series(self, rows, fill: float | None = None) -> pd.Series:
        """(account_id, value) rows (a values_list queryset, read by values_frame, or a list)
        -> float Series over the chunk's accounts; an account with several rows keeps its last
        (nps_latest orders them by time)."""
        columns = ["account_id", "value"]
        if isinstance(rows, QuerySet):
            frame = values_frame(rows, columns)
        else:
            frame = pd.DataFrame(list(rows), columns=columns)
        frame = frame.drop_duplicates("account_id", keep="last")
        values = frame["value"].to_numpy(dtype="float64")
        out = pd.Series(values, index=pd.Index(frame["account_id"]), dtype="float64")
        out = out.reindex(self.ids)
        if fill is not None:
            out = out.fillna(fill)
        return out.astype("float64")


class _LocalizedFormatter(string.Formatter):
    """str.format whose number fields ({value:+.0f}) are written in the locale in force."""

    def format_field(self, value, format_spec):
        if isinstance(value, int | float | np.number) and not isinstance(value, bool):
            return formatting.format_with_spec(value, format_spec)
        return super().format_field(value, format_spec)


_LOCALIZED = _LocalizedFormatter()


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    unit: str
    fn: Callable[..., pd.Series]
    # A sentence describing a raw value, e.g. "{value:+.0f}% vs the previous {window} days";
    # a (singular, plural) pair where a count reads differently for 1.
    phrase: str | tuple[str, str]
    default_window: int | None = None
    default_metric: str | None = None
    # (day, window) -> (spans, active): the usage windows the measure reads, for prefetch
    usage: Callable[[dt.date, int], tuple[dict, bool]] | None = None

    @property
    def windowed(self) -> bool:
        return self.default_window is not None

    @property
    def takes_metric(self) -> bool:
        return self.default_metric is not None

    def compute(self, ctx: MeasureContext, window: int | None, metric: str) -> pd.Series:
        kwargs = {}
        if self.windowed:
            kwargs["window"] = window or self.default_window
        if self.takes_metric:
            kwargs["metric"] = metric or self.default_metric
        return self.fn(ctx, **kwargs)

    def usage_days(self, window: int | None) -> int | None:
        """How many days of daily usage the measure reads back from its day, counting the day
        (the usage trend's window and the 180 days before it); None: it reads no usage."""
        if self.usage is None:
            return None
        day = dt.date(2000, 1, 1)
        spans, _active = self.usage(day, window or self.default_window)
        return (day - min(first for first, _last in spans.values())).days + 1

    def usage_read(self, day: dt.date, window: int | None, metric: str):
        """(metric, spans, active): the usage read compute() will ask for, or None."""
        if self.usage is None:
            return None
        spans, active = self.usage(day, window or self.default_window)
        return metric or self.default_metric, spans, active

    def describe(self, value: float | None, window: int | None = None, metric: str = "") -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return gettext("%(label)s: no data") % {"label": self.label}
        phrase = self.phrase
        if isinstance(phrase, tuple):
            phrase = phrase[0] if round(value) == 1 else phrase[1]
        # the phrase is a lazy translation: in the reader's language, then filled in
        # the numbers in the organization's format ("12,5%" in pt-BR): read now, not stored
        return _LOCALIZED.format(
            str(phrase),
            value=value,
            window=window or self.default_window,
            metric=metric_label(metric or self.default_metric or ""),
            baseline=USAGE_TREND_BASELINE_DAYS,
        )


MEASURES: dict[str, Measure] = {}

# A measure's unit as a reader sees it (the unit itself is a key: "days", "%", "money"...).
UNIT_LABELS = {
    "days": _("days"),
    "months": _("months"),
    "count": _("count"),
    "money": _("money"),
}


def unit_label(unit: str) -> str:
    """The unit in the active language ("%", "0-10" and "1-5" read the same in every one)."""
    return str(UNIT_LABELS.get(unit, unit))


def measure_label(key: str) -> str:
    """A measure as a reader names it ("Usage frequency"), not its key; an unknown key as is."""
    found = MEASURES.get(key)
    return str(found.label) if found is not None else key


# The usage metrics the demo and the catalogue know, as a sentence names them in the reader's
# language; an organization's own metric reads as its key in words.
METRIC_WORDS = {
    "logins": _("logins"),
    "active_users": _("active users"),
    "transactions": _("transactions"),
    "transacted_volume": _("transacted volume"),
    "active_days": _("active days"),
}


def metric_label(metric: str) -> str:
    """A usage metric as a reader names it ("transacted volume", "volume transacionado")."""
    found = METRIC_WORDS.get(metric or "")
    return str(found) if found is not None else (metric or "").replace("_", " ")


def measure(key, label, unit, phrase, default_window=None, default_metric=None, usage=None):
    def register(fn):
        MEASURES[key] = Measure(key, label, unit, fn, phrase, default_window, default_metric, usage)
        return fn

    return register


def _covered_days(ctx: MeasureContext, first: dt.date, last: dt.date) -> pd.Series:
    """How many days of [first, last] each account was a customer (young accounts have a
    shorter history; counting days before they signed as zero usage would mislead)."""
    # On the datetime64 array: a pandas ufunc on a datetime Series costs 60 ms a chunk.
    since = ctx.customer_since.to_numpy(dtype="datetime64[ns]")
    first_ns, last_ns = np.datetime64(first, "ns"), np.datetime64(last, "ns")
    start = np.maximum(np.where(np.isnat(since), first_ns, since), first_ns)
    days = (last_ns - start) // np.timedelta64(1, "D") + 1
    return pd.Series(days.clip(min=0).astype("float64"), index=ctx.ids)


def _frequency_spans(day: dt.date, window: int) -> tuple[dict, bool]:
    return {"days": (day - dt.timedelta(days=window - 1), day)}, True


@measure(
    "usage_frequency",
    _("Usage frequency"),
    "days",
    _("active {value:.0f} of the last {window} days ({metric})"),
    default_window=30,
    default_metric="logins",
    usage=_frequency_spans,
)
def usage_frequency(ctx: MeasureContext, window: int, metric: str) -> pd.Series:
    spans, active = _frequency_spans(ctx.day, window)
    return ctx.usage.windows(metric, spans, active=active)["days"]


def _trend_spans(day: dt.date, window: int) -> tuple[dict, bool]:
    recent_first = day - dt.timedelta(days=window - 1)
    base_last = recent_first - dt.timedelta(days=1)
    base_first = base_last - dt.timedelta(days=USAGE_TREND_BASELINE_DAYS - 1)
    return {"recent": (recent_first, day), "base": (base_first, base_last)}, False


@measure(
    "usage_trend",
    _("Usage trend"),
    "%",
    # xgettext:no-python-format
    _("{metric} {value:+.0f}% in the last {window} days vs the {baseline} days before"),
    default_window=30,
    default_metric="logins",
    usage=_trend_spans,
)
def usage_trend(ctx: MeasureContext, window: int, metric: str) -> pd.Series:
    """Average daily usage of the last `window` days vs the 6 months before, in percent."""
    spans, _active = _trend_spans(ctx.day, window)
    (recent_first, _), (base_first, base_last) = spans["recent"], spans["base"]
    frame = ctx.usage.windows(metric, spans)
    base_days = _covered_days(ctx, base_first, base_last)
    recent_days = _covered_days(ctx, recent_first, ctx.day)
    base_rate = frame["base"] / base_days.where(base_days >= MIN_BASELINE_DAYS)
    recent_rate = frame["recent"] / recent_days.where(recent_days > 0)
    trend = (recent_rate / base_rate.where(base_rate > 0) - 1.0) * 100.0
    return trend.astype("float64")


def _volume_spans(day: dt.date, window: int) -> tuple[dict, bool]:
    recent_first = day - dt.timedelta(days=window - 1)
    prev_last = recent_first - dt.timedelta(days=1)
    prev_first = prev_last - dt.timedelta(days=window - 1)
    return {"recent": (recent_first, day), "prev": (prev_first, prev_last)}, False


@measure(
    "volume_trend",
    _("Transacted-volume trend"),
    "%",
    # xgettext:no-python-format
    _("{metric} {value:+.0f}% in the last {window} days vs the {window} days before"),
    default_window=90,
    default_metric="transacted_volume",
    usage=_volume_spans,
)
def volume_trend(ctx: MeasureContext, window: int, metric: str) -> pd.Series:
    """Volume of the last `window` days vs the `window` days before (90+90 = 6 months)."""
    spans, _active = _volume_spans(ctx.day, window)
    prev_first, prev_last = spans["prev"]
    frame = ctx.usage.windows(metric, spans)
    covered = _covered_days(ctx, prev_first, prev_last)
    prev = frame["prev"].where((covered >= window) & (frame["prev"] > 0))
    return ((frame["recent"] / prev - 1.0) * 100.0).astype("float64")


@measure(
    "tenure",
    _("Tenure"),
    "months",
    (_("customer for {value:.0f} month"), _("customer for {value:.0f} months")),
)
def tenure(ctx: MeasureContext) -> pd.Series:
    days = (pd.Timestamp(ctx.day) - ctx.customer_since).dt.days
    return (days / 30.4375).clip(lower=0).astype("float64")


@measure(
    "renewals",
    _("Renewals"),
    "count",
    (_("renewed {value:.0f} time"), _("renewed {value:.0f} times")),
)
def renewals(ctx: MeasureContext) -> pd.Series:
    """The highest renewals count of the subscriptions started by the day."""
    subs = ctx.subscriptions
    top = subs.groupby("account_id")["renewals"].max()
    return ctx.series(zip(top.index, top, strict=True), fill=0)


@measure(
    "nps_latest",
    _("Latest NPS"),
    "0-10",
    _("latest NPS answer {value:.0f} (last {window} days)"),
    default_window=365,
)
def nps_latest(ctx: MeasureContext, window: int) -> pd.Series:
    end = ctx.day_end()
    start = end - dt.timedelta(days=window)
    rows = (
        ctx.scoped(
            SurveyResponse.objects.filter(kind="nps", answered_at__gte=start, answered_at__lt=end)
        )
        .order_by("account_id", "answered_at", "pk")
        .values_list("account_id", "score")
    )
    # Ordered by time, so the dict keeps each account's latest answer.
    return ctx.series(rows)


@measure(
    "csat_avg",
    _("Average CSAT"),
    "1-5",
    _("average CSAT {value:.1f} over the last {window} days"),
    default_window=90,
)
def csat_avg(ctx: MeasureContext, window: int) -> pd.Series:
    end = ctx.day_end()
    rows = (
        ctx.scoped(
            SurveyResponse.objects.filter(
                kind="csat", answered_at__gte=end - dt.timedelta(days=window), answered_at__lt=end
            )
        )
        .values("account_id")
        .annotate(v=Avg("score"))
        .values_list("account_id", "v")
    )
    return ctx.series(rows)


@measure(
    "tickets_over_sla",
    _("Tickets over SLA"),
    "count",
    _("{value:.0f} tickets over SLA in the last {window} days"),
    default_window=90,
)
def tickets_over_sla(ctx: MeasureContext, window: int) -> pd.Series:
    """Tickets opened in the window whose SLA had passed by the day without them being closed
    in time (as of that day, so a backfill does not see the future)."""
    end = ctx.day_end()
    rows = (
        ctx.scoped(
            Ticket.objects.filter(
                opened_at__gte=end - dt.timedelta(days=window),
                opened_at__lt=end,
                sla_due_at__lt=end,
            ).filter(Q(closed_at__isnull=True) | Q(closed_at__gt=F("sla_due_at")))
        )
        .values("account_id")
        .annotate(n=Count("*"))
        .values_list("account_id", "n")
    )
    return ctx.series(rows, fill=0)


def _overdue(ctx: MeasureContext):
    """Invoices issued by the day, due before it, and not paid by it."""
    return ctx.scoped(
        Invoice.objects.filter(issued_on__lte=ctx.day, due_on__lt=ctx.day).filter(
            Q(paid_on__isnull=True) | Q(paid_on__gt=ctx.day)
        )
    )


@measure("overdue_invoices", _("Overdue invoices"), "count", _("overdue invoices: {value:.0f}"))
def overdue_invoices(ctx: MeasureContext) -> pd.Series:
    overdue = ctx.overdue
    return ctx.series(zip(overdue["account_id"], overdue["n"], strict=True), fill=0)


@measure("overdue_amount", _("Overdue amount"), "money", _("{value:,.2f} overdue"))
def overdue_amount(ctx: MeasureContext) -> pd.Series:
    overdue = ctx.overdue
    return ctx.series(zip(overdue["account_id"], overdue["amount"], strict=True), fill=0)


def _held(ctx: MeasureContext) -> pd.DataFrame:
    """ctx.subscriptions' rows of products held on the day."""
    subs = ctx.subscriptions
    return subs[subs["held"].astype("int64") > 0]


@measure("discount_level", _("Discount level"), "%", _("average discount {value:.0f}%"))
def discount_level(ctx: MeasureContext) -> pd.Series:
    """MRR-weighted average discount of the subscriptions active on the day."""
    frame = _held(ctx).groupby("account_id")[["weighted", "mrr"]].sum()
    frame = frame.astype("float64").reindex(ctx.ids)
    return (frame["weighted"] / frame["mrr"].where(frame["mrr"] > 0)).astype("float64")


@measure(
    "days_since_interaction",
    _("Days since last interaction"),
    "days",
    _("last contact {value:.0f} days ago"),
)
def days_since_interaction(ctx: MeasureContext) -> pd.Series:
    """Days since the last logged contact; an account never contacted counts from the day it
    became a customer (untouched all along)."""
    end = ctx.day_end()
    rows = (
        ctx.scoped(Interaction.objects.filter(occurred_at__lt=end))
        .values("account_id")
        .annotate(last=Max("occurred_at"))
        .values_list("account_id", "last")
    )
    last = pd.Series(dict(rows), dtype="object").reindex(ctx.ids)
    last_dates = pd.to_datetime(last, utc=True).dt.tz_convert(ctx.tz).dt.tz_localize(None)
    last_dates = last_dates.dt.normalize()
    reference = last_dates.fillna(ctx.customer_since)
    return (pd.Timestamp(ctx.day) - reference).dt.days.clip(lower=0).astype("float64")


@measure(
    "product_adoption",
    _("Product adoption"),
    "%",
    _("uses {value:.0f}% of the products held (last {window} days)"),
    default_window=30,
)
def product_adoption(ctx: MeasureContext, window: int) -> pd.Series:
    """Products used in the window (usage metric "product:<code>" > 0) / products held."""
    held_df = _held(ctx)[["account_id", "code"]].drop_duplicates()
    if held_df.empty:
        return ctx.series([])
    first = ctx.day - dt.timedelta(days=window - 1)
    used_df = ctx.usage.products_used(first, ctx.day, codes=held_df["code"].unique()).copy()
    used_df["used"] = 1.0
    merged = held_df.merge(
        used_df[["account_id", "code", "used"]], on=["account_id", "code"], how="left"
    )
    merged["used"] = merged["used"].fillna(0.0)
    share = merged.groupby("account_id")["used"].mean() * 100.0
    return share.reindex(ctx.ids).astype("float64")


@measure("csm_sentiment", _("CSM sentiment"), "1-5", _("CSM sentiment {value:.0f} of 5"))
def csm_sentiment(ctx: MeasureContext) -> pd.Series:
    """The CSM's own judgement, while it has not expired."""
    value = pd.to_numeric(ctx.accounts["csm_sentiment"], errors="coerce").astype("float64")
    expires = pd.to_datetime(ctx.accounts["csm_sentiment_expires_on"])
    expired = expires.notna() & (expires < pd.Timestamp(ctx.day))
    return value.where(~expired).astype("float64")


def load_accounts(*, first_id: int, last_id: int, day: dt.date) -> pd.DataFrame:
    """The chunk's accounts that were customers on `day` (signed by then, not churned on or
    before it: accounts.selectors.customer_on)."""
    columns = [
        "persona_id",
        "customer_since",
        "csm_sentiment",
        "csm_sentiment_expires_on",
        "health_scored_on",
    ]
    # No ORDER BY (the frame is sorted by id here; the accounts' default order is by name).
    rows = (
        Account.objects.filter(pk__gte=first_id, pk__lte=last_id)
        .filter(customer_on(day))
        .order_by()
        .values_list("pk", *columns)
    )
    frame = values_frame(rows, ["account_id", *columns])
    return frame.set_index("account_id").sort_index()
