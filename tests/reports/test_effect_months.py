"""The playbook effectiveness facts (reports.models.EffectMonth), which the effectiveness
report reads per template: their rows on the hand-built playbooks of tests/reports/fixtures.py,
a re-run that leaves the same rows, the report from them equal to the hand-computed figures
(tests/reports/test_reports.py) and to the raw read, live: a playbook closed after the refresh
counts at once (read raw), and the next refresh moves it into its month's rows."""

from __future__ import annotations

import datetime as dt

import pytest

from orgs.tenancy import org_context
from playbooks.models import Playbook
from reports.definitions import REPORTS
from reports.filters import ReportFilters
from reports.models import EffectMonth, EffectMonthState, ReportSettings
from reports.periods import QUARTER, Period
from reports.selectors import effectiveness as sel
from reports.services import facts_refresh
from tests.reports.fixtures import Q2_FIRST, Q2_LAST, TODAY, at, build

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


def q2(**kw) -> ReportFilters:
    return ReportFilters(
        period=Period(QUARTER, Q2_FIRST, Q2_LAST, Q2_LAST, "2024-Q2"), today=TODAY, **kw
    )


def fact_rows(org) -> list[tuple]:
    return list(
        EffectMonth.all_objects.filter(organization=org)
        .order_by("month", "template_key", "days")
        .values_list(
            "month", "template_key", "kind", "product_key", "days", "closed", "won", "lost",
            "retained", "churned", "n_30", "change_30",
        )
    )  # fmt: skip


def effect_table(org, f: ReportFilters, by: str = "template") -> tuple[dict, dict]:
    with org_context(org):
        report = REPORTS["effectiveness"].build(
            f, currency="BRL", goal_pct=70, settings=ReportSettings(organization=org), by=by
        )
    table = report.table("effect")
    return {r.values["group"]: r.values for r in table.rows}, table.totals[0].values


def test_the_rows_of_the_fixture_and_a_rerun(org, world):
    """Four playbooks closed in Q2 2024, one row each (month, template, kind, product, days
    from opening to closing): Offer Analytics A won, opened 04-10, closed 04-25: 15 days, for
    Analytics; B lost, 04-12 to 05-20: 38 days. Save F retained, 05-07 to 05-30: 23 days; C
    churned, 04-03 to 06-10: 68 days. E's Offer Analytics playbook is open: no row. No health
    scores: no change (None, not 0). A second refresh of the same day leaves the same rows."""
    offer, save = world["templates"]["offer"].pk, world["templates"]["save"].pk
    analytics = world["products"]["analytics"].pk
    facts_refresh(org=org, day=TODAY)
    expected = [
        (D(2024, 4, 1), offer, "expansion", analytics, 15, 1, 1, 0, 0, 0, 0, None),
        (D(2024, 5, 1), offer, "expansion", analytics, 38, 1, 0, 1, 0, 0, 0, None),
        (D(2024, 5, 1), save, "retention", 0, 23, 1, 0, 0, 1, 0, 0, None),
        (D(2024, 6, 1), save, "retention", 0, 68, 1, 0, 0, 0, 1, 0, None),
    ]
    assert fact_rows(org) == expected
    facts_refresh(org=org, day=TODAY)
    assert fact_rows(org) == expected


def test_the_report_from_the_facts(org, world):
    """Q2 is three whole months, all before the refresh's cut: the report reads the four
    playbooks from the facts and nothing raw, and shows the hand-computed figures of
    test_reports: Offer Analytics 2 closed, 1 converted, median (15 + 38) / 2 = 26.5; Save
    median (23 + 68) / 2 = 45.5; all four: 2 of 4 converted (50%), median of 15, 23, 38, 68 =
    (23 + 38) / 2 = 30.5. The same as the raw read (the facts' state removed)."""
    facts_refresh(org=org, day=TODAY)
    with org_context(org):
        raw, cells = sel._with_facts(q2(), sel.closed_playbooks(q2()))
        assert raw.count() == 0 and sum(c["closed"] for c in cells) == 4
    by, total = effect_table(org, q2())
    assert (by["Offer Analytics"]["closed"], by["Offer Analytics"]["converted"]) == (2, 1)
    assert by["Offer Analytics"]["median_days"] == 26.5
    assert by["Save"]["median_days"] == 45.5
    assert (total["closed"], total["conversion"], total["median_days"]) == (4, 50.0, 30.5)
    assert total["change_30"] is None
    EffectMonthState.all_objects.filter(organization=org).delete()
    assert effect_table(org, q2()) == (by, total)


def test_live_then_moved_into_the_facts(org, world):
    """Refreshed on 06-15 (cut: just before 06-16 starts), then E's open Offer Analytics
    playbook (opened 05-15) closes won on 06-20, 36 days: the page counts it at once, raw:
    Offer Analytics 3 closed, 2 converted, median of 15, 36, 38 = 36; all five, 3 of 5
    converted (60%), median of 15, 23, 36, 38, 68 = 36. The next refresh (07-15) rebuilds
    June with it, and the page reads it from the facts, with the same figures. With a kind
    filter (retention) the facts give Save's two alone; with a persona filter (Enterprise: A
    and B) the page reads raw: 2 closed."""
    facts_refresh(org=org, day=D(2024, 6, 15))
    p3 = world["playbooks"]["p3"]
    Playbook.all_objects.filter(pk=p3.pk).update(
        status="completed", outcome="won", closed_at=at(D(2024, 6, 20))
    )
    by, total = effect_table(org, q2())
    assert (by["Offer Analytics"]["closed"], by["Offer Analytics"]["converted"]) == (3, 2)
    assert by["Offer Analytics"]["median_days"] == 36
    assert (total["closed"], total["conversion"], total["median_days"]) == (5, 60.0, 36)
    june = [r for r in fact_rows(org) if r[0] == D(2024, 6, 1)]
    assert [r[4] for r in june] == [68]  # not yet in the facts

    facts_refresh(org=org, day=TODAY)
    june = [r for r in fact_rows(org) if r[0] == D(2024, 6, 1)]
    assert sorted(r[4] for r in june) == [36, 68]
    with org_context(org):
        raw, _cells = sel._with_facts(q2(), sel.closed_playbooks(q2()))
        assert raw.count() == 0
    assert effect_table(org, q2()) == (by, total)

    by, total = effect_table(org, q2(kind="retention"))
    assert set(by) == {"Save"} and total["closed"] == 2
    _by, total = effect_table(org, q2(persona_id=world["persona"].pk))
    assert total["closed"] == 2
