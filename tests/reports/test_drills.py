"""The drill-downs issue 11 adds: the numbers that had none (a cohort triangle's cells) open
the accounts behind them, and the list's count is the number the page shows."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from orgs.tenancy import org_context
from tests.reports.fixtures import build

pytestmark = pytest.mark.django_db

Q2 = "period=quarter&at=2024-Q2"


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


def links(html: str, table: str, column: str) -> list[str]:
    pattern = rf'href="(/reports/portfolio/{table}/{column}/\?[^"]*)"'
    return [m.replace("&amp;", "&") for m in re.findall(pattern, html)]


def count(listing: str) -> int:
    return int(re.search(r"\b(\d[\d,]*) rows?\b", listing).group(1).replace(",", ""))


def test_a_cohort_cell_lists_the_cohorts_paying_accounts(client, world, manager):
    """The cohorts of Q2's last twelve months: only Echo became a customer in them (April
    2024, Core 600 from 04-15, no later movement), so April's M0, M1 and M2 are each
    600 / 600 = 100%, and each lists Echo alone: 1 account, the cohort's Accounts figure.
    Months after June are still to come: no cell, no link."""
    client.force_login(manager)
    url = f"{reverse('reports:report', args=['portfolio'])}?{Q2}"
    html = client.get(url).content.decode()
    for k in range(3):
        (cell,) = [u for u in links(html, "cohorts", f"m{k}") if "cohort=2024-04" in u]
        listing = client.get(cell).content.decode()
        assert count(listing) == 1 and "Echo" in listing and "Alfa" not in listing
    assert links(html, "cohorts", "m3") == []
    (size,) = {u for u in links(html, "cohorts", "cohort") if "cohort=2024-04" in u}
    assert count(client.get(size).content.decode()) == 1


def test_a_churned_account_leaves_the_cohort_cell(client, world, manager, csm, org):
    """Echo contracts to zero on 05-20 (−600): April's M0 is still 100% (Echo at 600 at the
    end of April) and lists Echo; M1 is 0 / 600 = 0% and has no link (a zero links nothing);
    asked anyway, its list is empty: 0 rows, the 0% shown."""
    import datetime as dt
    from decimal import Decimal

    from accounts.models import MrrMovement

    with org_context(org):
        first = MrrMovement.all_objects.filter(organization=org, account__name="Echo").first()
        MrrMovement.all_objects.create(
            organization=org,
            account=first.account,
            subscription=first.subscription,
            date=dt.date(2024, 5, 20),
            kind="contraction",
            delta_mrr=Decimal("-600"),
        )
    client.force_login(manager)
    html = client.get(f"{reverse('reports:report', args=['portfolio'])}?{Q2}").content.decode()
    (m0,) = [u for u in links(html, "cohorts", "m0") if "cohort=2024-04" in u]
    assert "Echo" in client.get(m0).content.decode()
    assert [u for u in links(html, "cohorts", "m1") if "cohort=2024-04" in u] == []
    listing = client.get(m0.replace("/m0/", "/m1/")).content.decode()
    assert count(listing) == 0
