"""GET /api/v1/reports/<name>/: the figures `manage.py report --format json` prints, for a
token of the organization only; bad arguments are a 400 naming the argument, no token a 401.
The fixture and its hand-computed numbers are tests/reports/fixtures.py's."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from orgs.tenancy import org_context
from tests.reports.fixtures import build

pytestmark = pytest.mark.django_db

Q2 = {"from": "2024-04-01", "to": "2024-06-30"}
NAMES = ("trigger_performance", "retention", "portfolio", "effectiveness")


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


def client_of(org, admin) -> APIClient:
    from api.services import token_create

    token = token_create(org=org, name="reports", scope="read", created_by=admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
    return client


@pytest.fixture
def api(org, org_admin, world):
    return client_of(org, org_admin)


def command_json(*args) -> dict:
    out = io.StringIO()
    call_command("report", "--org", "acme", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("name", NAMES)
def test_the_figures_are_the_commands(api, name):
    answer = api.get(f"/api/v1/reports/{name}/", Q2)
    assert answer.status_code == 200, answer.content
    assert answer.json() == command_json("--name", name, "--from", Q2["from"], "--to", Q2["to"])


def test_portfolio_numbers_by_hand(api, csm):
    """Q2 (tests/reports/test_reports.py): GRR 2500 / 4400 = 56.8%, NRR 3000 / 4400 = 68.2%;
    Enterprise (A and B) 83.3% and 100.0%. The CSM's book (A, B, C, E, F) ends at 3600:
    A 1500 + B 1500 + E 600 (C and F churned)."""
    data = api.get("/api/v1/reports/portfolio/", Q2).json()
    (total,) = data["tables"]["mrr"]["totals"]
    assert (total["grr"], total["nrr"], total["end_mrr"]) == (56.8, 68.2, 4400)
    assert data["figures"]["grr"] == 56.8
    per_persona = api.get("/api/v1/reports/portfolio/", {**Q2, "persona": "enterprise"}).json()
    assert per_persona["tables"]["mrr"]["totals"][0]["end_mrr"] == 3000
    book = api.get("/api/v1/reports/portfolio/", {**Q2, "csm": csm.username}).json()
    assert book["tables"]["mrr"]["totals"][0]["end_mrr"] == 3600
    assert book == command_json(
        "--name", "portfolio", "--from", Q2["from"], "--to", Q2["to"], "--csm", csm.username
    )


def test_retention_and_effectiveness_with_their_arguments(api):
    """Retention through the net: F retained, C churned: save rate 1/2 = 50%. Effectiveness
    per trigger: Offer Analytics closed A and B (2), Risk closed C and F (2)."""
    retention = api.get("/api/v1/reports/retention/", {**Q2, "kind": "retention"}).json()
    (total,) = retention["tables"]["monthly"]["totals"]
    assert total["save_rate"] == 50.0
    effect = api.get("/api/v1/reports/effectiveness/", {**Q2, "by": "trigger"}).json()
    closed = {r["group"]: r["closed"] for r in effect["tables"]["effect"]["rows"]}
    assert closed["Offer Analytics"] == 2 and closed["Risk"] == 2


def test_a_token_of_another_organization_sees_its_own_figures(world, other_org):
    """Globex has no account: its portfolio is zeros, never Acme's 4400."""
    from tests.factories import MembershipFactory, UserFactory

    admin = UserFactory(username="gina.globex")
    MembershipFactory(user=admin, organization=other_org, role="admin")
    foreign = client_of(other_org, admin)
    data = foreign.get("/api/v1/reports/portfolio/", Q2).json()
    assert data["organization"] == "globex"
    assert data["tables"]["mrr"]["totals"][0]["end_mrr"] == 0
    # Acme's persona slug is not Globex's: refused, not read
    answer = foreign.get("/api/v1/reports/portfolio/", {**Q2, "persona": "enterprise"})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "persona"


@pytest.mark.parametrize(
    "query, field",
    [
        ({}, "from"),
        ({"from": "2024-13-01"}, "from"),
        ({"from": "2999-01-01"}, "from"),
        ({"from": "2024-06-01", "to": "2024-05-01"}, "from"),
        ({**Q2, "to": "1999-01-01", "from": "1999-01-01"}, "from"),
        ({**Q2, "persona": "nobody"}, "persona"),
        ({**Q2, "product": "nope"}, "product"),
        ({**Q2, "csm": "ghost"}, "csm"),
        ({**Q2, "kind": "bogus"}, "kind"),
        ({**Q2, "by": "colour"}, "by"),
    ],
)
def test_a_bad_argument_is_a_400_naming_it(api, query, field):
    answer = api.get("/api/v1/reports/portfolio/", query)
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["field"] == field and error["message"]


def test_the_funnel_must_be_an_id(api):
    answer = api.get("/api/v1/reports/trigger_performance/", {**Q2, "funnel": "x"})
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "funnel"


def test_no_token_is_a_401(world):
    answer = APIClient().get("/api/v1/reports/portfolio/", Q2)
    assert answer.status_code == 401


def test_the_apis_own_report_endpoints_still_answer(api):
    """The api app's reports beside these keep their routes (not the catch-all 404)."""
    assert api.get("/api/v1/reports/fitness/").status_code == 200
    assert api.get("/api/v1/reports/retention-forecast/").status_code == 200
    assert api.get("/api/v1/reports/nope/").status_code == 404


def test_the_schema_describes_the_four_reports(api):
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    for name in NAMES:
        operation = schema["paths"][f"/api/v1/reports/{name}/"]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"from", "to", "persona", "product", "csm", "kind"} <= names
        assert "400" in operation["responses"] and "401" in operation["responses"]
    portfolio = schema["paths"]["/api/v1/reports/portfolio/"]["get"]
    assert "by" in {p["name"] for p in portfolio["parameters"]}
