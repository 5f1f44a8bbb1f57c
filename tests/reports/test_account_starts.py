"""Each account's first subscription start (reports.start_facts: AccountStart and its state),
which the portfolio's activation table reads: its rows on a hand-made set, a re-run that
changes nothing, a start changed, a subscription added or deleted after the refresh counted
at once, the next refresh leaving the rows a build from scratch gives, and the activation
read through the rows equal to the activation read from the subscriptions, filtered and
grouped."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest

from accounts.models import Subscription
from orgs.tenancy import org_context
from reports.definitions import portfolio
from reports.filters import ReportFilters
from reports.models import AccountStart, AccountStartState
from reports.periods import QUARTER, Period
from reports.selectors import portfolio as sel
from reports.start_facts import account_starts_refresh
from tests import factories as f

pytestmark = pytest.mark.django_db

D = dt.date
Q1 = Period(QUARTER, D(2024, 1, 1), D(2024, 3, 31), D(2024, 3, 31), "2024-Q1")


@pytest.fixture
def world(org):
    """A (gold, start 01-10, activated 01-30), B (gold, starts 02-01 and 03-20, activated
    03-05), C (silver, start 03-15, not activated), Old (gold, start 2023-05-01); A and C of
    one persona."""
    out = {}
    with org_context(org):
        persona = f.PersonaFactory(organization=org)
        for name, tier, start, activated in [
            ("A", "gold", D(2024, 1, 10), D(2024, 1, 30)),
            ("B", "gold", D(2024, 2, 1), D(2024, 3, 5)),
            ("C", "silver", D(2024, 3, 15), None),
            ("Old", "gold", D(2023, 5, 1), D(2023, 6, 1)),
        ]:
            acc = f.AccountFactory(
                organization=org,
                name=name,
                tier=tier,
                customer_since=start,
                activated_on=activated,
                persona=persona if name in ("A", "C") else None,
            )
            out[name] = (acc, f.SubscriptionFactory(account=acc, start_date=start))
            if name == "B":
                f.SubscriptionFactory(account=acc, start_date=D(2024, 3, 20))
        out["persona"] = persona
    return out


def q1(**kw) -> ReportFilters:
    return ReportFilters(period=Q1, today=D(2024, 4, 15), **kw)


def rows() -> list[tuple]:
    return sorted(AccountStart.objects.values_list("account_id", "first_start"))


def raw(filters: ReportFilters, group: str = "") -> list[tuple]:
    """The activation read from the subscriptions, as before the rows."""
    with mock.patch.object(sel, "first_starts_sql", return_value=None):
        return counted(filters, group)


def counted(filters: ReportFilters, group: str = "") -> list[tuple]:
    return sorted(
        (str(r["grp"]), -1 if r["days"] is None else r["days"], r["n"])
        for r in sel.activation(filters, group=group)
    )


def summary(filters: ReportFilters) -> tuple:
    report = portfolio.build(filters, currency="BRL", by="tier", only="activation")
    total = next(t for t in report.tables if t.key == "activation").totals[0].values
    return total["started"], total["activated"], total["median_days"]


def test_the_rows_and_a_rerun(org, world):
    """One row per account with a subscription: A 01-10, B 02-01 (its earlier start), C
    03-15, Old 2023-05-01. A second run finds nothing changed and writes nothing."""
    with org_context(org):
        assert account_starts_refresh(org=org) == {"rebuilt": "all", "rows": 4}
        expected = sorted(
            (world[n][0].pk, d)
            for n, d in (
                ("A", D(2024, 1, 10)),
                ("B", D(2024, 2, 1)),
                ("C", D(2024, 3, 15)),
                ("Old", D(2023, 5, 1)),
            )
        )
        assert rows() == expected
        assert account_starts_refresh(org=org) == {"rebuilt": "none", "rows": 0}
        assert rows() == expected
        assert (
            AccountStartState.objects.get().subscriptions_to == Subscription.objects.latest("pk").pk
        )


def test_the_rows_give_the_activation_the_subscriptions_give(org, world):
    """Q1 through the rows: 3 started (A, B, C), 2 activated, median (20 + 33) / 2 = 26.5
    days; per tier the same counts as read from the subscriptions. The persona's page (A
    and C: 2 started, 1 activated, 20 days) reads its few accounts' subscriptions."""
    with org_context(org):
        account_starts_refresh(org=org)
        assert summary(q1()) == (3, 2, 26.5)
        assert counted(q1(), "tier") == raw(q1(), "tier")
        assert counted(q1(), "tier") == [("gold", 20, 1), ("gold", 33, 1), ("silver", -1, 1)]
        mine = q1(persona_id=world["persona"].pk)
        with mock.patch.object(sel, "first_starts_sql", side_effect=AssertionError):
            assert counted(mine, "persona") == raw(mine, "persona")
        assert counted(mine) == [("None", -1, 1), ("None", 20, 1)]


def test_changes_after_the_refresh_count_at_once(org, world):
    """After the refresh: C's start moves to 2023-12-01 (before Q1: no longer started in
    it), a new account N gets a subscription starting 02-10 (not activated), and B's first
    subscription is deleted (its first start is now 03-20: activated 03-05, -15 days). Q1
    reads 3 started (A, B, N), 2 activated, median (20 - 15) / 2 = 2.5, as the subscriptions
    say; the next refresh rewrites those accounts and leaves what a build from scratch
    gives."""
    acc_b, sub_b = world["B"]
    acc_c, sub_c = world["C"]
    with org_context(org):
        account_starts_refresh(org=org)
        Subscription.objects.filter(pk=sub_c.pk).update(start_date=D(2023, 12, 1))
        new = f.AccountFactory(organization=org, name="N", tier="silver")
        f.SubscriptionFactory(account=new, start_date=D(2024, 2, 10))
        Subscription.objects.filter(pk=sub_b.pk).delete()
        assert counted(q1(), "tier") == raw(q1(), "tier")
        assert summary(q1()) == (3, 2, 2.5)
        assert account_starts_refresh(org=org)["rebuilt"] == "changed"
        rolled = rows()
        assert (acc_c.pk, D(2023, 12, 1)) in rolled and (new.pk, D(2024, 2, 10)) in rolled
        AccountStartState.objects.all().delete()
        account_starts_refresh(org=org)
        assert rows() == rolled
        assert summary(q1()) == (3, 2, 2.5)
