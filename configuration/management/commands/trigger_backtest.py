"""`manage.py trigger_backtest --org SLUG --trigger ID [--days 180]`: the trigger replayed once
a week over the stored history, the same figures as its backtest page, as JSON."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from conditions import ConditionError
from orgs.cli import ProjectCommand, org_by_slug, whole_number
from orgs.tenancy import org_context
from orgs.timezones import org_today, org_zone

from ...evaluation import (
    BACKTEST_DEFAULT_DAYS,
    BACKTEST_MAX_DAYS,
    backtest_max_days,
    longest_usage_window,
    trigger_backtest,
)
from ._trigger_args import trigger_of_org


class Command(ProjectCommand):
    help = "Backtest a trigger over the stored daily history (one replayed day a week)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--trigger", required=True, help="the trigger's id")
        parser.add_argument(
            "--days", default=BACKTEST_DEFAULT_DAYS, help="how far back (default: 180)"
        )

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        days = whole_number("--days", opts["days"], 7, BACKTEST_MAX_DAYS)
        if days > backtest_max_days():
            raise CommandError(
                f"--days: at most {backtest_max_days():,} (got {days:,}): raw daily usage is kept "
                f"for {settings.USAGE_RAW_RETENTION_DAYS:,} days (USAGE_RAW_RETENTION_DAYS) and "
                f"the usage fields read up to {longest_usage_window()} days before the oldest "
                "replayed day"
            )
        with org_context(org), timezone.override(org_zone(org)):
            trigger = trigger_of_org(opts["trigger"])
            try:
                result = trigger_backtest(trigger=trigger, today=org_today(org), days=days)
            except ConditionError as exc:
                raise CommandError(f"--trigger: its condition does not validate: {exc}") from None
        out = {"organization": org.slug, "trigger": trigger.pk, "name": trigger.name}
        self.stdout.write(json.dumps({**out, **result.as_dict()}, indent=2))
