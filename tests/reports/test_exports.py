"""A CSV export computes only its own table (`only`): every table of every report, built
alone on the hand-built portfolio of tests/reports/fixtures.py, has the rows and totals the
whole report gives it, with fewer queries than the whole report."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orgs.tenancy import org_context
from reports.definitions import REPORTS
from reports.filters import ReportFilters
from reports.models import ReportSettings
from reports.periods import QUARTER, Period
from tests.reports.fixtures import Q2_FIRST, Q2_LAST, TODAY, ZONE, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


def _build(org, name, only=None):
    f = ReportFilters(period=Period(QUARTER, Q2_FIRST, Q2_LAST, Q2_LAST, "2024-Q2"), today=TODAY)
    with org_context(org), timezone.override(ZONE), CaptureQueriesContext(connection) as ctx:
        report = REPORTS[name].build(
            f,
            currency="BRL",
            goal_pct=70,
            settings=ReportSettings(organization=org),
            only=only,
        )
    return report, len(ctx.captured_queries)


def _values(table):
    """What the CSV shows: the title, and each row's and total's value in every column."""
    keys = [c.key for c in table.columns]
    cells = lambda rows: [[r.values.get(k) for k in keys] for r in rows]  # noqa: E731
    return table.title, keys, cells(table.rows), cells(table.totals)


@pytest.mark.parametrize("name", list(REPORTS))
def test_each_export_is_its_table_of_the_whole_report(org, world, name):
    """Trigger performance: 6 firings, 5 playbooks (its by-month rows 3 and 3 firings);
    portfolio: GRR 54.5%; and so on: whatever the whole report shows, the table built alone
    shows the same, and reads no more (the tables that need less, less)."""
    whole, whole_queries = _build(org, name)
    fewest = whole_queries
    for table in REPORTS[name].tables:
        alone, queries = _build(org, name, only=table)
        expected = whole.table(table)
        assert expected is not None, table
        assert alone.table(table) is not None, table
        assert _values(alone.table(table)) == _values(expected), table
        assert queries <= whole_queries, (table, queries, whole_queries)
        fewest = min(fewest, queries)
    if name == "effectiveness":
        # its two tables (per template: outcomes, days to close and health) come from one
        # read of the closed playbooks, the page's: an export reads the same, no more
        assert fewest == whole_queries
    else:
        # the tables that need less read less
        assert fewest < whole_queries
