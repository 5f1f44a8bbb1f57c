"""What every report query shares: the filters as conditions on the accounts they count
(persona, CSM) and as the organization's day boundaries."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from ..filters import ReportFilters


def accounts_q(f: ReportFilters, prefix: str = "") -> Q:
    """The accounts a report counts: of the persona and owned by the CSM the filters name
    (today's persona and owner). `prefix` leads to the account (e.g. "account__")."""
    q = Q()
    if f.persona_id is not None:
        q &= Q(**{f"{prefix}persona_id": f.persona_id})
    if f.owner_id is not None:
        q &= Q(**{f"{prefix}owner_id": f.owner_id})
    return q


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of `day` in the current (the organization's) time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def instant_range(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[first 00:00, the day after last 00:00) in the organization's zone."""
    return day_start(first), day_start(last + dt.timedelta(days=1))
