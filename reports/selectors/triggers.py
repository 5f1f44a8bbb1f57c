"""Reads of the trigger performance report: per trigger and version, what its firings in the
period became (alerts, playbooks, outcomes, MRR), the days from firing to outcome, the month
by month series and the reasons alerts were dismissed.

Firings are counted by the day they fired; a playbook is counted with the firings that made
or joined it (a second trigger's firing that joined an open playbook counts it too, so the
totals count each playbook once, from the playbooks themselves).

Unless the filters name a persona or a CSM (today's, which facts of past days cannot know),
each read sums the nightly TriggerDay facts of the days they cover and adds the same
aggregate over the other firings, read raw (reports.trigger_facts)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import defaultdict

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

from orgs.tenancy import current_org_id
from playbooks.models import Playbook
from triggers.models import Alert, Firing, Trigger

from .. import trigger_facts
from ..filters import ReportFilters
from ..models import TriggerDay, TriggerOutcomeDay
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
    split = _split(f)
    fired = Q(pk__in=split.raw().values("trigger_id"))
    facts = split.facts()
    if facts is not None:
        fired |= Q(pk__in=facts.values("trigger_id"))
    return list(
        qs.filter(Q(is_active=True) | fired)
        .values("id", "name", "kind", "version", "is_active", "product__name", "persona__name")
        .order_by("kind", "name", "id")
    )


def counts() -> dict:
    """The aggregates of the report over firings (one query's annotations): the raw read and
    the nightly facts run the same ones."""
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


COUNT_KEYS = tuple(counts())


# -- facts and raw rows together -------------------------------------------------------------


# Past this many raw firings a page filters them in SQL rather than by their ids.
RAW_IDS_MAX = 20_000


class _Split:
    """How one request reads the period: the facts that cover it (None: all raw) and the
    firings read raw beside them."""

    def __init__(self, f: ReportFilters):
        self.f = f
        self.cover = None
        self._raw_ids = None
        self.outcome_days = None  # days_to_outcome, read once per page
        if f.persona_id is None and f.owner_id is None:
            self.cover = trigger_facts.coverage(first=f.date_from, last=f.date_to)

    def raw(self) -> QuerySet[Firing]:
        qs = firings_in_period(self.f)
        if self.cover is None:
            return qs
        if self._raw_ids is None:
            # the few firings beside the facts, by id: the aggregates then join them through
            # the indexes instead of hashing every playbook and alert
            ids = list(
                qs.filter(trigger_facts.raw_q(cover=self.cover)).values_list("pk", flat=True)[
                    : RAW_IDS_MAX + 1
                ]
            )
            self._raw_ids = ids if len(ids) <= RAW_IDS_MAX else False
        if self._raw_ids is False:
            return qs.filter(trigger_facts.raw_q(cover=self.cover))
        return Firing.objects.filter(pk__in=self._raw_ids)

    def facts(self, model=TriggerDay) -> QuerySet | None:
        if self.cover is None:
            return None
        triggers = None
        if self.f.kind or self.f.product_id is not None:
            chosen = Trigger.objects.all()
            if self.f.kind:
                chosen = chosen.filter(kind=self.f.kind)
            if self.f.product_id is not None:
                chosen = chosen.filter(product_id=self.f.product_id)
            triggers = chosen.values("pk")
        return trigger_facts.fact_rows(
            first=self.f.date_from,
            last=self.f.date_to,
            cover=self.cover,
            triggers=triggers,
            model=model,
        )


_LAST = threading.local()


def _split(f: ReportFilters) -> _Split:
    """The split of these filters, read once for the queries of one page: kept for the
    filters object last asked in this thread and organization (a page builds one; holding it
    keeps its id from being reused by another)."""
    key = (id(f), current_org_id())
    last = getattr(_LAST, "value", None)
    if last is not None and last[0] == key and last[1] is f:
        return last[2]
    split = _Split(f)
    _LAST.value = (key, f, split)
    return split


def _fact_sums(keys) -> dict:
    return {k: Sum(k) for k in keys}


def _add(into: dict, row: dict, keys) -> None:
    for k in keys:
        if row.get(k) is not None:
            into[k] = (into.get(k) or 0) + row[k]


def trigger_counts(f: ReportFilters) -> list[dict]:
    """Per trigger and version: firings, alerts by decision, playbooks by status and
    outcome, MRR won and the open pipeline. One aggregate query (two with the facts)."""
    split = _split(f)
    merged: dict = {}
    for c in split.raw().values("trigger_id", "trigger_version").annotate(**counts()).order_by():
        merged[(c["trigger_id"], c["trigger_version"])] = c
    facts = split.facts()
    if facts is not None:
        for c in (
            facts.values("trigger_id", "trigger_version")
            .annotate(**_fact_sums(COUNT_KEYS))
            .order_by()
        ):
            key = (c["trigger_id"], c["trigger_version"])
            if key in merged:
                _add(merged[key], c, COUNT_KEYS)
            else:
                merged[key] = c
    return [merged[k] for k in sorted(merged)]


def totals(f: ReportFilters) -> dict:
    """The same counts over every trigger, each playbook once, and the money from the
    playbooks themselves (not summed per trigger)."""
    split = _split(f)
    raw = split.raw()
    out = raw.aggregate(**counts())
    out.update(
        Playbook.objects.filter(
            pk__in=raw.filter(playbook__isnull=False).values("playbook_id")
        ).aggregate(
            mrr_won=Sum("mrr_won", filter=Q(outcome="won")),
            pipeline=Sum("expected_mrr", filter=Q(status="open")),
        )
    )
    facts = split.facts()
    if facts is not None:
        # a playbook in the facts has that one firing: its money once, like the raw read
        _add(out, facts.aggregate(**_fact_sums(COUNT_KEYS)), COUNT_KEYS)
    return out


def days_expression() -> ExpressionWrapper:
    """Days from a firing to its playbook's closing (the organization's calendar days)."""
    return ExpressionWrapper(
        TruncDate("playbook__closed_at") - F("fired_on"), output_field=DurationField()
    )


def days_to_outcome(f: ReportFilters) -> list[dict]:
    """How many days each closed playbook took from its firing to its outcome, counted per
    trigger, version and number of days (a histogram: the median is taken from it)."""
    split = _split(f)
    if split.outcome_days is not None:
        return split.outcome_days
    merged: dict = defaultdict(int)
    for h in (
        split.raw()
        .filter(DONE)
        .annotate(days=days_expression())
        .values("trigger_id", "trigger_version", "days")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        if h["days"] is not None:
            merged[(h["trigger_id"], h["trigger_version"], h["days"].days)] += h["n"]
    facts = split.facts(TriggerOutcomeDay)
    if facts is not None:
        for trigger_id, version, days, n in (
            facts.values("trigger_id", "trigger_version", "days")
            .annotate(n=Sum("firings"))
            .values_list("trigger_id", "trigger_version", "days", "n")
            .order_by()
        ):
            merged[(trigger_id, version, days)] += n
    split.outcome_days = [
        {"trigger_id": t, "trigger_version": v, "days": dt.timedelta(days=d), "n": n}
        for (t, v, d), n in sorted(merged.items())
    ]
    return split.outcome_days


def monthly(f: ReportFilters) -> list[dict]:
    """Per month of firing: firings, playbooks, successes and MRR won."""
    split = _split(f)
    keys = ("firings", "playbooks", "successes", "mrr_won")
    merged: dict = {}
    for m in (
        split.raw()
        .annotate(month=TruncMonth("fired_on"))
        .values("month")
        .annotate(
            firings=Count("pk"),
            playbooks=Count("playbook", distinct=True),
            successes=Count("playbook", distinct=True, filter=SUCCESS_Q),
            mrr_won=Sum("playbook__mrr_won", filter=Q(playbook__outcome="won")),
        )
        .order_by()
    ):
        merged[m["month"]] = m
    facts = split.facts()
    if facts is not None:
        for m in (
            facts.annotate(month=TruncMonth("date"))
            .values("month")
            .annotate(**_fact_sums(keys))
            .order_by()
        ):
            if m["month"] in merged:
                _add(merged[m["month"]], m, keys)
            else:
                merged[m["month"]] = m
    return [merged[k] for k in sorted(merged)]


# Alerts a churn closed carry "account churned on <date>: <reason>" as their reason
# (accounts.services.ChurnedAccount.text): counted apart, not as a CSM's reason each.
CHURN_CLOSED = r"^account churned on [0-9]{4}-[0-9]{2}-[0-9]{2}: "
CHURN_CLOSED_KEY = "__churned__"


def dismiss_key(reason: str) -> str:
    """The reason a dismissal is counted under (CHURN_CLOSED_KEY for a churn's)."""
    return CHURN_CLOSED_KEY if re.match(CHURN_CLOSED, reason or "") else reason


def dismissed_alerts(f: ReportFilters):
    return Alert.objects.filter(status="dismissed", firing__in=firings_in_period(f).values("pk"))


def dismiss_reasons(f: ReportFilters) -> list[dict]:
    """The reasons CSMs gave for dismissing the period's alerts, most given first, and one
    row (`dismiss_reason` CHURN_CLOSED_KEY) for the alerts closed by the account's churn."""
    split = _split(f)
    merged: dict = defaultdict(int)
    for r in (
        Alert.objects.filter(status="dismissed", firing__in=split.raw().values("pk"))
        .values("dismiss_reason")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        merged[dismiss_key(r["dismiss_reason"])] += r["n"]
    facts = split.facts()
    if facts is not None:
        for reasons in facts.exclude(dismiss_reasons={}).values_list("dismiss_reasons", flat=True):
            for reason, n in reasons.items():
                merged[reason] += n
    churned = merged.pop(CHURN_CLOSED_KEY, 0)
    rows = [
        {"dismiss_reason": reason, "n": n}
        for reason, n in sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    ]
    if churned:
        rows.append({"dismiss_reason": CHURN_CLOSED_KEY, "n": churned})
    return rows
