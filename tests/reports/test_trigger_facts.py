"""The trigger facts (reports.trigger_facts): the nightly TriggerDay rows of the hand-built
portfolio of tests/reports/fixtures.py, worked out by hand; the trigger report read from them
equals the report read from the raw rows; a re-run replaces the days it recomputes and adds
nothing; a change after the refresh (a playbook closed, a firing joining a playbook, an alert
decided) shows at once; another organization's facts are never read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from orgs.tenancy import org_context
from playbooks.models import Playbook
from reports.definitions import REPORTS
from reports.filters import ReportFilters
from reports.models import (
    FactRefresh,
    ReportSettings,
    TriggerDay,
    TriggerOutcomeDay,
    TriggerSpan,
)
from reports.periods import QUARTER, YEAR, Period
from reports.services import facts_refresh
from reports.trigger_facts import trigger_facts_refresh
from tests.reports.fixtures import Q2_FIRST, Q2_LAST, TODAY, ZONE, at, build
from triggers.models import Alert, Firing, Trigger

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def world(org, csm):
    with org_context(org):
        w = build(org, csm)
    # as the nights wrote them: each firing on the night it fired, the triggers set up before
    for firing in Firing.all_objects.filter(organization=org):
        Firing.all_objects.filter(pk=firing.pk).update(created_at=at(firing.fired_on, 2))
    Trigger.all_objects.filter(organization=org).update(updated_at=at(D(2024, 1, 1)))
    return w


def q2() -> ReportFilters:
    return ReportFilters(period=Period(QUARTER, Q2_FIRST, Q2_LAST, Q2_LAST, "2024-Q2"), today=TODAY)


def year() -> ReportFilters:
    return ReportFilters(
        period=Period(YEAR, D(2024, 1, 1), D(2024, 12, 31), TODAY, "2024"), today=TODAY
    )


def report(org, f=None, **kw):
    with org_context(org), timezone.override(ZONE):
        settings = ReportSettings(organization=org)
        return REPORTS["trigger_performance"].build(
            f or q2(), currency="BRL", goal_pct=70, settings=settings, **kw
        )


def figures(rep) -> dict:
    """Every number of the report: its figures and each table's rows and totals."""
    out = {fig.key: fig.value for fig in rep.figures}
    for table in rep.tables:
        out[table.key] = [
            {k: v for k, v in r.values.items() if k != "days_histogram"}
            for r in (*table.rows, *table.totals)
        ]
        out[table.key + ".days"] = [
            sorted(r.values.get("days_histogram", [])) for r in (*table.rows, *table.totals)
        ]
    return out


def raw_figures(org, f=None) -> dict:
    """The report with no facts at all: every firing read raw (then the facts are put back)."""
    with org_context(org):
        saved = list(TriggerDay.objects.all())
        refreshes = list(FactRefresh.objects.values("pk", "triggers_since"))
        TriggerDay.objects.all().delete()
        FactRefresh.objects.update(triggers_since=None)
    try:
        return figures(report(org, f))
    finally:
        with org_context(org):
            TriggerDay.objects.bulk_create(saved)
            for r in refreshes:
                FactRefresh.objects.filter(pk=r["pk"]).update(triggers_since=r["triggers_since"])


def refresh(org, day=TODAY):
    with org_context(org):
        return trigger_facts_refresh(org=org, day=day)


def rows(org) -> dict:
    with org_context(org):
        return {
            (r.date, r.trigger_id, r.trigger_version): r for r in TriggerDay.objects.order_by("pk")
        }


def outcome_days(org, row) -> dict:
    """A TriggerDay row's histogram: {days to outcome: firings}."""
    with org_context(org):
        return dict(
            TriggerOutcomeDay.objects.filter(
                date=row.date, trigger_id=row.trigger_id, trigger_version=row.trigger_version
            ).values_list("days", "firings")
        )


