"""Reads of the customer portfolio: the portfolio list and the account record, with their
query shapes (select_related, prefetches, column lists) written once for views and APIs."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .models import (
    Account,
    Contact,
    Interaction,
    Invoice,
    LifecycleStage,
    Subscription,
    SurveyKind,
    SurveyResponse,
    Ticket,
    UsageMetric,
)

# -- Who is a customer -------------------------------------------------------------------


def churned_q() -> Q:
    """Accounts that churned: with a churn date, or in the churned stage without one."""
    return Q(churned_at__isnull=False) | Q(lifecycle_stage=LifecycleStage.CHURNED)


def customer_on(day: dt.date) -> Q:
    """Accounts that are customers on `day`: signed by then and not churned on or before it
    (one in the churned stage without a date counts as churned every day). The one rule by
    which health scoring and trigger evaluation leave churned accounts alone; their history
    before the churn date stays."""
    signed = Q(customer_since__isnull=True) | Q(customer_since__lte=day)
    alive = Q(churned_at__gt=day) | (
        Q(churned_at__isnull=True) & ~Q(lifecycle_stage=LifecycleStage.CHURNED)
    )
    return signed & alive


# -- Portfolio list -----------------------------------------------------------------------

# The whitelist of sorts the portfolio offers: key -> (label, order_by). Every ordering ends
# with the primary key so pages are stable when values tie.
PORTFOLIO_SORTS: dict[str, tuple[Any, tuple]] = {
    "name": (_("Name (A-Z)"), (F("name").asc(), "pk")),
    "-name": (_("Name (Z-A)"), (F("name").desc(), "-pk")),
    "-mrr": (_("MRR (highest first)"), (F("mrr").desc(), "pk")),
    "mrr": (_("MRR (lowest first)"), (F("mrr").asc(), "pk")),
    "renewal_date": (_("Renewal (soonest first)"), (F("renewal_date").asc(nulls_last=True), "pk")),
    "-renewal_date": (_("Renewal (latest first)"), (F("renewal_date").desc(nulls_last=True), "pk")),
    "customer_since": (
        _("Customer since (oldest first)"),
        (F("customer_since").asc(nulls_last=True), "pk"),
    ),
    "-customer_since": (
        _("Customer since (newest first)"),
        (F("customer_since").desc(nulls_last=True), "pk"),
    ),
    "health_score": (_("Health (lowest first)"), (F("health_score").asc(nulls_last=True), "pk")),
    "-health_score": (_("Health (highest first)"), (F("health_score").desc(nulls_last=True), "pk")),
    "health_change_30d": (
        _("Health change, 30 days (biggest drop first)"),
        (F("health_change_30d").asc(nulls_last=True), "pk"),
    ),
}
PORTFOLIO_DEFAULT_SORT = "name"
PORTFOLIO_PAGE_SIZE = 50

# What one portfolio row shows; nothing else is read.
_PORTFOLIO_COLUMNS = (
    "id",
    "name",
    "external_id",
    "tier",
    "touch_model",
    "lifecycle_stage",
    "mrr",
    "renewal_date",
    "customer_since",
    "owner__id",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "persona__id",
    "persona__name",
    "health_score",
    "health_colour",
    "health_change_30d",
    "churned_at",
)

# Health change filters: a fall or rise of at least this many points over 30 days.
HEALTH_CHANGE_STEP = 10


@dataclass(frozen=True)
class PortfolioFilters:
    """What the portfolio is filtered and sorted by, already validated (see
    accounts.forms.PortfolioFilterForm, which resolves "me" and renewal windows)."""

    q: str = ""
    persona_id: int | None = None
    tier: str = ""
    touch_model: str = ""
    owner_id: int | None = None
    unassigned: bool = False
    lifecycle_stage: str = ""
    renewal_from: dt.date | None = None
    renewal_to: dt.date | None = None
    include_churned: bool = False
    health_colour: str = ""
    health_change: str = ""  # "falling" or "rising" over 30 days
    sort: str = PORTFOLIO_DEFAULT_SORT


def portfolio_list(*, filters: PortfolioFilters) -> QuerySet[Account]:
    """The current organization's accounts matching `filters`, in the chosen order."""
    qs = Account.objects.select_related("owner", "persona").only(*_PORTFOLIO_COLUMNS)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(external_id__icontains=filters.q))
    if filters.persona_id is not None:
        qs = qs.filter(persona_id=filters.persona_id)
    if filters.tier:
        qs = qs.filter(tier=filters.tier)
    if filters.touch_model:
        qs = qs.filter(touch_model=filters.touch_model)
    if filters.unassigned:
        qs = qs.filter(owner__isnull=True)
    elif filters.owner_id is not None:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.lifecycle_stage:
        qs = qs.filter(lifecycle_stage=filters.lifecycle_stage)
    elif not filters.include_churned:
        qs = qs.exclude(lifecycle_stage=LifecycleStage.CHURNED)
    if filters.renewal_from is not None:
        qs = qs.filter(renewal_date__gte=filters.renewal_from)
    if filters.renewal_to is not None:
        qs = qs.filter(renewal_date__lte=filters.renewal_to)
    if filters.health_colour == "none":
        qs = qs.filter(Q(health_colour="") | Q(health_colour="none"))
    elif filters.health_colour:
        qs = qs.filter(health_colour=filters.health_colour)
    if filters.health_change == "falling":
        qs = qs.filter(health_change_30d__lte=-HEALTH_CHANGE_STEP)
    elif filters.health_change == "rising":
        qs = qs.filter(health_change_30d__gte=HEALTH_CHANGE_STEP)
    _label, order_by = PORTFOLIO_SORTS.get(filters.sort, PORTFOLIO_SORTS[PORTFOLIO_DEFAULT_SORT])
    return qs.order_by(*order_by)


