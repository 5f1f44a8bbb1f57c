"""What every report query shares: the filters as conditions on the accounts they count
(persona, CSM) and as the organization's day boundaries."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from orgs.models import User

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


def account_owners():
    """The users who own the organization's accounts (the CSMs a report names): a semi-join
    on the accounts' owners (a join with DISTINCT over every user column went through all
    100,000 accounts' rows)."""
    owners = Account.objects.filter(owner_id__isnull=False).values("owner_id")
    return User.objects.filter(pk__in=owners)
