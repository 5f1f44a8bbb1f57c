"""Each report's numbers on the hand-built portfolio of tests/reports/fixtures.py, through the
same build the page, the CSV export and `manage.py report` use (selectors, SQL, maths)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.utils import timezone

from orgs.tenancy import org_context
from reports.definitions import REPORTS
from reports.filters import ReportFilters
from reports.models import ReportSettings
from reports.periods import QUARTER, Period
from tests.reports.fixtures import Q2_FIRST, Q2_LAST, TODAY, ZONE, build

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


@contextlib.contextmanager
def as_org(org):
    with org_context(org), timezone.override(ZONE):
        yield


def q2(**kw) -> ReportFilters:
    return ReportFilters(
        period=Period(QUARTER, Q2_FIRST, Q2_LAST, Q2_LAST, "2024-Q2"), today=TODAY, **kw
    )


def run(org, name, f=None, **params):
    with as_org(org):
        settings = ReportSettings(organization=org)
        return REPORTS[name].build(
            f or q2(), currency="BRL", goal_pct=70, settings=settings, **params
        )


def rows(report, table, key="group"):
    t = report.table(table)
    return {r.values[key]: r.values for r in t.rows}, [r.values for r in t.totals]


# -- portfolio ------------------------------------------------------------------------------


def test_portfolio_grr_nrr_and_the_mrr_bridge(org, world):
    """The base (active on 03-31): A 1000, B 2000, C 1000, F 400 = 4400.
    Churned by the base: C 1000 + F 500 = 1500; contraction B 500; expansion A 500 + F 100.
    Losses capped at each start: B 500, C 1000, F min(500, 400) = 400 → 1900.
    GRR = (4400 − 1900) / 4400 = 56.8%; NRR = (4400 − 1500 − 500 + 600) / 4400 = 68.2% (the
    base's MRR at the end: A 1500 + B 1500 = 3000). All accounts: new 600 (E), came back 800
    (D, which churned in January and returned in May), MRR at end 4400 + 600 + 600 + 800 −
    500 − 1500 = 4400. Logo churn: C and F of the 4 = 50%."""
    report = run(org, "portfolio", by="")
    (total,) = rows(report, "mrr")[1]
    assert total["accounts_start"] == 4
    assert total["start_mrr"] == 4400
    assert total["new_mrr"] == 600 and total["expansion"] == 600
    assert total["reactivation"] == 800
    assert total["contraction"] == 500 and total["churned"] == 1500
    assert total["end_mrr"] == 4400
    assert total["grr"] == pytest.approx(2500 / 4400 * 100)
    assert total["nrr"] == pytest.approx(3000 / 4400 * 100)
    assert total["logo_churn"] == 50.0
    assert total["logos_gained"] == 2  # D came back, E is new


def test_portfolio_per_persona(org, world):
    """Enterprise (A, B): start 3000, contraction 500, expansion 500: GRR 2500/3000 = 83.3%,
    NRR 3000/3000 = 100%. No persona, base C and F: start 1400, losses capped at 1400:
    GRR 0%; NRR (1400 − 1500 + 100) / 1400 = 0%."""
    report = run(org, "portfolio", by="persona")
    by, _ = rows(report, "mrr")
    assert by["Enterprise"]["start_mrr"] == 3000
    assert by["Enterprise"]["grr"] == pytest.approx(250 / 3)
    assert by["Enterprise"]["nrr"] == pytest.approx(100.0)
    assert by["No persona"]["grr"] == 0.0 and by["No persona"]["nrr"] == pytest.approx(0.0)


def test_a_zero_start_mrr_reads_as_a_dash(org, world):
    """Only Analytics subscriptions: A's began on 05-10 (an expansion), so nothing was
    active at the start: GRR and NRR are None, shown "—", not an error."""
    from reports.tables import PCT, display

    report = run(org, "portfolio", q2(product_id=world["products"]["analytics"].pk), by="")
    (total,) = rows(report, "mrr")[1]
    assert total["start_mrr"] == 0 and total["end_mrr"] == 500
    assert total["grr"] is None and total["nrr"] is None
    assert display(total["grr"], PCT) == "—"


def test_portfolio_for_a_csms_book(org, world, csm):
    """The CSM's accounts leave out D: base A, B, C, F (4400); the end is A 1500 + B 1500 +
    E 600 = 3600; nothing came back."""
    report = run(org, "portfolio", q2(owner_id=csm.pk), by="")
    (total,) = rows(report, "mrr")[1]
    assert total["start_mrr"] == 4400 and total["end_mrr"] == 3600
    assert total["reactivation"] == 0


def test_portfolio_months_surveys_and_cohorts(org, world):
    """April: new 600 (E), expansion 100 (F), contraction 500 (B): +200 → 4600. May: A +500,
    D back +800 → 5900. June: churn 1000 (C) + 500 (F) → 4400.
    NPS answers in Q2: 10, 9, 3, 7 (the 0 of 03-30 is outside): (2 − 1) / 4 = 25; CSAT
    (5 + 3) / 2 = 4.0. Cohort April 2024 (E): 600 at month 0, kept in May and June; July is to
    come."""
    report = run(org, "portfolio", by="")
    months = {r.values["month"]: r.values for r in report.table("months").rows}
    ends = [v["end"] for v in months.values()]
    assert ends == [4600, 5900, 4400]
    assert list(months.values())[0]["contraction"] == 500  # a loss, shown as an amount
    (health,) = rows(report, "health")[1]
    assert health["nps"] == 25.0 and health["nps_answers"] == 4
    assert health["csat"] == 4.0
    cohorts = {r.values["cohort"]: r.values for r in report.table("cohorts").rows}
    april = next(v for k, v in cohorts.items() if k.startswith("Apr"))
    assert april["accounts"] == 1 and april["start_mrr"] == 600
    assert (april["m0"], april["m1"], april["m2"], april["m3"]) == (100.0, 100.0, 100.0, None)
    empty = next(v for k, v in cohorts.items() if k.startswith("Feb"))
    assert empty["accounts"] == 0 and empty["m0"] is None


# -- triggers -------------------------------------------------------------------------------


def test_trigger_performance_per_trigger_and_version(org, world):
    """Offer Analytics v1: firings A, B; both playbooks closed: A won (R$ 500) on 04-25,
    before its due date 04-30 (on time), B lost on 05-20 after its due 05-02: conversion 1/2
    = 50%, won / firings 50%; days to outcome 15 and 38: median 26.5.
    Offer Analytics v2 (edited in May): one firing (E), its playbook open: 0 of 1 = 0%.
    Risk: 3 firings, 3 alerts, 2 confirmed, 1 dismissed; 2 playbooks: C churned (70 days
    after firing), F retained (25 days): save rate 50%, median 47.5.
    Welcome never fired: a row of zeros and no conversion.
    The expansion total: the days of its playbooks together, 15 and 38: median 26.5; the
    retention total: 25 and 70: 47.5 (the all-triggers total: 15, 25, 38, 70: 31.5)."""
    report = run(org, "trigger_performance")
    by, (total,) = rows(report, "triggers", key="name")
    v1, v2 = by["Offer Analytics · v1"], by["Offer Analytics · v2"]
    assert (v1["firings"], v1["playbooks"], v1["completed"], v1["on_time"]) == (2, 2, 2, 1)
    assert (v1["opportunities"], v1["won"], v1["lost"]) == (2, 1, 1)
    assert v1["conversion"] == 50.0 and v1["won_per_firing"] == 50.0
    assert v1["mrr_won"] == 500
    assert v1["median_days"] == 26.5
    assert (v2["firings"], v2["open"], v2["conversion"], v2["median_days"]) == (1, 1, 0.0, None)
    risk = by["Risk"]
    assert (risk["firings"], risk["alerts"], risk["confirmed"], risk["dismissed"]) == (3, 3, 2, 1)
    assert (risk["retained"], risk["churned"], risk["save_rate"]) == (1, 1, 50.0)
    assert risk["median_days"] == 47.5
    welcome = by["Welcome"]
    assert welcome["firings"] == 0 and welcome["conversion"] is None
    # every playbook once: 5 playbooks, 2 converted (A won, F retained)
    assert (total["firings"], total["playbooks"], total["successes"]) == (6, 5, 2)
    assert total["conversion"] == 40.0 and total["mrr_won"] == 500
    assert total["median_days"] == 31.5
    (expansion,) = [r.values for r in report.table("expansion").totals]
    (retention,) = [r.values for r in report.table("retention").totals]
    assert (expansion["median_days"], retention["median_days"]) == (26.5, 47.5)


def test_trigger_performance_by_month_and_dismissals(org, world):
    """April: A, B, C fired; 3 playbooks, 1 converted (A). May: E, B, F fired; 2 playbooks
    (B's alert was dismissed), 1 converted (F). One dismissal: "Seasonal dip"."""
    report = run(org, "trigger_performance")
    months = [r.values for r in report.table("by_month").rows]
    assert [(m["firings"], m["playbooks"], m["successes"]) for m in months] == [
        (3, 3, 1),
        (3, 2, 1),
    ]
    (reason,) = [r.values for r in report.table("dismissed").rows]
    assert reason["reason"] == "Seasonal dip" and reason["alerts"] == 1 and reason["share"] == 100
    # nobody has the 5 playbooks ranking needs
    assert report.table("ranking").rows == []


def test_an_empty_period_is_zeros_and_dashes(org, world):
    """Q1 2023: nothing fired, nothing closed."""
    f = ReportFilters(
        period=Period(QUARTER, D(2023, 1, 1), D(2023, 3, 31), D(2023, 3, 31), "2023-Q1"),
        today=TODAY,
    )
    report = run(org, "trigger_performance", f)
    (total,) = [r.values for r in report.table("triggers").totals]
    assert total["firings"] == 0 and total["conversion"] is None
    retention = run(org, "retention", f)
    (month_total,) = [r.values for r in retention.table("monthly").totals]
    assert month_total["raised"] == 0 and month_total["save_rate"] is None
    effect = run(org, "effectiveness", f, by="template")
    assert effect.table("effect").rows == []


# -- retention ------------------------------------------------------------------------------


def test_retention_safety_net(org, world):
    """Alarms: April 1 (C), May 2 (B, F), all completed (C's and F's playbooks closed, B's
    alert dismissed): 3/3 = 100%. Through the net: F retained in May, C churned in June:
    save rate 50%, 50 / 70 = 71.4% of the goal. Accounts churned in June: C and F.
    Predictability: C fired 70 days before its churn (counts at 30 and 60), F 46 days (30
    only): 100% / 50% / 0%. Churn by product: Core, 2 accounts, R$ 1500. Lifetime: C 467
    days, F 385: 426 / 30.44 = 14.0 months."""
    report = run(org, "retention")
    (total,) = [r.values for r in report.table("monthly").totals]
    assert (total["raised"], total["completed"], total["completion"]) == (3, 3, 100.0)
    assert (total["through"], total["retained"], total["churned"]) == (2, 1, 1)
    assert total["save_rate"] == 50.0
    assert total["goal_share"] == pytest.approx(50 / 70 * 100)
    assert total["churned_all"] == 2
    (pred,) = [r.values for r in report.table("predictability").totals]
    assert (pred["churners"], pred["share_30"], pred["share_60"], pred["share_90"]) == (
        2,
        100.0,
        50.0,
        0.0,
    )
    (product,) = [r.values for r in report.table("by_product").rows]
    assert product["product"] == "Core" and product["accounts"] == 2 and product["mrr"] == 1500
    lifetime = next(f for f in report.figures if f.key == "lifetime")
    assert lifetime.value == pytest.approx(426 / 30.44)
    reasons = {r.values["reason"]: r.values for r in report.table("by_reason").rows}
    assert reasons["Price"]["lifetime"] == pytest.approx(467 / 30.44)


def test_the_forecast_from_the_nightly_risk_cells(org, world):
    """The risk carried into 2024-07-01 (Q3): 20 at risk, 50 renewing; the year before, 30
    kept and 20 lost (60% saved), 1 of 25 renewals lost (4%): 20 × 0.4 + 50 × 0.04 = 10.
    Nobody churned in Q3 by 07-15. Q2 has no snapshot: no row."""
    from django.utils import timezone as tz

    from reports.models import FactRefresh, RiskDay

    day = D(2024, 7, 1)
    FactRefresh.all_objects.create(organization=org, date=day, finished_at=tz.now())
    RiskDay.all_objects.create(
        organization=org,
        date=day,
        persona_key=0,
        owner_key=0,
        customers=500,
        at_risk=20,
        renewing=50,
        retained_12m=30,
        lost_12m=20,
        renewals_12m=25,
        renewals_lost_12m=1,
    )
    report = run(org, "retention")
    quarters = {r.values["quarter"]: r.values for r in report.table("forecast").rows}
    q3 = quarters["Q3 2024 (to date)"]
    assert q3["forecast"] == pytest.approx(10.0)
    assert q3["save_share"] == pytest.approx(60.0)
    assert q3["actual"] == 0
    assert "Q2 2024" not in quarters
    nxt = quarters["Q4 2024 (next)"]  # the risk open today: the latest snapshot
    assert nxt["forecast"] == pytest.approx(10.0) and nxt["actual"] is None


# -- effectiveness --------------------------------------------------------------------------


def test_playbook_effectiveness_per_template(org, world):
    """Offer Analytics closed A (won, 15 days) and B (lost, 38): 1/2 converted, median 26.5.
    Save closed F (retained, 23 days) and C (churned, 68): 1/2, median 45.5. All four: 2/4,
    median of 15, 23, 38, 68 = 30.5. Per trigger the same split; the open E is not counted."""
    report = run(org, "effectiveness", by="template")
    by, (total,) = rows(report, "effect")
    assert (by["Offer Analytics"]["closed"], by["Offer Analytics"]["converted"]) == (2, 1)
    assert by["Offer Analytics"]["median_days"] == 26.5
    assert by["Save"]["median_days"] == 45.5
    assert (total["closed"], total["conversion"], total["median_days"]) == (4, 50.0, 30.5)
    assert total["change_30"] is None  # no health data: no change, not zero
    per_trigger, _ = rows(run(org, "effectiveness", by="trigger"), "effect")
    assert per_trigger["Offer Analytics"]["closed"] == 2 and per_trigger["Risk"]["closed"] == 2


def test_trigger_performance_for_a_persona_and_a_csm(org, world, csm, manager):
    """Enterprise accounts are A and B: firings f1 (A), f2 (B) and B's dismissed alert: 3,
    2 playbooks. The CSM owns every account that fired: 6; the manager owns none: 0."""
    persona = world["persona"].pk
    (total,) = rows(run(org, "trigger_performance", q2(persona_id=persona)), "triggers", "name")[1]
    assert (total["firings"], total["playbooks"]) == (3, 2)
    (total,) = rows(run(org, "trigger_performance", q2(owner_id=csm.pk)), "triggers", "name")[1]
    assert total["firings"] == 6
    (total,) = rows(run(org, "trigger_performance", q2(owner_id=manager.pk)), "triggers", "name")[1]
    assert total["firings"] == 0 and total["conversion"] is None