# -- The account record -------------------------------------------------------------------

ACCOUNT_TICKETS_SHOWN = 20
ACCOUNT_INVOICES_SHOWN = 12
ACCOUNT_INTERACTIONS_SHOWN = 20
ACCOUNT_SURVEYS_SHOWN = 10
USAGE_SUMMARY_DAYS = 30
USAGE_DAILY_DAYS = 14


def account_contacts_qs() -> QuerySet[Contact]:
    return Contact.objects.order_by("name", "pk")


def account_subscriptions_qs() -> QuerySet[Subscription]:
    return Subscription.objects.select_related("product").order_by("-status", "product__name", "pk")


def account_tickets_qs() -> QuerySet[Ticket]:
    return Ticket.objects.order_by("-opened_at", "-pk")


def account_invoices_qs() -> QuerySet[Invoice]:
    return Invoice.objects.order_by("-due_on", "-pk")


def account_surveys_qs() -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.select_related("contact").order_by("-answered_at", "-pk")


def account_interactions_qs() -> QuerySet[Interaction]:
    return Interaction.objects.select_related("author", "contact").order_by("-occurred_at", "-pk")


def account_get(*, pk: int) -> Account:
    """One account of the current organization with what its header shows.
    Raises Account.DoesNotExist for an unknown id or another organization's account."""
    return Account.objects.select_related("owner", "persona", "churn_reason").get(pk=pk)