def test_the_facts_of_each_day_by_hand(org, world):
    """One row per day, trigger and version that fired (Welcome never fired: no row):
    Offer v1 04-10 (A): 1 firing, its playbook won R$ 500 on 04-25, due 04-30 (on time),
    15 days; Offer v1 04-12 (B): lost on 05-20 after its due 05-02, 38 days; Offer v2 05-15
    (E): open, expected R$ 0 counted in the pipeline's open playbooks; Risk 04-01 (C): alert
    confirmed, churned 70 days later; Risk 05-01 (B): alert dismissed "Seasonal dip", no
    playbook; Risk 05-05 (F): confirmed, retained after 25 days."""
    stats = refresh(org)
    assert stats == {"days": 6, "rows": 6}
    t = world["triggers"]
    got = rows(org)
    assert set(got) == {
        (D(2024, 4, 10), t["offer"].pk, 1),
        (D(2024, 4, 12), t["offer"].pk, 1),
        (D(2024, 5, 15), t["offer"].pk, 2),
        (D(2024, 4, 1), t["risk"].pk, 1),
        (D(2024, 5, 1), t["risk"].pk, 1),
        (D(2024, 5, 5), t["risk"].pk, 1),
    }
    a = got[(D(2024, 4, 10), t["offer"].pk, 1)]
    assert (a.firings, a.playbooks, a.completed, a.on_time, a.won, a.successes) == (
        1,
        1,
        1,
        1,
        1,
        1,
    )
    assert a.mrr_won == Decimal(500) and outcome_days(org, a) == {15: 1}
    b = got[(D(2024, 4, 12), t["offer"].pk, 1)]
    assert (b.completed, b.on_time, b.lost, b.successes, b.mrr_won) == (1, 0, 1, 0, 0)
    assert outcome_days(org, b) == {38: 1}
    e = got[(D(2024, 5, 15), t["offer"].pk, 2)]
    assert (e.open, e.pipeline_open, e.completed, outcome_days(org, e)) == (1, 1, 0, {})
    c = got[(D(2024, 4, 1), t["risk"].pk, 1)]
    assert (c.alerts, c.confirmed, c.churned, outcome_days(org, c)) == (1, 1, 1, {70: 1})
    dismissed = got[(D(2024, 5, 1), t["risk"].pk, 1)]
    assert (dismissed.alerts, dismissed.dismissed, dismissed.playbooks) == (1, 1, 0)
    assert dismissed.dismiss_reasons == {"Seasonal dip": 1}
    f = got[(D(2024, 5, 5), t["risk"].pk, 1)]
    assert (f.retained, f.successes, outcome_days(org, f)) == (1, 1, {25: 1})


def test_the_report_from_the_facts_equals_the_raw_rows(org, world):
    """The quarter and the year, unfiltered, by kind and by product, read from the facts
    (every day covered, none touched since: no raw firing) give every number the raw read
    gives (the figures of tests/reports/test_reports.py: 6 firings, 5 playbooks, 40%)."""
    expected = {
        name: raw_figures(org, f)
        for name, f in (
            ("q2", q2()),
            ("year", year()),
        )
    }
    refresh(org)
    with org_context(org):
        assert TriggerDay.objects.count() == 6
    assert figures(report(org)) == expected["q2"]
    assert figures(report(org, year())) == expected["year"]
    total = figures(report(org))["triggers"][-1]
    assert (total["firings"], total["playbooks"], total["successes"]) == (6, 5, 2)
    for kw in ({"kind": "expansion"}, {"product_id": world["products"]["analytics"].pk}):
        by_facts = figures(report(org, ReportFilters(period=q2().period, today=TODAY, **kw)))
        assert by_facts["firings"] == 3
        assert by_facts == raw_figures(org, ReportFilters(period=q2().period, today=TODAY, **kw))


def test_the_facts_are_what_the_page_reads(org, world):
    """A fact row changed by hand changes the page: the report reads the facts, not only the
    raw rows (Offer v1 on 04-10 made to say 7 firings: the quarter shows 6 - 1 + 7 = 12)."""
    refresh(org)
    with org_context(org):
        TriggerDay.objects.filter(date=D(2024, 4, 10)).update(firings=7)
    total = figures(report(org))["triggers"][-1]
    assert total["firings"] == 12


def test_a_rerun_replaces_and_adds_nothing(org, world):
    """Twice the same night, and the whole nightly refresh twice: the same six rows, the
    same numbers; the unique key refuses a second row for a day, trigger and version."""
    refresh(org)
    first = {k: (r.firings, r.playbooks, r.mrr_won) for k, r in rows(org).items()}
    assert refresh(org) == {"days": 0, "rows": 0}
    with org_context(org):
        facts_refresh(org=org, day=TODAY)
        facts_refresh(org=org, day=TODAY)
        assert TriggerDay.objects.count() == 6
    assert {k: (r.firings, r.playbooks, r.mrr_won) for k, r in rows(org).items()} == first
    one = next(iter(rows(org).values()))
    with pytest.raises(IntegrityError), transaction.atomic():
        TriggerDay.all_objects.create(
            organization=org,
            date=one.date,
            trigger_id=one.trigger_id,
            trigger_version=one.trigger_version,
        )


