"""The retention safety net's monthly facts (reports.models.RetentionAlarmMonth and
RetentionNetMonth): their rows on the hand-built firings and playbooks of
tests/reports/fixtures.py, a re-run that leaves the same rows, the report from them equal to
the hand-computed figures of tests/reports/test_reports.py and to the raw read, and live: a
firing or a closing after the refresh shows at once (its month read raw), and the next
refresh rebuilds that month."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from orgs.tenancy import org_context
from playbooks.models import Playbook
from reports.definitions import REPORTS
from reports.filters import ReportFilters
from reports.models import (
    EffectMonthState,
    FactRefresh,
    ReportSettings,
    RetentionAlarmMonth,
    RetentionNetMonth,
)
from reports.periods import QUARTER, Period
from reports.selectors import retention as sel
from reports.services import facts_refresh
from tests.reports.fixtures import Q2_FIRST, Q2_LAST, TODAY, ZONE, at, build
from triggers.models import Firing, Trigger

pytestmark = pytest.mark.django_db

D = dt.date
APR, MAY, JUN = D(2024, 4, 1), D(2024, 5, 1), D(2024, 6, 1)


@pytest.fixture
def world(org, csm):
    with org_context(org):
        w = build(org, csm)
    # as the nights wrote them: each firing on the night it fired, the triggers set up before
    for firing in Firing.all_objects.filter(organization=org):
        Firing.all_objects.filter(pk=firing.pk).update(created_at=at(firing.fired_on, 2))
    Trigger.all_objects.filter(organization=org).update(updated_at=at(D(2024, 1, 1)))
    return w


def q2(**kw) -> ReportFilters:
    return ReportFilters(
        period=Period(QUARTER, Q2_FIRST, Q2_LAST, Q2_LAST, "2024-Q2"), today=TODAY, **kw
    )


def alarm_rows(org) -> list[tuple]:
    return list(
        RetentionAlarmMonth.all_objects.filter(organization=org)
        .order_by("month")
        .values_list("month", "raised", "completed", "accounts")
    )


def net_rows(org) -> list[tuple]:
    return list(
        RetentionNetMonth.all_objects.filter(organization=org)
        .order_by("month")
        .values_list("month", "through", "retained", "churned", "not_confirmed")
    )


def monthly(org, f=None) -> list[dict]:
    with org_context(org), timezone.override(ZONE):
        report = REPORTS["retention"].build(
            f or q2(), currency="BRL", goal_pct=70, settings=ReportSettings(organization=org)
        )
    table = report.table("monthly")
    return [r.values for r in (*table.rows, *table.totals)]


def raw_monthly(org, f=None) -> list[dict]:
    """The monthly table with the facts out of reach (then put back)."""
    with org_context(org):
        refreshes = list(FactRefresh.objects.values("pk", "triggers_since"))
        states = list(EffectMonthState.objects.all())
        FactRefresh.objects.update(triggers_since=None)
        EffectMonthState.objects.all().delete()
    try:
        return monthly(org, f)
    finally:
        with org_context(org):
            for r in refreshes:
                FactRefresh.objects.filter(pk=r["pk"]).update(triggers_since=r["triggers_since"])
            EffectMonthState.objects.bulk_create(states)


def usable(org, f=None) -> list[dt.date]:
    with org_context(org), timezone.override(ZONE):
        return sel.alarm_months_usable(f or q2())


def test_the_rows_of_the_fixture_and_a_rerun(org, world):
    """Risk (retention) fired on C 04-01 (its playbook closed: completed), on B 05-01 (alert
    dismissed: completed) and on F 05-05 (playbook closed: completed): April 1 raised, 1
    completed, 1 account; May 2, 2, 2. Retention playbooks closed: F's in May (retained), C's
    in June (churned). A second refresh leaves the same rows."""
    facts_refresh(org=org, day=TODAY)
    alarms = [(APR, 1, 1, 1), (MAY, 2, 2, 2)]
    net = [(MAY, 1, 1, 0, 0), (JUN, 1, 0, 1, 0)]
    assert alarm_rows(org) == alarms and net_rows(org) == net
    facts_refresh(org=org, day=TODAY)
    assert alarm_rows(org) == alarms and net_rows(org) == net


def test_the_report_from_the_facts(org, world):
    """Q2's three months come from the facts (nothing touched since the refresh, all ended
    before its cut), with test_reports' hand-computed totals: 3 raised, 3 completed; 2 through
    the net, 1 retained, 1 churned; the same table as the raw read."""
    facts_refresh(org=org, day=TODAY)
    assert usable(org) == [APR, MAY, JUN]
    table = monthly(org)
    total = table[-1]
    assert (total["raised"], total["completed"]) == (3, 3)
    assert (total["through"], total["retained"], total["churned"]) == (2, 1, 1)
    assert table == raw_monthly(org)


def test_a_firing_after_the_refresh_shows_at_once(org, world):
    """After the night of 07-14's refresh, a Risk firing on A dated 05-20 is written (on
    07-15, 02:00): May is touched, read raw (4 raised in all, May 3), and the next night's
    refresh rebuilds May: 3 raised, 2 completed (A's alert is waiting), 3 accounts; the page
    reads it from the facts again, the same."""
    facts_refresh(org=org, day=D(2024, 7, 14))
    firing = Firing.all_objects.create(
        organization=org,
        trigger=world["triggers"]["risk"],
        account=world["accounts"]["a"],
        period=D(2024, 5, 20),
        fired_on=D(2024, 5, 20),
        trigger_version=1,
    )
    Firing.all_objects.filter(pk=firing.pk).update(created_at=at(D(2024, 7, 15), 2))
    assert MAY not in usable(org)
    table = monthly(org)
    assert table[-1]["raised"] == 4 and table[1]["raised"] == 3
    facts_refresh(org=org, day=TODAY)
    assert (MAY, 3, 2, 3) in alarm_rows(org)
    assert MAY in usable(org)
    assert monthly(org) == table == raw_monthly(org)


def test_a_closing_after_the_refresh_shows_at_once(org, world, csm):
    """Refreshed on 06-15: June had not ended by the cut, so it is read raw. A retention
    playbook on B closes retained on 06-20 after that refresh: June shows 2 through the net
    (B retained, C churned) at once. The refresh on 07-15 writes June with both, and the page
    reads it from the facts with the same figures."""
    facts_refresh(org=org, day=D(2024, 6, 15))
    assert net_rows(org) == [(MAY, 1, 1, 0, 0), (JUN, 1, 0, 1, 0)]
    Playbook.all_objects.create(
        organization=org,
        account=world["accounts"]["b"],
        template=world["templates"]["save"],
        kind="retention",
        title="Save",
        owner=csm,
        opened_on=D(2024, 6, 1),
        due_on=D(2024, 6, 30),
        status="completed",
        closed_at=at(D(2024, 6, 20)),
        outcome="retained",
    )
    june = monthly(org)[2]
    assert (june["through"], june["retained"], june["churned"]) == (2, 1, 1)
    facts_refresh(org=org, day=TODAY)
    assert (JUN, 2, 1, 1, 0) in net_rows(org)
    assert monthly(org)[2] == june
    assert monthly(org) == raw_monthly(org)