def account_detail(*, pk: int) -> Account:
    """One account of the current organization with its record prefetched in a fixed number
    of queries: contacts, subscriptions (with products) and the latest tickets, invoices,
    survey answers and interactions, as lists on `contact_list`, `subscription_list`,
    `recent_tickets`, `recent_invoices`, `recent_surveys`, `recent_interactions`, and the
    latest NPS and CSAT answers as one-item lists on `latest_nps` and `latest_csat`.
    Raises Account.DoesNotExist for an unknown id or another organization's account."""
    return (
        Account.objects.select_related("owner", "persona", "churn_reason")
        .prefetch_related(
            Prefetch("contacts", account_contacts_qs(), to_attr="contact_list"),
            Prefetch("subscriptions", account_subscriptions_qs(), to_attr="subscription_list"),
            Prefetch(
                "tickets",
                account_tickets_qs()[:ACCOUNT_TICKETS_SHOWN],
                to_attr="recent_tickets",
            ),
            Prefetch(
                "invoices",
                account_invoices_qs()[:ACCOUNT_INVOICES_SHOWN],
                to_attr="recent_invoices",
            ),
            Prefetch(
                "survey_responses",
                account_surveys_qs()[:ACCOUNT_SURVEYS_SHOWN],
                to_attr="recent_surveys",
            ),
            # The latest answer of each kind, which may be older than the recent ones.
            Prefetch(
                "survey_responses",
                account_surveys_qs().filter(kind=SurveyKind.NPS)[:1],
                to_attr="latest_nps",
            ),
            Prefetch(
                "survey_responses",
                account_surveys_qs().filter(kind=SurveyKind.CSAT)[:1],
                to_attr="latest_csat",
            ),
            Prefetch(
                "interactions",
                account_interactions_qs()[:ACCOUNT_INTERACTIONS_SHOWN],
                to_attr="recent_interactions",
            ),
        )
        .get(pk=pk)
    )


@dataclass
class InvoiceRow:
    """An invoice with its payment standing on a given day."""

    invoice: Invoice
    days_overdue: int
    status: str  # "paid", "paid late", "overdue", "open"

    @property
    def is_late(self) -> bool:
        return self.status in ("paid late", "overdue")


def invoice_rows(*, invoices: list[Invoice], today: dt.date) -> list[InvoiceRow]:
    rows = []
    for inv in invoices:
        days = inv.days_overdue(today)
        if inv.paid_on is not None:
            status = "paid late" if days else "paid"
        else:
            status = "overdue" if days else "open"
        rows.append(InvoiceRow(invoice=inv, days_overdue=days, status=status))
    return rows


@dataclass
class LatestSurveys:
    nps: SurveyResponse | None
    csat: SurveyResponse | None


def account_latest_surveys(*, account: Account) -> LatestSurveys:
    """The latest NPS and the latest CSAT answer (prefetched by account_detail)."""
    nps = getattr(account, "latest_nps", None)
    csat = getattr(account, "latest_csat", None)
    if nps is None and csat is None:  # not prefetched: two small queries
        nps = account_surveys_qs().filter(account=account, kind=SurveyKind.NPS)[:1]
        csat = account_surveys_qs().filter(account=account, kind=SurveyKind.CSAT)[:1]
    return LatestSurveys(nps=next(iter(nps), None), csat=next(iter(csat), None))


@dataclass
class MetricUsage:
    metric: str
    total: float = 0.0
    active_days: int = 0
    last_value_on: dt.date | None = None
    daily: list[float | None] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.metric.replace("_", " ").capitalize()


@dataclass
class AccountUsage:
    """Usage over the last 30 days per metric (totals, active days) and the last 14 days
    day by day (None where no value was recorded)."""

    days: list[dt.date]
    metrics: list[MetricUsage]

    @property
    def is_empty(self) -> bool:
        return not self.metrics


def account_usage(*, account: Account, today: dt.date) -> AccountUsage:
    """One query: the account's usage rows of the last 30 days, folded per metric."""
    start = today - dt.timedelta(days=USAGE_SUMMARY_DAYS - 1)
    days = [today - dt.timedelta(days=i) for i in range(USAGE_DAILY_DAYS - 1, -1, -1)]
    day_index = {d: i for i, d in enumerate(days)}
    per_metric: dict[str, MetricUsage] = {}
    values: dict[str, dict[int, float]] = defaultdict(dict)
    rows = (
        UsageMetric.objects.filter(account=account, date__gte=start, date__lte=today)
        .order_by("metric", "date")
        .values_list("metric", "date", "value")
    )
    for metric, date, value in rows:
        usage = per_metric.setdefault(metric, MetricUsage(metric=metric))
        usage.total += value
        if value > 0:
            usage.active_days += 1
            usage.last_value_on = date
        if date in day_index:
            values[metric][day_index[date]] = value
    for metric, usage in per_metric.items():
        usage.daily = [values[metric].get(i) for i in range(len(days))]
    return AccountUsage(days=days, metrics=sorted(per_metric.values(), key=lambda m: m.metric))
