"""The retention safety net's monthly facts over all accounts: the alarms of each month
(RetentionAlarmMonth, kept exact as the trigger facts are: rebuilt for the months whose
firings, alerts or playbooks a night touched, and taken by a page only while nothing touched
them since) and the accounts through the net (RetentionNetMonth, from the playbooks closed
before the cut the effectiveness facts share). One row per month: a re-run replaces it."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from orgs.models import Organization
from orgs.timezones import org_zone
from playbooks.models import Playbook
from triggers.models import Firing

from .models import RetentionAlarmMonth, RetentionNetMonth
from .trigger_facts import days_to_recompute, last_refresh


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def retention_alarm_months_refresh(*, org: Organization, day: dt.date) -> dict:
    """Rebuild RetentionAlarmMonth for the months with a day the trigger facts will
    recompute tonight (touched since the last refresh, or after the days it covered; every
    month the first time, or while there are no rows), counting the firings up to `day`.
    Runs before the trigger facts (it reads what the last refresh left), in the
    organization's context and transaction."""
    from .selectors.retention import ALARMS, retention_trigger_ids

    with timezone.override(org_zone(org)):
        previous = last_refresh()
        firings = Firing.objects.filter(trigger_id__in=retention_trigger_ids(), fired_on__lte=day)
        old = RetentionAlarmMonth.objects.all()
        # the first time (no rows yet: a new organization, or facts older than these) every
        # month; an organization without retention firings reads nothing either way
        if previous is not None and RetentionAlarmMonth.objects.exists():
            days = days_to_recompute(previous=previous, day=day)
            months = sorted({d.replace(day=1) for d in days if d <= day})
            if not months:
                return {"months": 0}
            q = Q()
            for m in months:
                nxt = dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)
                q |= Q(fired_on__gte=m, fired_on__lt=nxt)
            firings = firings.filter(q)
            old = old.filter(month__in=months)
        old.delete()
        rows = [
            RetentionAlarmMonth(
                organization=org, month=_as_date(r["month"]), **{k: r[k] for k in ALARMS}
            )
            for r in firings.annotate(month=TruncMonth("fired_on"))
            .values("month")
            .annotate(**ALARMS)
            .order_by()
        ]
        RetentionAlarmMonth.objects.bulk_create(rows)
    return {"months": len(rows)}


def retention_net_months_write(
    *, org: Organization, closed: QuerySet[Playbook], months: list[dt.date] | None
) -> int:
    """Replace RetentionNetMonth for `months` (None: every month) from `closed`, the
    playbooks closed before the cut in those months (reports.effect_facts)."""
    from .selectors.retention import NET, RETENTION

    old = RetentionNetMonth.objects.all()
    if months is not None:
        old = old.filter(month__in=months)
    old.delete()
    rows = [
        RetentionNetMonth(organization=org, month=_as_date(r["month"]), **{k: r[k] for k in NET})
        for r in closed.filter(kind=RETENTION)
        .annotate(month=TruncMonth("closed_at"))
        .values("month")
        .annotate(**NET)
        .order_by()
    ]
    RetentionNetMonth.objects.bulk_create(rows)
    return len(rows)
