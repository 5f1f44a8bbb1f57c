"""Activation in the portfolio report: the accounts whose first subscription started in the
period, how many are activated and the median time to activation, on a hand-made set."""

import datetime as dt

import pytest

from reports import metrics
from reports.definitions import portfolio
from reports.filters import ReportFilters
from reports.periods import QUARTER, Period
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_activation_summary_by_hand():
    """Starts 1 Jan; activated after 10, 20 and 45 days, one not: 4 started, 3 activated
    (75%), median of 10, 20, 45 = 20."""
    jan = dt.date(2024, 1, 1)
    rows = [
        (jan, jan + dt.timedelta(days=10)),
        (jan, jan + dt.timedelta(days=45)),
        (jan, None),
        (jan, jan + dt.timedelta(days=20)),
    ]
    assert metrics.activation_summary(rows) == {
        "started": 4,
        "activated": 3,
        "activated_pct": 75.0,
        "median_days": 20.0,
    }
    assert metrics.activation_summary([])["median_days"] is None


def test_the_portfolio_report_counts_the_accounts_that_started_in_the_period(org, in_org):
    """Period: Q1 2024. Gold "A" (start 10 Jan, activated 30 Jan: 20 days), gold "B" (start
    1 Feb, activated 5 Mar: 33 days, a second later subscription does not move its start),
    silver "C" (start 15 Mar, not activated), and "Old" (started 2023: not counted).
    Gold: 2 started, 2 activated, median (20 + 33) / 2 = 26.5; silver: 1, 0, none;
    all: 3 started, 2 activated (66.7%), median 26.5."""
    for name, tier, start, activated in [
        ("A", "gold", dt.date(2024, 1, 10), dt.date(2024, 1, 30)),
        ("B", "gold", dt.date(2024, 2, 1), dt.date(2024, 3, 5)),
        ("C", "silver", dt.date(2024, 3, 15), None),
        ("Old", "gold", dt.date(2023, 5, 1), dt.date(2023, 6, 1)),
    ]:
        acc = f.AccountFactory(
            organization=org, name=name, tier=tier, customer_since=start, activated_on=activated
        )
        f.SubscriptionFactory(account=acc, start_date=start)
        if name == "B":
            f.SubscriptionFactory(account=acc, start_date=dt.date(2024, 3, 20))
    q1 = Period(QUARTER, dt.date(2024, 1, 1), dt.date(2024, 3, 31), dt.date(2024, 3, 31), "2024-Q1")
    filters = ReportFilters(period=q1, today=dt.date(2024, 4, 15))
    report = portfolio.build(filters, currency="BRL", by="tier", only="activation")
    table = next(t for t in report.tables if t.key == "activation")
    rows = {r.values["group"]: r.values for r in table.rows}
    assert {g: (v["started"], v["activated"], v["median_days"]) for g, v in rows.items()} == {
        "Gold": (2, 2, 26.5),
        "Silver": (1, 0, None),
    }
    total = table.totals[0].values
    assert (total["started"], total["activated"], round(total["activated_pct"], 1)) == (3, 2, 66.7)
    assert total["median_days"] == 26.5
