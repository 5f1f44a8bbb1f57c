"""The ledger's nightly total (reports.models.LedgerTotal), which the home reads: on the
hand-built ledger of tests/reports/fixtures.py it equals the ledger read from the movements;
the home reads it while the ledger is unchanged and reads the movements once one is added or
removed; a re-run replaces the row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import MrrMovement
from orgs.tenancy import org_context
from reports.filters import ReportFilters
from reports.models import LedgerTotal
from reports.periods import default_period
from reports.selectors import portfolio as sel
from reports.services import ledger_total_write
from tests.reports.fixtures import build

pytestmark = pytest.mark.django_db

D = dt.date
# a day in Q2 2024: the quarter so far is 04-01..06-30 (the whole quarter of the fixtures)
DAY = D(2024, 6, 30)


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


def quarter() -> ReportFilters:
    return ReportFilters(period=default_period(today=DAY), today=DAY)


def test_the_total_equals_the_ledger_and_is_what_the_home_reads(org, world):
    """The base: A 1000, B 2000, C 1000, F 400 = 4400 (tests/reports/test_reports.py);
    end MRR 1500 + 1500 + 800 + 600 = 4400. Written once, the total is the ledger's row; the
    home reads the row (made to say 9999 by hand, it says 9999)."""
    with org_context(org):
        (raw,) = sel.ledger(quarter())
        assert raw["start_mrr"] == 4400.0 and raw["end_mrr"] == 4400.0
        assert ledger_total_write(org=org, day=DAY)
        (row,) = LedgerTotal.objects.all()
        assert (row.date_from, row.date_to) == (D(2024, 4, 1), D(2024, 6, 30))
        assert row.movements == 13
        assert sel.ledger_total(quarter()) == {k: raw[k] for k in sel.LEDGER_COLUMNS}
        LedgerTotal.objects.update(values={**row.values, "start_mrr": 9999.0})
        assert sel.ledger_total(quarter())["start_mrr"] == 9999.0


def test_a_new_or_removed_movement_reads_the_ledger(org, world):
    """After the night A expands by 250 on 06-15: the total is stale, so the home reads the
    ledger (end MRR 4400 + 250 = 4650); an old movement removed too, the count is 13 again
    but the last id is not the row's: still read from the movements."""
    with org_context(org):
        ledger_total_write(org=org, day=DAY)
        LedgerTotal.objects.update(values={"start_mrr": 1.0})  # what a stale read would show
        a = world["accounts"]["a"]
        added = MrrMovement.all_objects.create(
            organization=org,
            account=a,
            date=D(2024, 6, 15),
            kind="expansion",
            delta_mrr=Decimal(250),
        )
        assert sel.ledger_total(quarter())["end_mrr"] == 4650.0
        first = MrrMovement.objects.order_by("pk").first()
        first.delete()
        assert MrrMovement.objects.count() == 13 and added.pk
        assert sel.ledger_total(quarter())["start_mrr"] != 1.0


def test_filters_read_the_ledger_and_a_rerun_replaces_the_row(org, world):
    """The persona Enterprise (A, B): start 3000, whatever the total says; the refresh run
    twice leaves one row."""
    with org_context(org):
        ledger_total_write(org=org, day=DAY)
        ledger_total_write(org=org, day=DAY)
        assert LedgerTotal.objects.count() == 1
        LedgerTotal.objects.update(values={"start_mrr": 1.0})
        f = ReportFilters(
            period=default_period(today=DAY), today=DAY, persona_id=world["persona"].pk
        )
        assert sel.ledger_total(f)["start_mrr"] == 3000.0
