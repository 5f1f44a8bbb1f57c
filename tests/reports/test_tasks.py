"""The nightly facts on a real Redis broker and a real Celery worker: the night's scoring
starts the triggers, the chunk that completes their run sends trigger_run_completed, and
reports queues `reports.facts_refresh`, which the worker runs: the day has its snapshot."""

from __future__ import annotations

import datetime as dt

import pytest

from health.selectors import org_today
from health.tasks import health_nightly
from reports.models import FactRefresh, PortfolioDay
from tests import factories as f
from tests.builders import active_days, simple_model, wait_for


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_night_ends_with_the_days_facts(org, csm, celery_worker):
    """Three customers, active 2, 5 and 9 of the last 10 days: scored 20, 50 and 90 by the
    simple model (red, red, green). After the night the day's snapshot has 2 red and 1 green,
    written by the worker (the test process runs no task)."""
    org.timezone = "UTC"
    org.save(update_fields=["timezone"])
    today = org_today(org)
    for days in (2, 5, 9):
        account = f.AccountFactory(organization=org, owner=csm, customer_since=dt.date(2020, 1, 1))
        active_days(org, account, days, end=today)
    simple_model(org)

    health_nightly.delay().get(timeout=60)
    assert wait_for(
        lambda: FactRefresh.all_objects.filter(organization=org, date=today).exists()
    ), "reports.facts_refresh did not run after the trigger stage"
    cells = PortfolioDay.all_objects.filter(organization=org, date=today)
    by_colour = {c.colour: c.customers for c in cells}
    assert by_colour == {"red": 2, "green": 1}
