"""A firing released from the weekly cap's queue on a later night gets its alert or playbook
after its day's trigger facts were written: the next refresh reads that day again, so the
trigger report from the facts stays equal to the report from the raw rows.

On the world of tests/triggers/test_caps.py: night 1 (06-30) raises 5 retention alerts and
queues A2 and A8 (and U2); night 2 (07-01) releases A2 and U2, firings of 06-30: retention's
06-30 firings now have 5 + 2 = 7 alerts (A8 was dropped), and 07-01's firing A6 its alert."""

import datetime as dt

import pytest

from orgs.tenancy import org_context
from reports.filters import ReportFilters
from reports.models import TriggerDay
from reports.periods import YEAR, Period
from reports.trigger_facts import trigger_facts_refresh
from tests.conftest import _member
from tests.reports.test_trigger_facts import figures, raw_figures, report
from tests.triggers.test_caps import NIGHT1, NIGHT2, _night2, _world
from triggers import services
from triggers.models import Firing, Trigger

pytestmark = pytest.mark.django_db


def _year():
    return ReportFilters(
        period=Period(YEAR, dt.date(2024, 1, 1), dt.date(2024, 12, 31), NIGHT2, "2024"),
        today=NIGHT2,
    )


def test_a_released_firing_refreshes_its_days_facts(org, csm):
    bruno = _member(org, "csm", "bruno.csm")
    accounts, retention, expansion = _world(org, csm, bruno)
    services.triggers_evaluate(org=org, day=NIGHT1)
    # as the night wrote them: the night's firings (and the triggers) before the refresh
    before = dt.datetime(2024, 6, 30, 2, tzinfo=dt.UTC)
    Firing.all_objects.filter(organization=org).update(created_at=before)
    Trigger.all_objects.filter(organization=org).update(updated_at=before)
    with org_context(org):
        trigger_facts_refresh(org=org, day=NIGHT1)
    _night2(org, accounts, bruno)
    services.triggers_evaluate(org=org, day=NIGHT2)
    with org_context(org):
        trigger_facts_refresh(org=org, day=NIGHT2)
        day1 = TriggerDay.objects.get(date=NIGHT1, trigger_id=retention.pk)
    assert (day1.firings, day1.alerts) == (8, 7)
    assert figures(report(org, _year())) == raw_figures(org, _year())
