"""The report pages as people use them: each role opens them, a CSM sees only their own
book, the filter bar lives in the URL and refuses bad values by name, every number links to
the rows behind it, and each table exports as the CSV of exactly what is shown."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from orgs.tenancy import org_context
from reports.filters import FILTER_PARAMS
from tests import factories as f
from tests.reports.fixtures import build
from triggers.models import Trigger

pytestmark = pytest.mark.django_db

Q2 = "period=quarter&at=2024-Q2"
REPORT_NAMES = ("trigger_performance", "retention", "portfolio", "effectiveness")


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


def page(client, name, query=Q2, **kw):
    return client.get(f"{reverse('reports:report', args=[name])}?{query}", **kw)


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_every_report_opens_for_each_role_in_few_queries(
    client, world, manager, analyst, org_admin, csm, name, django_assert_max_num_queries
):
    for user in (manager, analyst, org_admin, csm):
        client.force_login(user)
        with django_assert_max_num_queries(45):
            response = page(client, name)
        assert response.status_code == 200, (user, name)
        html = response.content.decode()
        assert "How is this computed?" in html
        assert "Export CSV" in html
        assert 'data-chart="' in html or name == "effectiveness"


def test_the_nav_offers_the_reports(client, world, manager, csm):
    client.force_login(manager)
    html = client.get(reverse("workspace:my_work")).content.decode()
    assert f'href="{reverse("reports:home")}"' in html and ">Reports<" in html
    client.force_login(csm)
    html = client.get(reverse("workspace:my_work")).content.decode()
    assert ">My reports<" in html


def test_the_home_shows_the_headline_figures_with_links(client, world, manager):
    client.force_login(manager)
    html = client.get(reverse("reports:home") + "?" + Q2).content.decode()
    assert "Your team at a glance" in html
    for name in REPORT_NAMES:
        assert reverse("reports:report", args=[name]) in html
    assert "NRR" in html and "Trigger conversion" in html
    assert "2 of 5 playbooks" in html  # A won, F retained, of the 5 playbooks of Q2


def test_a_csm_sees_their_own_book_only(client, org, world, csm):
    """Delta (no owner) came back in May with R$ 800: the whole portfolio ends Q2 at
    R$ 4,400; the CSM's book, without Delta, at R$ 3,600. A CSM cannot ask for another CSM's
    book: the parameter is not theirs to set."""
    other = f.UserFactory(username="other.csm")
    f.MembershipFactory(user=other, organization=org, role="csm")
    client.force_login(csm)
    response = client.get(
        f"{reverse('reports:report', args=['portfolio'])}?{Q2}&by=&csm={other.pk}&export=mrr"
    )
    rows = csv_rows(response)
    total = rows[-1]
    header = rows[2]
    assert total[header.index("MRR at end (BRL)")] == "3600"
    html = page(client, "portfolio").content.decode()
    assert "Your own book" in html and 'name="csm"' not in html


def test_a_manager_filters_by_csm_and_persona(client, world, manager, csm):
    client.force_login(manager)
    rows = csv_rows(page(client, "portfolio", Q2 + "&by=&export=mrr"))
    header = rows[2]
    assert rows[-1][header.index("MRR at end (BRL)")] == "4400"
    rows = csv_rows(page(client, "portfolio", Q2 + f"&by=&csm={csm.pk}&export=mrr"))
    assert rows[-1][header.index("MRR at end (BRL)")] == "3600"
    assert "CSM: " in rows[1][0]
    persona = world["persona"].pk
    rows = csv_rows(page(client, "portfolio", Q2 + f"&by=&persona={persona}&export=mrr"))
    assert rows[-1][header.index("MRR at end (BRL)")] == "3000"


@pytest.mark.parametrize(
    "query, field, words",
    [
        ("period=month&at=2099-01", "Which", "has not begun yet"),
        ("period=quarter&at=2024-Q7", "Which", "is not a quarter"),
        ("period=custom&from=2024-05-01&to=2024-04-01", "From", "is after"),
        ("period=custom&from=2024-05-01", "To", "needs both dates"),
        ("period=custom&from=1999-01-01&to=2000-01-05", "From", "before 2000"),
        ("persona=99999999", "Persona", "Select a valid choice"),
        ("kind=nonsense", "Trigger kind", "Select a valid choice"),
        ("by=colour", "Break down by", "choose one of"),
    ],
)
def test_bad_filters_are_named_and_left_out(client, world, manager, query, field, words):
    client.force_login(manager)
    response = page(client, "portfolio", query)
    assert response.status_code == 200
    html = response.content.decode()
    assert "could not be used and were left out" in html
    assert re.search(rf"<li>{re.escape(field)}: [^<]*{re.escape(words)}", html), html[:3000]


def test_another_organizations_persona_is_refused(client, world, manager, other_org):
    theirs = f.PersonaFactory(organization=other_org, name="Theirs", slug="theirs")
    client.force_login(manager)
    html = page(client, "portfolio", Q2 + f"&persona={theirs.pk}").content.decode()
    assert "Persona: " in html and "left out" in html
    assert "Theirs" not in html


def test_an_unknown_export_or_report_is_a_clear_refusal(client, world, manager):
    client.force_login(manager)
    response = page(client, "retention", Q2 + "&export=nope")
    assert response.status_code == 400
    assert "export=nope: this report has no such table" in response.content.decode()
    assert client.get("/reports/nonsense/").status_code == 404


def test_a_changed_period_kind_takes_that_kind_s_latest(client, world, manager):
    """The period select changed from quarter to year: the quarter's key no longer fits, the
    year so far is shown (not an error)."""
    client.force_login(manager)
    html = page(client, "retention", "period=year&at=2024-Q2").content.decode()
    assert "left out" not in html
    assert re.search(r'<option value="\d{4}" selected>\d{4} \(to date\)</option>', html)


def test_htmx_gets_the_report_part_only(client, world, manager):
    client.force_login(manager)
    response = page(client, "trigger_performance", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="report-page"')
    assert "<html" not in html


def test_the_csv_export_is_the_table_shown_and_neutralizes_formulas(client, org, world, manager):
    """A trigger named like a formula is written with a leading apostrophe; numbers stay
    numbers, the undefined conversion of a trigger that never fired is "—"."""
    Trigger.all_objects.filter(pk=world["triggers"]["welcome"].pk).update(
        name='=HYPERLINK("http://evil.example","x")'
    )
    client.force_login(manager)
    response = page(client, "trigger_performance", Q2 + "&export=triggers")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0][0] == "Acme CS · Trigger performance · Firings to outcomes, per trigger"
    assert rows[1][0].startswith("Q2 2024")
    header = rows[2]
    by_name = {r[0]: r for r in rows[3:]}
    evil = by_name['\'=HYPERLINK("http://evil.example","x")']
    assert evil[header.index("Conversion (%)")] == "—"
    v1 = by_name["Offer Analytics · v1"]
    assert v1[header.index("Firings")] == "2" and v1[header.index("Conversion (%)")] == "50.0"
    assert by_name["All triggers"][header.index("Playbooks")] == "5"


def test_every_number_links_to_the_rows_behind_it(client, world, manager):
    """The won cell of Offer Analytics v1 lists Alfa's won playbook, its firings cell Alfa's
    and Bravo's firings; the churned MRR of the portfolio lists Charlie and Foxtrot; a
    drill-down exports as CSV too."""
    client.force_login(manager)
    html = page(client, "trigger_performance").content.decode()
    t1 = world["triggers"]["offer"].pk
    won = re.search(
        rf'href="(/reports/trigger_performance/expansion/won/\?[^"]*trigger={t1}&amp;version=1)"',
        html,
    )
    assert won, "the won cell links to its playbooks"
    listing = client.get(won.group(1).replace("&amp;", "&")).content.decode()
    assert "Alfa" in listing and "Bravo" not in listing
    assert "1 row" in listing
    fired = re.search(
        rf'href="(/reports/trigger_performance/triggers/firings/\?[^"]*trigger={t1}&amp;version=1)"',
        html,
    )
    listing = client.get(fired.group(1).replace("&amp;", "&")).content.decode()
    # Offer Analytics v1 fired for Alfa and Bravo; Risk's firings (Charlie...) are not its
    assert "2 rows" in listing and "Bravo" in listing and "Charlie" not in listing
    html = page(client, "portfolio", Q2 + "&by=").content.decode()
    churned = re.search(r'href="(/reports/portfolio/mrr/churned/\?[^"]*)"', html).group(1)
    url = churned.replace("&amp;", "&")
    listing = client.get(url).content.decode()
    assert "Charlie" in listing and "Foxtrot" in listing and "Alfa" not in listing
    rows = csv_rows(client.get(url + "&export=csv"))
    assert sorted(r[0] for r in rows[3:]) == ["Charlie", "Foxtrot"]


@pytest.mark.parametrize(
    "url",
    [
        "/reports/trigger_performance/triggers/won/?trigger=abc",
        "/reports/retention/monthly/raised/?month=2024-13",
        "/reports/portfolio/mrr/churned/?grp=x1&by=persona",
        "/reports/portfolio/mrr/nonsense/",
    ],
)
def test_a_drill_down_that_is_not_one_says_why(client, world, manager, url):
    client.force_login(manager)
    response = client.get(url)
    assert response.status_code == 400
    assert "This list cannot be shown" in response.content.decode()
    assert client.get("/reports/portfolio/nonsense/won/").status_code == 404


def test_a_user_without_organization_gets_the_clear_page(client):
    loner = f.UserFactory(username="loner")
    client.force_login(loner)
    assert client.get(reverse("reports:home")).status_code == 403


def drill_links(html: str) -> list[str]:
    return sorted(
        {
            m.replace("&amp;", "&")
            for m in re.findall(r'href="(/reports/[a-z_]+/[a-z_0-9]+/[a-z_0-9]+/\?[^"]*)"', html)
        }
    )


@pytest.mark.parametrize(
    "name, query",
    [
        ("trigger_performance", Q2),
        ("retention", Q2),
        ("portfolio", Q2),
        ("portfolio", Q2 + "&by="),
        ("portfolio", Q2 + "&by=csm"),
        ("effectiveness", Q2),
        ("effectiveness", Q2 + "&by=trigger"),
    ],
)
def test_every_drill_down_on_a_page_lists_its_rows(client, world, manager, csm, name, query):
    """Each link a report page shows (figures, cells, totals) opens a list with at least one
    row (a link is only drawn on a number other than 0). A CSM's lists hold their own book:
    Delta, the account nobody owns, is never in them. A link keeps the page's filters (a
    row's key named like a filter, e.g. a churned product as `product`, would be read as the
    filter); only a total may name its trigger kind."""
    for user in (manager, csm):
        client.force_login(user)
        html = page(client, name, query).content.decode()
        links = drill_links(html)
        assert len(links) >= 3, (name, links)
        for url in links:
            linked = parse_qs(urlsplit(url).query)
            for param in set(FILTER_PARAMS) - {"kind"}:
                assert linked.get(param) == parse_qs(Q2).get(param), (url, param)
            response = client.get(url)
            assert response.status_code == 200, (user.username, url)
            listing = response.content.decode()
            assert re.search(r"\b[1-9][\d,]* rows?\b", listing), (user.username, url)
            if user == csm:
                assert "Delta" not in listing, url
