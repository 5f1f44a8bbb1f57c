"""The ledger cube (reports.ledger_cube: LedgerCell, LedgerAccount, LedgerCubeState), which
the portfolio's MRR, GRR and NRR table reads: on the hand-built ledger of
tests/reports/fixtures.py its cells give the hand-computed Q2 (the figures of
tests/reports/test_reports.py) and every group, filter and product the per-account ledger
gives; a re-run changes nothing; a movement, a persona or a tier changed after the refresh
counts at once; the nightly roll to the next day (a movement dated inside), and the carry
into a new month and quarter, leave the cells a build from scratch would; a deleted movement
sends the page back to the per-account ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest

from accounts.models import Account, MrrMovement
from orgs.tenancy import org_context
from reports import ledger_cube
from reports.filters import ReportFilters
from reports.ledger_cube import cube_periods, ledger_cube_refresh
from reports.models import LedgerAccount, LedgerCell, LedgerCubeState
from reports.periods import QUARTER, Period
from reports.selectors import portfolio as sel
from tests.reports.fixtures import Q2_FIRST, Q2_LAST, TODAY, build

pytestmark = pytest.mark.django_db

D = dt.date
GROUPS = ["", "persona", "csm", "tier", "touch_model"]


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


def q2(**kw) -> ReportFilters:
    return ReportFilters(
        period=Period(QUARTER, Q2_FIRST, Q2_LAST, Q2_LAST, "2024-Q2"), today=TODAY, **kw
    )


def custom(first: dt.date, last: dt.date, **kw) -> ReportFilters:
    return ReportFilters(period=Period("custom", first, last, last, ""), today=TODAY, **kw)


def raw(f: ReportFilters, group: str = "") -> list[dict]:
    """The ledger read from the movements, as before the cube (and the monthly facts)."""
    with (
        mock.patch.object(sel, "_cube_ledger", return_value=None),
        mock.patch.object(sel, "months_usable", return_value=None),
    ):
        return sorted(sel.ledger(f, group=group), key=lambda r: str(r["grp"]))


def from_cube(f: ReportFilters, group: str = "") -> list[dict]:
    """The ledger read from the cube (as the page reads it unfiltered: a persona's or CSM's
    page reads their accounts' movements, the cube answers for them all the same)."""
    found = sel._cube_ledger(f, group=group)
    assert found is not None, "the cube was not used"
    if not (f.persona_id or f.owner_id):
        assert sel.ledger(f, group=group) == sel._scaled(sel._cube_ledger(f, group=group), 100)
    return sorted(sel._scaled(found, 100), key=lambda r: str(r["grp"]))


def cells() -> list[tuple]:
    columns = ("date_from", "date_to", *ledger_cube.DIMENSIONS, *ledger_cube.CELL_COLUMNS)
    return sorted(LedgerCell.objects.values_list(*columns))


def scratch(org, day: dt.date) -> list[tuple]:
    """The cells a build from every account gives for `day` (the state dropped first)."""
    LedgerCubeState.objects.all().delete()
    assert ledger_cube_refresh(org=org, day=day)["rebuilt"] == "all"
    return cells()


def test_the_periods_kept(org):
    """On 2024-07-01: the running month and quarter both begin that day (one period,
    07-01..07-01), the year runs from 01-01; before them June, Q2 and 2023, whole."""
    assert cube_periods(D(2024, 7, 1)) == [
        (D(2023, 1, 1), D(2023, 12, 31)),
        (D(2024, 1, 1), D(2024, 7, 1)),
        (D(2024, 4, 1), D(2024, 6, 30)),
        (D(2024, 6, 1), D(2024, 6, 30)),
        (D(2024, 7, 1), D(2024, 7, 1)),
    ]


@pytest.mark.parametrize("group", GROUPS)
def test_the_cube_is_the_ledger(org, world, group):
    """Refreshed on 06-30, Q2 (kept whole) from the cells equals Q2 from the movements, per
    group. The hand figures for the whole portfolio: base 4 accounts (A, B, C, F), start
    1000 + 2000 + 1000 + 400 = 4400; new 600 (E), expansion 500 (A) + 100 (F) = 600, came
    back 800 (D), contraction 500 (B), churned 1000 (C) + 500 (F) = 1500, end 4400; base
    losses capped at the start: B 500, C 1000, F 400 (its 500 churned capped at 400) = 1900;
    logos lost C and F (2), gained D and E (2)."""
    with org_context(org):
        ledger_cube_refresh(org=org, day=Q2_LAST)
        got = from_cube(q2(), group)
        assert got == raw(q2(), group)
        if not group:
            (total,) = got
            assert (total["accounts_start"], total["start_mrr"], total["end_mrr"]) == (
                4,
                4400.0,
                4400.0,
            )
            assert (total["new_mrr"], total["expansion"], total["reactivation"]) == (
                600.0,
                600.0,
                800.0,
            )
            assert (total["contraction"], total["churned"], total["base_loss"]) == (
                500.0,
                1500.0,
                1900.0,
            )
            assert (total["logos_lost"], total["logos_gained"]) == (2, 2)


def test_filters_and_products_are_the_ledger(org, world, csm):
    """The Enterprise persona (A, B: start 3000, end 3000 = A 1500 + B 1500), the CSM's book
    (all but D: start 4400, end 3600), and each product (Core: every subscription but A's
    Analytics add-on, whose expansion 500 counts only under Analytics) read from the cells
    equal the ledger read from the movements, grouped and not."""
    persona = world["persona"]
    core, analytics = world["products"]["core"], world["products"]["analytics"]
    with org_context(org):
        ledger_cube_refresh(org=org, day=Q2_LAST)
        for kw in (
            {"persona_id": persona.pk},
            {"owner_id": csm.pk},
            {"product_id": core.pk},
            {"product_id": analytics.pk},
            {"product_id": core.pk, "persona_id": persona.pk},
        ):
            for group in ("", "persona", "tier"):
                assert from_cube(q2(**kw), group) == raw(q2(**kw), group), (kw, group)
        (enterprise,) = from_cube(q2(persona_id=persona.pk))
        assert (enterprise["start_mrr"], enterprise["end_mrr"]) == (3000.0, 3000.0)
        (book,) = from_cube(q2(owner_id=csm.pk))
        assert (book["start_mrr"], book["end_mrr"]) == (4400.0, 3600.0)
        (addon,) = from_cube(q2(product_id=analytics.pk))
        assert (addon["expansion"], addon["accounts_start"], addon["end_mrr"]) == (500.0, 0, 500.0)


def test_a_rerun_leaves_the_same_cells(org, world):
    """Twice on the same day: the second run finds nothing moved or changed and writes
    nothing; the cells are the same rows (six periods: June, Q2 and the year to 06-30, May,
    Q1 and 2023), and LedgerAccount holds the six accounts."""
    with org_context(org):
        first = ledger_cube_refresh(org=org, day=Q2_LAST)
        assert first["rebuilt"] == "all" and first["periods_built"] == 6
        rows = cells()
        assert len({(r[0], r[1]) for r in rows}) == 6
        assert ledger_cube_refresh(org=org, day=Q2_LAST)["rebuilt"] == "none"
        assert cells() == rows
        assert LedgerAccount.objects.count() == 6


def test_changes_after_the_refresh_count_at_once(org, world):
    """After the refresh: A expands by 250 on 06-15 (Q2's expansion 600 + 250 = 850, end
    4400 + 250 = 4650), B moves to no persona (Enterprise's start 3000 - 2000 = 1000) and C
    to the bronze tier. Every group equals the ledger from the movements, read through the
    cells; the cells themselves are untouched until the next refresh, which then leaves
    what a build from scratch gives."""
    acc = world["accounts"]
    persona = world["persona"]
    with org_context(org):
        ledger_cube_refresh(org=org, day=Q2_LAST)
        before = cells()
        MrrMovement.all_objects.create(
            organization=org,
            account=acc["a"],
            date=D(2024, 6, 15),
            kind="expansion",
            delta_mrr=Decimal(250),
        )
        Account.objects.filter(pk=acc["b"].pk).update(persona=None)
        Account.objects.filter(pk=acc["c"].pk).update(tier="bronze")
        for group in GROUPS:
            assert from_cube(q2(), group) == raw(q2(), group), group
        (total,) = from_cube(q2())
        assert (total["expansion"], total["end_mrr"]) == (850.0, 4650.0)
        (enterprise,) = from_cube(q2(persona_id=persona.pk))
        assert enterprise["start_mrr"] == 1000.0
        assert cells() == before
        stats = ledger_cube_refresh(org=org, day=Q2_LAST)
        assert (stats["rebuilt"], stats["stale_accounts"]) == ("rolled", 3)
        rolled = cells()
        assert rolled != before
        assert rolled == scratch(org, Q2_LAST)


def test_the_roll_to_the_next_day_and_the_carry_into_a_new_quarter(org, world):
    """Refreshed on 06-19, then 06-20: F's churn of 06-20 is dated after the kept cubes'
    end; the cubes of June, Q2 and the year roll to 06-20 and equal a build from scratch.
    Then 06-30 and 07-01: July and Q3 (07-01..07-01) are carried from June and Q2 (every
    account's end MRR its start, nothing moved), equal to a build from scratch; a page for Q2
    cut at 06-25 reads the cube to 06-19 plus the accounts moved in between (F) and equals the
    ledger from the movements."""
    with org_context(org):
        ledger_cube_refresh(org=org, day=D(2024, 6, 19))
        page = custom(Q2_FIRST, D(2024, 6, 25))
        assert from_cube(page, "persona") == raw(page, "persona")
        stats = ledger_cube_refresh(org=org, day=D(2024, 6, 20))
        assert (stats["rebuilt"], stats["stale_accounts"]) == ("rolled", 1)
        assert cells() == scratch(org, D(2024, 6, 20))
        ledger_cube_refresh(org=org, day=Q2_LAST)
        stats = ledger_cube_refresh(org=org, day=D(2024, 7, 1))
        assert (stats["rebuilt"], stats["periods_built"]) == ("rolled", 0)
        carried = cells()
        july = [r for r in carried if r[0] == D(2024, 7, 1)]
        assert july and all(r[1] == D(2024, 7, 1) for r in july)
        assert carried == scratch(org, D(2024, 7, 1))
        q3 = custom(D(2024, 7, 1), D(2024, 7, 1))
        (total,) = from_cube(q3)
        # start = end = A 1500 + B 1500 + D 800 + E 600 = 4400, four accounts paying
        assert (total["start_mrr"], total["end_mrr"], total["accounts_start"]) == (
            4400.0,
            4400.0,
            4,
        )
        assert from_cube(q3, "csm") == raw(q3, "csm")


def test_a_deleted_movement_reads_the_ledger(org, world):
    """A movement deleted after the refresh (C's churn): the count no longer adds up, the
    cube is not used and the page reads the movements (C still paying: end 4400 + 1000)."""
    acc = world["accounts"]
    with org_context(org):
        ledger_cube_refresh(org=org, day=Q2_LAST)
        MrrMovement.objects.filter(account_id=acc["c"].pk, kind="churn").delete()
        assert sel._cube_ledger(q2(), group="") is None
        (total,) = sel.ledger(q2())
        assert total["end_mrr"] == 5400.0
        assert ledger_cube_refresh(org=org, day=Q2_LAST)["rebuilt"] == "all"
        assert from_cube(q2()) == raw(q2())
