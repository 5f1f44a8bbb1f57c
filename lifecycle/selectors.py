"""The journey read: one account's stage, activation and goal for its page, and the
activation figures of a set of accounts for the portfolio report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Min

from accounts.models import Account, LifecycleChange, Subscription

from .models import PurchaseGoal
from .services import lifecycle_settings_of


@dataclass(frozen=True)
class Journey:
    stage: str
    stage_label: str
    stage_since: dt.date | None
    first_subscription: dt.date | None
    activated_on: dt.date | None
    days_to_activation: int | None  # first subscription -> activation
    days_since_start: int | None  # first subscription -> today, while not activated
    activation_due_days: int
    overdue: bool  # not activated past the organization's N days
    goal: PurchaseGoal | None


def account_journey(*, account: Account, today: dt.date) -> Journey:
    """Four small queries: the last stage change, the first subscription, the goal, and the
    organization's settings."""
    last = (
        LifecycleChange.objects.filter(account=account, to_stage=account.lifecycle_stage)
        .order_by("-changed_on", "-id")
        .values_list("changed_on", flat=True)
        .first()
    )
    first = Subscription.objects.filter(account=account).aggregate(first=Min("start_date"))["first"]
    goal = PurchaseGoal.objects.filter(account=account).select_related("recorded_by").first()
    due = lifecycle_settings_of(account.organization).activation_due_days
    to_activation = (account.activated_on - first).days if account.activated_on and first else None
    since_start = (today - first).days if first and not account.activated_on else None
    return Journey(
        stage=account.lifecycle_stage,
        stage_label=account.get_lifecycle_stage_display(),
        stage_since=last,
        first_subscription=first,
        activated_on=account.activated_on,
        days_to_activation=to_activation,
        days_since_start=since_start,
        activation_due_days=due,
        overdue=since_start is not None and since_start > due and not account.is_churned,
        goal=goal,
    )