def test_what_changed_since_the_refresh_shows_at_once(org, world, csm):
    """After the night, E's open playbook (Offer v2, 05-15) is won today for R$ 200: the
    report counts the win at once (that day is read raw):
    Offer v2 1 of 1 = 100%, the total 3 converted of 5 playbooks = 60%, MRR won 700. The
    next night recomputes only that day."""
    refresh(org)
    p3 = world["playbooks"]["p3"]
    Playbook.all_objects.filter(pk=p3.pk).update(
        status="completed", outcome="won", mrr_won=Decimal(200), closed_at=timezone.now()
    )
    now = figures(report(org))
    assert now == raw_figures(org)
    total = now["triggers"][-1]
    assert (total["successes"], total["playbooks"], total["conversion"]) == (3, 5, 60.0)
    assert total["mrr_won"] == Decimal(700)
    assert refresh(org, TODAY + dt.timedelta(days=1)) == {"days": 1, "rows": 1}
    assert figures(report(org)) == now


def test_a_playbook_two_firings_share_is_counted_once(org, world):
    """Risk also fires for A on 04-20, and that firing joins A's won Offer playbook (p1):
    p1 has two firings on two days, so its firings are read raw (TriggerSpan) and the totals
    still count 5 playbooks, 7 firings, MRR won R$ 500 once; Risk's row counts p1 too."""
    refresh(org)
    t, a = world["triggers"], world["accounts"]["a"]
    p1 = world["playbooks"]["p1"]
    joined = Firing.all_objects.create(
        organization=org,
        trigger=t["risk"],
        account=a,
        period=D(2024, 4, 20),
        fired_on=D(2024, 4, 20),
        playbook=p1,
    )
    Alert.all_objects.create(
        organization=org, firing=joined, account=a, status="confirmed", playbook=p1
    )
    live = figures(report(org))
    assert live == raw_figures(org)
    refresh(org, TODAY + dt.timedelta(days=1))
    with org_context(org):
        assert list(TriggerSpan.objects.values_list("playbook_id", flat=True)) == [p1.pk]
        # p1's firings are not in the facts: the days it fired have no row now
        assert not TriggerDay.objects.filter(date__in=[D(2024, 4, 10), D(2024, 4, 20)]).exists()
    after = figures(report(org))
    assert after == live == raw_figures(org)
    total = after["triggers"][-1]
    assert (total["firings"], total["playbooks"], total["mrr_won"]) == (7, 5, Decimal(500))


def test_another_organizations_facts_are_not_read(org, world, other_org):
    """Facts of another organization on the same days (100 firings of a trigger id of ours)
    change nothing here; nor does its refresh state (a refresh finished later, saying nothing
    changed until tomorrow): E's playbook won after our refresh still shows at once (3
    converted), and the other organization's refresh leaves our rows alone."""
    refresh(org)
    before = figures(report(org))
    t = world["triggers"]["offer"]
    TriggerDay.all_objects.create(
        organization=other_org, date=D(2024, 4, 10), trigger_id=t.pk, trigger_version=1, firings=100
    )
    FactRefresh.all_objects.create(
        organization=other_org,
        date=TODAY + dt.timedelta(days=5),
        finished_at=timezone.now() + dt.timedelta(hours=1),
        triggers_through=TODAY + dt.timedelta(days=5),
        triggers_since=timezone.now() + dt.timedelta(days=1),
    )
    assert figures(report(org)) == before
    with org_context(other_org):
        trigger_facts_refresh(org=other_org, day=TODAY)
    assert figures(report(org)) == before
    assert len(rows(org)) == 6
    Playbook.all_objects.filter(pk=world["playbooks"]["p3"].pk).update(
        status="completed", outcome="won", mrr_won=Decimal(200), closed_at=timezone.now()
    )
    assert figures(report(org))["triggers"][-1]["successes"] == 3
