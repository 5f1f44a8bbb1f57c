"""The monthly MRR facts (reports.models.MrrMonth), which the portfolio's ledger reads: their
rows on the hand-built ledger of tests/reports/fixtures.py, a re-run that replaces rather
than adds, an account moved since rebuilt alone, and the ledger read from them equal to the
ledger read from the movements (the hand-computed figures of tests/reports/test_reports.py),
live: a movement written after the refresh counts at once, a deleted one sends the page
back to the movements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest

from accounts.models import MrrMovement
from orgs.tenancy import org_context
from reports.filters import ReportFilters
from reports.ledger_facts import months_usable, mrr_months_refresh
from reports.models import MrrMonth, MrrMonthState
from reports.periods import QUARTER, Period
from reports.selectors import portfolio as sel
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


def custom(first: dt.date, last: dt.date, **kw) -> ReportFilters:
    return ReportFilters(period=Period("custom", first, last, last, ""), today=TODAY, **kw)


def rows_of(account) -> list[tuple]:
    return list(
        MrrMonth.objects.filter(account_id=account.pk)
        .order_by("month")
        .values_list(
            "month",
            "new",
            "expansion",
            "reactivation",
            "contraction",
            "churned",
            "net",
            "mrr_end",
            "latest",
            "first_date",
        )
    )


def raw(f: ReportFilters, group: str = "") -> list[dict]:
    """The ledger read from the movements, as before the facts."""
    with mock.patch.object(sel, "months_usable", return_value=None):
        return sorted(sel.ledger(f, group=group), key=lambda r: str(r["grp"]))


def from_facts(f: ReportFilters, group: str = "") -> list[dict]:
    assert months_usable() is not None
    return sorted(sel.ledger(f, group=group), key=lambda r: str(r["grp"]))


def test_the_rows_of_the_fixture(org, world):
    """One row per account and month with movements, in whole cents (floats): 13 movements
    in 13 different account-months. D: new 800 in 2023-01 (MRR 800), churned 800 in 2024-01
    (MRR 0), came back 800 in 2024-05 (MRR 800, its latest month). F: new 400 in 2023-06
    (400), +100 in 2024-04 (500), churned 500 in 2024-06 (0, latest). The state says 13
    movements up to the last one's id."""
    acc = world["accounts"]
    with org_context(org):
        assert mrr_months_refresh(org=org) == {"rebuilt": "all", "rows": 13}
        first = D(2023, 1, 1)
        assert rows_of(acc["d"]) == [
            (D(2023, 1, 1), 80000, 0, 0, 0, 0, 80000, 80000, False, first),
            (D(2024, 1, 1), 0, 0, 0, 0, 80000, -80000, 0, False, first),
            (D(2024, 5, 1), 0, 0, 80000, 0, 0, 80000, 80000, True, first),
        ]
        first = D(2023, 6, 1)
        assert rows_of(acc["f"]) == [
            (D(2023, 6, 1), 40000, 0, 0, 0, 0, 40000, 40000, False, first),
            (D(2024, 4, 1), 0, 10000, 0, 0, 0, 10000, 50000, False, first),
            (D(2024, 6, 1), 0, 0, 0, 0, 50000, -50000, 0, True, first),
        ]
        assert MrrMonth.objects.count() == 13
        state = MrrMonthState.objects.get()
        assert state.movements == 13
        assert state.last_movement == MrrMovement.objects.order_by("-pk").first().pk


