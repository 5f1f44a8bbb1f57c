"""Day 1 of the month: the monthly (retention) triggers, then the retention forecast, whose
maths is triggers/forecast.py."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from orgs.models import Organization
from orgs.tenancy import org_context

from .. import forecast, selectors
from ..models import RetentionForecast, Schedule
from .evaluation import TriggerStats, triggers_evaluate

logger = logging.getLogger(__name__)

# The confirm rate is learnt from the alerts decided over the half year before the month.
CONFIRM_RATE_DAYS = 182


def retention_forecast_compute(*, org: Organization, month: dt.date) -> list[RetentionForecast]:
    """Per persona and main product (the account's largest subscription): retention alerts
    raised this month, open retention playbooks with steps due in it, and the actions to
    expect = alerts x the share confirmed over the last 6 months + those open playbooks.
    Replaces the month's rows."""
    month = month.replace(day=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    with org_context(org), transaction.atomic():
        confirmed, decided = selectors.retention_alerts_decided(
            since=month - dt.timedelta(days=CONFIRM_RATE_DAYS), before=month
        )
        cells = forecast.forecast_cells(
            alerts=selectors.retention_alerts_of_month(month=month),
            open_playbooks=selectors.retention_playbooks_due(month=month, next_month=next_month),
            main_product=forecast.main_products(selectors.active_subscriptions_frame()),
            confirm_rate=forecast.confirm_rate(confirmed=confirmed, decided=decided),
        )
        RetentionForecast.objects.filter(month=month).delete()
        rows = RetentionForecast.objects.bulk_create(
            [
                RetentionForecast(organization=org, month=month, **cell)
                for cell in cells.to_dict("records")
            ]
        )
    logger.info("retention forecast org=%s month=%s cells=%s", org.slug, month, len(rows))
    return rows


def triggers_run_monthly(*, org: Organization, day: dt.date, is_demo: bool = False) -> TriggerStats:
    """Day 1: the month's retention (monthly) triggers, then the forecast."""
    stats = triggers_evaluate(org=org, day=day, schedule=Schedule.MONTHLY, is_demo=is_demo)
    retention_forecast_compute(org=org, month=day)
    return stats
