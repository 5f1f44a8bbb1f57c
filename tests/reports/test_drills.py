"""The drill-downs issue 11 adds: the numbers that had none (a cohort triangle's cells) open
the accounts behind them, and the list's count is the number the page shows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from orgs.tenancy import org_context
from tests.reports.fixtures import build

pytestmark = pytest.mark.django_db

Q2 = "period=quarter&at=2024-Q2"
D = dt.date


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


def report_links(html: str, report: str, table: str, column: str) -> list[str]:
    pattern = rf'href="(/reports/{report}/{table}/{column}/\?[^"]*)"'
    return [m.replace("&amp;", "&") for m in re.findall(pattern, html)]


def test_the_share_of_the_reversal_goal_lists_the_playbooks_it_counts(client, world, manager):
    """Q2's safety net: Foxtrot's retention playbook closed retained on 05-30, Charlie's
    churned on 06-10. Save rate 1 / (1 + 1) = 50%; the goal is the default 70%, so 50 / 70
    = 71.4% of it, and behind it the 2 decided playbooks (the save rate's denominator). May
    alone: 1 / 1 = 100%, 142.9% of the goal, behind it Foxtrot's 1 playbook; June's 0% links
    nothing."""
    client.force_login(manager)
    html = client.get(f"{reverse('reports:report', args=['retention'])}?{Q2}").content.decode()
    found = report_links(html, "retention", "monthly", "goal_share")
    assert "71.4%" in html
    whole_period = [u for u in found if "month=" not in u]
    assert len(whole_period) == 1
    listing = client.get(whole_period[0]).content.decode()
    assert count(listing) == 2 and "Charlie" in listing and "Foxtrot" in listing
    assert "1 reverted of 2 decided" in listing and "71.4%" in listing
    (may,) = [u for u in found if "month=2024-05" in u]
    listing = client.get(may).content.decode()
    assert count(listing) == 1 and "Foxtrot" in listing and "Charlie" not in listing
    assert "142.9%" in listing
    assert [u for u in found if "month=2024-06" in u] == []


def test_the_baseline_without_a_playbook_lists_its_comparison_accounts(client, world, manager, org):
    """Alfa's expansion playbook (Offer Analytics) closed on 2024-04-25, week of Monday
    04-22, week end 04-28; Alfa was green (80 on 04-23). Its comparison group: Enterprise
    accounts green at the week's end, scored again within 6 days before 04-28 + 30 = 05-28,
    with no playbook open that week: Golf (80 on 04-28, 84 on 05-28: +4) and Hotel (90 on
    04-27, 92 on 05-26: +2): baseline (4 + 2) / 2 = +3.0, behind it 2 accounts. Alfa has its
    own playbook and Bravo one open (Offer, 04-12 to 05-20): neither is in it. India is
    Enterprise and green but scored again only on 06-10 (not within 05-22..05-28): out too.
    At 90 days (04-28 + 90 = 07-27): Golf 78 on 07-25 (−2), Hotel 92 on 07-27 (+2): 0.0,
    no link (a zero links nothing), and asked anyway the same 2 accounts."""
    from health.models import HealthScore
    from reports.services import facts_refresh
    from tests import factories as f

    a, b = world["accounts"]["a"], world["accounts"]["b"]
    persona = world["persona"]
    with org_context(org):
        g = f.AccountFactory(organization=org, name="Golf", persona=persona)
        h = f.AccountFactory(organization=org, name="Hotel", persona=persona)
        i = f.AccountFactory(organization=org, name="India", persona=persona)
        for account, day, score in (
            (a, D(2024, 4, 23), 80),
            (a, D(2024, 5, 25), 90),
            (a, D(2024, 7, 20), 70),
            (b, D(2024, 4, 28), 85),
            (b, D(2024, 5, 28), 60),
            (g, D(2024, 4, 28), 80),
            (g, D(2024, 5, 28), 84),
            (g, D(2024, 7, 25), 78),
            (h, D(2024, 4, 27), 90),
            (h, D(2024, 5, 26), 92),
            (h, D(2024, 7, 27), 92),
            (i, D(2024, 4, 28), 88),
            (i, D(2024, 6, 10), 50),
        ):
            colour = "green" if score > 75 else "yellow"
            HealthScore.all_objects.create(
                organization=org, account=account, date=day, score=score, colour=colour
            )
        facts_refresh(org=org, day=D(2024, 8, 1), rebuild=True)
    client.force_login(manager)
    url = f"{reverse('reports:report', args=['effectiveness'])}?{Q2}"
    html = client.get(url).content.decode()
    found = report_links(html, "effectiveness", "effect", "baseline_30")
    offer = world["templates"]["offer"].pk
    (row,) = [u for u in found if f"grp={offer}" in u]
    (total,) = [u for u in found if "grp=" not in u]
    for link in (row, total):
        listing = client.get(link).content.decode()
        assert count(listing) == 2 and "Golf" in listing and "Hotel" in listing
        assert all(name not in listing for name in ("Alfa", "Bravo", "India"))
        assert "1 comparison group" in listing
    assert report_links(html, "effectiveness", "effect", "baseline_90") == []
    listing = client.get(row.replace("/baseline_30/", "/baseline_90/")).content.decode()
    assert count(listing) == 2 and "Golf" in listing and "Hotel" in listing