def test_a_rerun_replaces_and_a_moved_account_is_rebuilt_alone(org, world):
    """Run twice: still 13 rows, nothing rebuilt the second time. A expands by 250 on
    2024-05-20: only A is rebuilt (its 2 months); its May row says expansion 500 + 250 = 750
    and MRR 1000 + 750 = 1750; a new movement in July adds A's third month. B's rows (written
    by the first run) are not touched: a hand-changed value of theirs stays."""
    acc = world["accounts"]
    with org_context(org):
        mrr_months_refresh(org=org)
        assert mrr_months_refresh(org=org) == {"rebuilt": "none", "rows": 0}
        assert MrrMonth.objects.count() == 13
        MrrMonth.objects.filter(account_id=acc["b"].pk).update(new=7)
        for day, delta in ((D(2024, 5, 20), 250), (D(2024, 7, 2), 50)):
            MrrMovement.all_objects.create(
                organization=org, account=acc["a"], date=day, kind="expansion", delta_mrr=delta
            )
        assert mrr_months_refresh(org=org) == {"rebuilt": "moved", "rows": 3}
        may, july = rows_of(acc["a"])[1:]
        assert may[0] == D(2024, 5, 1) and may[2] == 75000 and may[7] == 175000
        assert july[0] == D(2024, 7, 1) and july[7] == 180000 and july[8] is True
        assert MrrMonth.objects.count() == 14
        assert set(MrrMonth.objects.filter(account_id=acc["b"].pk).values_list("new", flat=True))
        assert MrrMonth.objects.filter(account_id=acc["b"].pk, new=7).count() == 2


@pytest.mark.parametrize("group", ["", "persona", "csm", "tier"])
def test_the_ledger_from_the_facts_is_the_ledger(org, world, group):
    """Q2 from the facts equals Q2 from the movements, per group; the hand figures (whole
    portfolio): base 4 accounts, start 4400, new 600, expansion 600, came back 800,
    contraction 500, churned 1500, end 4400, base losses capped 1900."""
    with org_context(org):
        mrr_months_refresh(org=org)
        facts = from_facts(q2(), group)
        assert facts == raw(q2(), group)
        if not group:
            (total,) = facts
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


@pytest.mark.parametrize(
    "first,last",
    [
        (D(2024, 4, 10), D(2024, 6, 15)),  # both ends cut a month
        (D(2024, 5, 5), D(2024, 5, 25)),  # inside one month
        (D(2024, 1, 1), D(2024, 3, 31)),  # whole months before most movements
        (D(2022, 1, 1), D(2022, 12, 31)),  # before every movement: no accounts
    ],
)
def test_periods_that_cut_months_read_the_cut_days(org, world, first, last):
    """04-10..06-15: the base on 04-09 is A 1000, B 2000, C 1000, F 400 + 100 = 500 (its
    expansion on 04-05 is before the period) = 4500; in the period E's new 600 (04-15), B's
    contraction 500 (04-20), A's expansion 500 (05-10), D back 800, C churned 1000 (06-10);
    F's churn of 06-20 is after it. 2022: nobody had MRR, no account is counted at all."""
    with org_context(org):
        mrr_months_refresh(org=org)
        for group in ("", "persona"):
            assert from_facts(custom(first, last), group) == raw(custom(first, last), group)
        if first == D(2024, 4, 10):
            (total,) = from_facts(custom(first, last))
            assert total["start_mrr"] == 4500.0 and total["new_mrr"] == 600.0
            assert total["churned"] == 1000.0 and total["expansion"] == 500.0
        if first.year == 2022:
            assert from_facts(custom(first, last), "persona") == []


def test_the_page_reads_the_facts_and_stays_live(org, world, csm):
    """The facts are what is read: a hand-changed A (MRR 1 cent more) shows in the base.
    After the refresh A expands by 250 on 06-15: counted at once (end 4400 + 250 = 4650),
    for the whole portfolio and the CSM's book (3600 + 250), the fact rows untouched. A
    movement deleted, the count no longer adds up: the movements are read again (the
    hand-changed cent is gone)."""
    acc = world["accounts"]
    with org_context(org):
        mrr_months_refresh(org=org)
        MrrMonth.objects.filter(account_id=acc["a"].pk).update(mrr_end=models_f("mrr_end") + 1)
        (total,) = sel.ledger(q2())
        assert total["start_mrr"] == 4400.01
        MrrMonth.objects.filter(account_id=acc["a"].pk).update(mrr_end=models_f("mrr_end") - 1)
        MrrMovement.all_objects.create(
            organization=org,
            account=acc["a"],
            date=D(2024, 6, 15),
            kind="expansion",
            delta_mrr=Decimal(250),
        )
        assert MrrMonth.objects.count() == 13
        (total,) = sel.ledger(q2())
        assert total["end_mrr"] == 4650.0 and total["expansion"] == 850.0
        assert sel.ledger(q2()) == raw(q2())
        (book,) = sel.ledger(q2(owner_id=csm.pk))
        assert book["end_mrr"] == 3850.0
        MrrMonth.objects.filter(account_id=acc["a"].pk).update(mrr_end=models_f("mrr_end") + 1)
        MrrMovement.objects.filter(account=acc["e"]).delete()
        assert months_usable() is None
        (total,) = sel.ledger(q2())
        assert total["start_mrr"] == 4400.0 and total["new_mrr"] == 0.0


