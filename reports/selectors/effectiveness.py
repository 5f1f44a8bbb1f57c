"""Reads of playbook effectiveness: the playbooks closed in the period per template, trigger
or CSM, their outcomes, how long they took, and how their accounts' health moved 30 and 90
days after closing against the comparison group (reports.models.PlaybookEffect)."""

from __future__ import annotations

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from playbooks.models import Playbook
from triggers.models import Firing

from ..filters import ReportFilters
from .scope import accounts_q, instant_range

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
GROUPS = ("template", "trigger", "csm")


def closed_playbooks(f: ReportFilters) -> QuerySet[Playbook]:
    """Playbooks closed with an outcome in the period, on the filtered accounts, of the
    kind filtered (and, with a product, whose opportunity was for it)."""
    start, end = instant_range(f.date_from, f.date_to)
    qs = Playbook.objects.filter(
        status="completed", closed_at__gte=start, closed_at__lt=end
    ).filter(accounts_q(f, "account__"))
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.product_id is not None:
        qs = qs.filter(opportunity_product_id=f.product_id)
    return qs


def _aggregates(prefix: str) -> dict:
    """Counts and health sums over playbooks, `prefix` leading from the row to the playbook."""
    p = prefix
    n = lambda q=None: Count(f"{p}pk" if p else "pk", distinct=bool(p), filter=q)  # noqa: E731
    out = {"closed": n()}
    for outcome in OUTCOMES:
        out[outcome] = n(Q(**{f"{p}outcome": outcome}))
    for horizon in (30, 90):
        known = Q(
            **{
                f"{p}effect__score_at_close__isnull": False,
                f"{p}effect__score_{horizon}__isnull": False,
                f"{p}effect__baseline_{horizon}__isnull": False,
            }
        )
        out[f"n_{horizon}"] = n(known)
        out[f"change_{horizon}"] = Sum(
            F(f"{p}effect__score_{horizon}") - F(f"{p}effect__score_at_close"), filter=known
        )
        out[f"baseline_{horizon}"] = Sum(f"{p}effect__baseline_{horizon}", filter=known)
    return out


def _days(prefix: str) -> ExpressionWrapper:
    return ExpressionWrapper(
        TruncDate(f"{prefix}closed_at") - F(f"{prefix}opened_on"), output_field=DurationField()
    )


def by_group(f: ReportFilters, *, group: str) -> list[dict]:
    """Per template, or per CSM (the account's owner): closed playbooks, outcomes, and the
    sums behind the health changes. `grp` is the template or owner id."""
    key = {"template": "template_id", "csm": "account__owner_id"}[group]
    return [
        {**r, "grp": r[key]}
        for r in closed_playbooks(f).values(key).annotate(**_aggregates("")).order_by()
    ]


def by_trigger(f: ReportFilters) -> list[dict]:
    """Per trigger: the closed playbooks its firings made or joined (`grp` the trigger id);
    and a row with `grp` None for the playbooks no trigger made (started by hand)."""
    closed = closed_playbooks(f)
    from_firings = Firing.objects.filter(playbook__in=closed.values("pk"))
    rows = [
        {**r, "grp": r["trigger_id"]}
        for r in from_firings.values("trigger_id").annotate(**_aggregates("playbook__")).order_by()
    ]
    by_hand = closed.exclude(
        pk__in=Firing.objects.filter(playbook__isnull=False).values("playbook_id")
    ).aggregate(**_aggregates(""))
    if by_hand["closed"]:
        rows.append({**by_hand, "grp": None})
    return rows


def days_to_close(f: ReportFilters, *, group: str) -> list[dict]:
    """Days from opening to closing, counted per group and number of days (a histogram)."""
    if group == "trigger":
        qs = Firing.objects.filter(playbook__in=closed_playbooks(f).values("pk"))
        rows = (
            qs.annotate(days=_days("playbook__"))
            .values("trigger_id", "days")
            .annotate(n=Count("playbook", distinct=True))
            .order_by()
        )
        return [{**r, "grp": r["trigger_id"]} for r in rows]
    key = {"template": "template_id", "csm": "account__owner_id"}[group]
    rows = (
        closed_playbooks(f)
        .annotate(days=_days(""))
        .values(key, "days")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [{**r, "grp": r[key]} for r in rows]


def totals(f: ReportFilters) -> dict:
    return closed_playbooks(f).aggregate(**_aggregates(""))


def totals_days(f: ReportFilters) -> list[dict]:
    return list(
        closed_playbooks(f)
        .annotate(days=_days(""))
        .values("days")
        .annotate(n=Count("pk"))
        .order_by()
    )
