"""What the trigger_dry_run and trigger_backtest commands share: finding the trigger of the
organization, one line when it is not there."""

from __future__ import annotations

from django.core.management.base import CommandError

from orgs.cli import whole_number
from triggers.models import Trigger


def trigger_of_org(value) -> Trigger:
    """The trigger with id `value` of the organization in context, or CommandError."""
    pk = whole_number("--trigger", value, 1)
    trigger = Trigger.objects.select_related("persona", "product", "template").filter(pk=pk).first()
    if trigger is None:
        raise CommandError(f"--trigger: the organization has no trigger with id {pk}")
    return trigger
