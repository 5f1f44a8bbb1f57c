"""The playbook effectiveness facts: per month of closing, template, kind, opportunity
product and days to close, the report's aggregate of the closed playbooks (EffectMonth),
written by the nightly refresh after the playbook effects, and what a page may take from them.

A page stays exact and live: the facts count the playbooks closed before the state's cut
(EffectMonthState), the page reads the ones closed since raw, and the months the period only
partly covers raw too; the two never overlap. A closed playbook does not change (it closes
once) and its effect row is written only by the refresh, so the months to rebuild are those
whose playbooks closed since the last cut and those whose effects the refresh filled."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from orgs.models import Organization
from orgs.timezones import org_zone
from playbooks.models import Playbook

from .models import EffectMonth, EffectMonthState
from .retention_facts import retention_net_months_write
from .trigger_facts import SINCE_MARGIN


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def effect_cut(*, org: Organization, day: dt.date, began: dt.datetime) -> dt.datetime:
    """Playbooks closed before this instant are in tonight's facts: the start of the day
    after `day`, or the refresh's start if earlier, less a margin (a request's transaction
    that closed a playbook just before may commit after the refresh read)."""
    next_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=org_zone(org))
    return min(next_day, began) - SINCE_MARGIN


def effect_months_refresh(
    *, org: Organization, day: dt.date, began: dt.datetime, months: set[dt.date]
) -> dict:
    """Rebuild the EffectMonth rows of `months` (the months whose effects the refresh just
    filled or added) and of the months with playbooks closed since the last cut (every month
    with a closed playbook the first time), counting the playbooks closed before the new cut.
    In the organization's context, inside the caller's transaction."""
    from .selectors.effectiveness import SUMMED, _aggregates, _days

    with timezone.override(org_zone(org)):
        cut = effect_cut(org=org, day=day, began=began)
        state = EffectMonthState.objects.first()
        closed = Playbook.objects.filter(status="completed", closed_at__lt=cut)
        if state is None:
            wanted = None  # every month
        else:
            since = closed.filter(closed_at__gte=state.cut).annotate(m=TruncMonth("closed_at"))
            wanted = {month_of(_as_date(m)) for m in since.values_list("m", flat=True).distinct()}
            wanted |= {month_of(m) for m in months}
            if not wanted:
                _state_write(org=org, cut=cut, state=state)
                return {"months": 0, "rows": 0}
        old = EffectMonth.objects.all()
        if wanted is not None:
            ranges = Q()
            for m in sorted(wanted):
                start = dt.datetime.combine(m, dt.time.min, tzinfo=org_zone(org))
                nxt = dt.datetime.combine(_next_month(m), dt.time.min, tzinfo=org_zone(org))
                ranges |= Q(closed_at__gte=start, closed_at__lt=nxt)
            closed = closed.filter(ranges)
            old = old.filter(month__in=sorted(wanted))
        old.delete()
        rows = []
        for r in (
            closed.annotate(m=TruncMonth("closed_at"), days=_days(""))
            .values("m", "template_id", "kind", "opportunity_product_id", "days")
            .annotate(**_aggregates(""))
            .order_by()
        ):
            rows.append(
                EffectMonth(
                    organization=org,
                    month=_as_date(r["m"]),
                    template_key=r["template_id"] or 0,
                    kind=r["kind"],
                    product_key=r["opportunity_product_id"] or 0,
                    days=r["days"].days,
                    **{
                        k: r[k] if k.startswith(("change", "baseline")) else r[k] or 0
                        for k in SUMMED
                    },
                )
            )
        EffectMonth.objects.bulk_create(rows, batch_size=5000)
        retention_net_months_write(
            org=org, closed=closed, months=None if wanted is None else sorted(wanted)
        )
        _state_write(org=org, cut=cut, state=state)
    return {
        "months": len({r.month for r in rows}) if wanted is None else len(wanted),
        "rows": len(rows),
    }


def _state_write(*, org: Organization, cut: dt.datetime, state) -> None:
    EffectMonthState.all_objects.update_or_create(
        organization=org, defaults={"cut": cut, "refreshed_at": timezone.now()}
    )


def month_after(m: dt.date) -> dt.date:
    """The first day of the month after the month starting on `m`."""
    return dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)


_next_month = month_after


def raw_ranges(first: dt.date, last: dt.date, months: list[dt.date]) -> list[tuple]:
    """[first, last] less the whole `months` taken from facts, as [from, to] day ranges."""
    out, start = [], first
    for m in sorted(months):
        if m > start:
            out.append((start, m - dt.timedelta(days=1)))
        start = max(start, month_after(m))
    if start <= last:
        out.append((start, last))
    return out


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def full_months(first: dt.date, last: dt.date) -> list[dt.date]:
    """The months wholly inside [first, last]."""
    out, m = [], month_of(first) if first.day == 1 else _next_month(month_of(first))
    while _next_month(m) - dt.timedelta(days=1) <= last:
        out.append(m)
        m = _next_month(m)
    return out
