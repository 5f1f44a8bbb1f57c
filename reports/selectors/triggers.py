"""Reads of the trigger performance report: per trigger and version, what its firings in the
period became (alerts, playbooks, outcomes, MRR), the days from firing to outcome, the month
by month series and the reasons alerts were dismissed.

Firings are counted by the day they fired; a playbook is counted with the firings that made
or joined it (a second trigger's firing that joined an open playbook counts it too, so the
totals count each playbook once, from the playbooks themselves)."""

from __future__ import annotations

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate, TruncMonth

from playbooks.models import Playbook
from triggers.models import Alert, Firing, Trigger

from ..filters import ReportFilters
from .scope import accounts_q

# The outcome each kind of trigger is for (reports.metrics.SUCCESS_OUTCOME), as a condition
# on a firing's playbook.
SUCCESS_Q = (
    Q(trigger__kind="expansion", playbook__outcome="won")
    | Q(trigger__kind__in=["retention", "renewal"], playbook__outcome="retained")
    | Q(trigger__kind="onboarding", playbook__outcome="activated")
    | Q(trigger__kind="custom", playbook__outcome="done")
)
DONE = Q(playbook__status="completed")
OUTCOMES = (
    "won",
    "lost",
    "no_opportunity",
    "retained",
    "churned",
    "risk_not_confirmed",
    "activated",
    "not_activated",
    "done",
)


def firings_in_period(f: ReportFilters) -> QuerySet[Firing]:
    """The firings the report counts: fired in the period, on the filtered accounts, of
    triggers of the kind and for the product the filters name."""
    qs = Firing.objects.filter(fired_on__gte=f.date_from, fired_on__lte=f.date_to).filter(
        accounts_q(f, "account__")
    )
    if f.kind:
        qs = qs.filter(trigger__kind=f.kind)
    if f.product_id is not None:
        qs = qs.filter(trigger__product_id=f.product_id)
    return qs


def triggers_listed(f: ReportFilters) -> list[dict]:
    """The triggers the report lists, with or without firings: the active ones of the kind
    and product filtered, and any other that fired in the period."""
    qs = Trigger.objects.all()
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.product_id is not None:
        qs = qs.filter(product_id=f.product_id)
    fired = firings_in_period(f).values("trigger_id")
    return list(
        qs.filter(Q(is_active=True) | Q(pk__in=fired))
        .values("id", "name", "kind", "version", "is_active", "product__name", "persona__name")
        .order_by("kind", "name", "id")
    )


def _counts() -> dict:
    playbook = lambda q=None: Count("playbook", distinct=True, filter=q)  # noqa: E731
    out = {
        "firings": Count("pk"),
        "alerts": Count("alert"),
        "confirmed": Count("alert", filter=Q(alert__status="confirmed")),
        "dismissed": Count("alert", filter=Q(alert__status="dismissed")),
        "pending": Count("alert", filter=Q(alert__status="pending")),
        "playbooks": playbook(),
        "open": playbook(Q(playbook__status="open")),
        "completed": playbook(DONE),
        "on_time": playbook(DONE & Q(playbook__closed_at__date__lte=F("playbook__due_on"))),
        "opportunities": playbook(Q(playbook__outcome__in=["won", "lost"])),
        "successes": playbook(SUCCESS_Q),
        "mrr_won": Sum("playbook__mrr_won", filter=Q(playbook__outcome="won")),
        "pipeline": Sum("playbook__expected_mrr", filter=Q(playbook__status="open")),
        "pipeline_open": playbook(Q(playbook__status="open", trigger__kind="expansion")),
    }
    for outcome in OUTCOMES:
        out[outcome] = playbook(Q(playbook__outcome=outcome))
    return out


def trigger_counts(f: ReportFilters) -> list[dict]:
    """Per trigger and version: firings, alerts by decision, playbooks by status and
    outcome, MRR won and the open pipeline. One aggregate query."""
    return list(
        firings_in_period(f)
        .values("trigger_id", "trigger_version")
        .annotate(**_counts())
        .order_by("trigger_id", "trigger_version")
    )


def totals(f: ReportFilters) -> dict:
    """The same counts over every trigger, each playbook once, and the money from the
    playbooks themselves (not summed per trigger)."""
    counts = firings_in_period(f).aggregate(**_counts())
    playbooks = Playbook.objects.filter(
        pk__in=firings_in_period(f).filter(playbook__isnull=False).values("playbook_id")
    ).aggregate(
        mrr_won=Sum("mrr_won", filter=Q(outcome="won")),
        pipeline=Sum("expected_mrr", filter=Q(status="open")),
    )
    return {**counts, **playbooks}


def days_to_outcome(f: ReportFilters) -> list[dict]:
    """How many days each closed playbook took from its firing to its outcome, counted per
    trigger, version and number of days (a histogram: the median is taken from it)."""
    days = ExpressionWrapper(
        TruncDate("playbook__closed_at") - F("fired_on"), output_field=DurationField()
    )
    return list(
        firings_in_period(f)
        .filter(DONE)
        .annotate(days=days)
        .values("trigger_id", "trigger_version", "days")
        .annotate(n=Count("pk"))
        .order_by()
    )


def monthly(f: ReportFilters) -> list[dict]:
    """Per month of firing: firings, playbooks, successes and MRR won."""
    return list(
        firings_in_period(f)
        .annotate(month=TruncMonth("fired_on"))
        .values("month")
        .annotate(
            firings=Count("pk"),
            playbooks=Count("playbook", distinct=True),
            successes=Count("playbook", distinct=True, filter=SUCCESS_Q),
            mrr_won=Sum("playbook__mrr_won", filter=Q(playbook__outcome="won")),
        )
        .order_by("month")
    )


# Alerts a churn closed carry "account churned on <date>: <reason>" as their reason
# (accounts.services.ChurnedAccount.text): counted apart, not as a CSM's reason each.
CHURN_CLOSED = r"^account churned on [0-9]{4}-[0-9]{2}-[0-9]{2}: "
CHURN_CLOSED_KEY = "__churned__"


def dismissed_alerts(f: ReportFilters):
    return Alert.objects.filter(status="dismissed", firing__in=firings_in_period(f).values("pk"))


def dismiss_reasons(f: ReportFilters) -> list[dict]:
    """The reasons CSMs gave for dismissing the period's alerts, most given first, and one
    row (`dismiss_reason` CHURN_CLOSED_KEY) for the alerts closed by the account's churn."""
    alerts = dismissed_alerts(f)
    rows = list(
        alerts.exclude(dismiss_reason__regex=CHURN_CLOSED)
        .values("dismiss_reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "dismiss_reason")
    )
    churned = alerts.filter(dismiss_reason__regex=CHURN_CLOSED).count()
    if churned:
        rows.append({"dismiss_reason": CHURN_CLOSED_KEY, "n": churned})
    return rows
