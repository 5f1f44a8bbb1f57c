"""The churn by product facts (reports.models.ChurnProductMonth), rebuilt with the monthly MRR
facts from the same movements: their rows on the hand-built ledger of
tests/reports/fixtures.py, a re-run that leaves the same rows, the retention report's churn
by product from them equal to the hand-computed figures (tests/reports/test_reports.py) and
to the ledger read, and live: a churn entry written after the refresh counts at once, and
the next refresh rebuilds that account's rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import MrrMovement, Subscription
from orgs.tenancy import org_context
from reports.filters import ReportFilters
from reports.ledger_facts import months_usable, mrr_months_refresh
from reports.models import ChurnProductMonth, MrrMonthState
from reports.periods import QUARTER, Period
from reports.selectors import retention as sel
from tests.reports.fixtures import Q2_FIRST, Q2_LAST, TODAY, build

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
    return sorted(
        ChurnProductMonth.all_objects.filter(organization=org).values_list(
            "account_id", "month", "product_key", "lost"
        )
    )


def by_product(org, f=None) -> list[tuple]:
    with org_context(org):
        return [
            (r["subscription__product__name"], r["accounts"], float(r["mrr"]))
            for r in sel.churn_by_product(f or q2())
        ]


def raw_by_product(org, f=None) -> list[tuple]:
    """The same read from the ledger alone (the state said not to have the rows)."""
    with org_context(org):
        MrrMonthState.objects.update(with_churn_products=False)
        assert months_usable(churn_products=True) is None
    try:
        return by_product(org, f)
    finally:
        with org_context(org):
            MrrMonthState.objects.update(with_churn_products=True)


def test_the_rows_of_the_fixture_and_a_rerun(org, world):
    """The ledger's churn entries, all on Core: D −800 in 2024-01, C −1000 and F −500 in
    2024-06, in cents. A second refresh rebuilds nothing and leaves the same rows."""
    acc, core = world["accounts"], world["products"]["core"].pk
    expected = sorted(
        [
            (acc["d"].pk, D(2024, 1, 1), core, -80000.0),
            (acc["c"].pk, D(2024, 6, 1), core, -100000.0),
            (acc["f"].pk, D(2024, 6, 1), core, -50000.0),
        ]
    )
    with org_context(org):
        mrr_months_refresh(org=org)
    assert fact_rows(org) == expected
    with org_context(org):
        assert mrr_months_refresh(org=org)["rows"] == 0
    assert fact_rows(org) == expected


def test_the_report_from_the_facts_and_live(org, world):
    """Q2 from the facts: Core, 2 accounts (C and F), 1000 + 500 = 1500 lost, as the ledger
    read says. B's Core subscription is then cancelled by a churn of −2000 on 05-25, after the
    refresh: at once Core 3 accounts, 3500 lost (read from the ledger beside the facts); the
    next refresh rebuilds B alone and the page reads the same from its new row."""
    with org_context(org):
        mrr_months_refresh(org=org)
        assert months_usable(churn_products=True) is not None
    assert by_product(org) == [("Core", 2, -1500.0)] == raw_by_product(org)
    b = world["accounts"]["b"]
    with org_context(org):
        sub = Subscription.objects.filter(account=b, product=world["products"]["core"]).first()
    MrrMovement.all_objects.create(
        organization=org,
        account=b,
        subscription=sub,
        date=D(2024, 5, 25),
        kind="churn",
        delta_mrr=Decimal(-2000),
    )
    assert by_product(org) == [("Core", 3, -3500.0)] == raw_by_product(org)
    with org_context(org):
        assert mrr_months_refresh(org=org)["rebuilt"] == "moved"
    core = world["products"]["core"].pk
    assert (b.pk, D(2024, 5, 1), core, -200000.0) in fact_rows(org)
    assert by_product(org) == [("Core", 3, -3500.0)]
    # a product filter reads the facts of that product only
    analytics = world["products"]["analytics"].pk
    assert by_product(org, q2(product_id=analytics)) == []
    assert by_product(org, q2(product_id=core)) == [("Core", 3, -3500.0)]