def test_the_drill_down_lists_the_same_accounts(org, world):
    """The accounts behind each ledger number are the same from the facts as from the
    movements: the base A, B, C, F; lost C, F; came back D; new E."""
    from django.db.models.expressions import RawSQL

    from accounts.models import Account

    acc = world["accounts"]
    with org_context(org):
        mrr_months_refresh(org=org)
        for condition, names in (
            ("base", "abcf"),
            ("lost", "cf"),
            ("reactivation", "d"),
            ("new", "e"),
        ):
            sql, params = sel.ledger_accounts_sql(q2(), condition=condition)
            ids = set(
                Account.objects.filter(pk__in=RawSQL(sql, params)).values_list("pk", flat=True)
            )
            assert ids == {acc[n].pk for n in names}


def models_f(name):
    from django.db.models import F

    return F(name)


def monthly(f: ReportFilters) -> dict:
    out = {}
    for r in sel.ledger_monthly(f):
        if float(r["mrr"]):
            out[(r["month"], r["kind"])] = float(r["mrr"])
    return out


def test_the_months_table_from_the_facts(org, world):
    """Q2 month by month (tests/reports/test_reports.py): April new 600, expansion 100,
    contraction −500; May expansion 500, came back 800; June churn −1000 − 500 = −1500. The
    same from the facts as from the movements, for Q2 and for 04-10..06-15 (April without
    F's +100 of 04-05, June without F's churn of 06-20), and with a movement written after
    the refresh (June: A +250)."""
    acc = world["accounts"]
    with org_context(org):
        mrr_months_refresh(org=org)
        expected = {
            (D(2024, 4, 1), "new"): 600.0,
            (D(2024, 4, 1), "expansion"): 100.0,
            (D(2024, 4, 1), "contraction"): -500.0,
            (D(2024, 5, 1), "expansion"): 500.0,
            (D(2024, 5, 1), "reactivation"): 800.0,
            (D(2024, 6, 1), "churn"): -1500.0,
        }
        assert monthly(q2()) == expected
        with mock.patch.object(sel, "months_usable", return_value=None):
            assert monthly(q2()) == expected
        cut = custom(D(2024, 4, 10), D(2024, 6, 15))
        assert monthly(cut) == {
            **{k: v for k, v in expected.items() if k != (D(2024, 4, 1), "expansion")},
            (D(2024, 6, 1), "churn"): -1000.0,
        }
        MrrMovement.all_objects.create(
            organization=org, account=acc["a"], date=D(2024, 6, 15), kind="expansion", delta_mrr=250
        )
        assert monthly(q2())[(D(2024, 6, 1), "expansion")] == 250.0
        with mock.patch.object(sel, "months_usable", return_value=None):
            raw_q2 = monthly(q2())
        assert monthly(q2()) == raw_q2


def test_each_accounts_mrr_on_a_day(org, world):
    """What the nightly snapshot counts as each account's MRR: on 06-30 A 1500, B 1500, C 0,
    D 800, E 600, F 0; on 04-10 A 1000, B 2000, C 1000, D 0 (churned in January), F 500,
    and E, whose first movement is on 04-15, not at all. Without facts: None (the snapshot
    reads the movements)."""
    acc = world["accounts"]
    with org_context(org):
        assert sel.mrr_on(D(2024, 6, 30)) is None
        mrr_months_refresh(org=org)
        names = {a.pk: n for n, a in acc.items()}
        june = {names[a]: m for a, m in sel.mrr_on(D(2024, 6, 30))}
        assert june == {"a": 1500, "b": 1500, "c": 0, "d": 800, "e": 600, "f": 0}
        april = {names[a]: m for a, m in sel.mrr_on(D(2024, 4, 10))}
        assert april == {"a": 1000, "b": 2000, "c": 1000, "d": 0, "f": 500}
