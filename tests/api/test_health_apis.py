"""The API's reads of health that explain and judge the score: why an account's score moved
(between two days, and day by day) and the models' fitness, the same numbers as the
commands, on hand-computed fixtures (tests/builders.two_scored_days)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from health.models import HealthModel, HealthScore
from health.selectors import model_fitness
from orgs.tenancy import org_context
from tests import factories as f
from tests.builders import DAY, two_scored_days

pytestmark = pytest.mark.django_db

URL = "/api/v1/health/scores/explain/"
FROM = (DAY - dt.timedelta(days=30)).isoformat()
MID = DAY - dt.timedelta(days=15)
USAGE, TICKETS, NPS = "usage_frequency:30:logins", "tickets_over_sla:90", "nps_latest:365"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def contributions(explanation: dict) -> dict:
    return {line["key"]: line["contribution"] for line in explanation["lines"]}


def test_the_move_between_two_days_is_split_by_indicator(api, org):
    """DAY − 30 (version 1, 74) to DAY (version 2, 35): −39 = usage 22.5 − 36 = −13.5,
    tickets 12.5 − 20 = −7.5, NPS 0 − 18 = −18 (missing on DAY, so usage's and tickets' weights
    were re-shared: 0.6 → 0.75 and 0.2 → 0.25); rounding 0; the version change is its own
    line."""
    two_scored_days(org)
    response = api.get(URL, {"account": "ACME", "from": FROM, "to": DAY.isoformat()})
    assert response.status_code == 200, response.content
    data = response.json()
    between = data["between"]
    assert data["account"] == "ACME" and data["asked"] == {"from": FROM, "to": "2024-06-30"}
    assert (between["from"]["score"], between["to"]["score"], between["change"]) == (74, 35, -39)
    assert contributions(between) == {USAGE: -13.5, TICKETS: -7.5, NPS: -18.0}
    assert between["rounding"] == 0
    usage = next(line for line in between["lines"] if line["key"] == USAGE)
    assert (usage["from_share"], usage["to_share"], usage["reshared"]) == (0.6, 0.75, True)
    assert (usage["from_raw"], usage["to_raw"]) == (18.0, 9.0)
    nps = next(line for line in between["lines"] if line["key"] == NPS)
    assert nps["missing_on"] == ["to"] and nps["reshared"] is False
    assert between["to"]["missing"] == [NPS]
    assert between["model_change"] == {
        "from_model": "Default",
        "to_model": "Default",
        "from_version": 1,
        "to_version": 2,
        "same_model": True,
    }
    assert "days" not in data


def test_the_api_gives_the_same_numbers_as_health_explain(api, org):
    two_scored_days(org)
    out = StringIO()
    call_command(
        "health_explain", "--org", "acme", "--account", "ACME", "--from", FROM, "--to",
        DAY.isoformat(), stdout=out,
    )  # fmt: skip
    printed = json.loads(out.getvalue())
    between = api.get(URL, {"account": "ACME", "from": FROM, "to": DAY.isoformat()}).json()[
        "between"
    ]
    for key in ("change", "lines", "rounding", "reshared", "model_change", "from", "to"):
        assert between[key] == printed[key], key


def test_day_by_day_the_changes_add_up_to_the_whole_move(api, org):
    """A third scored day between the two, DAY − 15 (version 1): usage 12 days → 40 × 0.6 =
    24, tickets 100 × 0.2 = 20, NPS 90 × 0.2 = 18: 62.
      DAY − 30 → DAY − 15: 62 − 74 = −12 = usage 24 − 36 = −12, tickets 0, NPS 0; same version
      DAY − 15 → DAY:      35 − 62 = −27 = usage 22.5 − 24 = −1.5, tickets −7.5, NPS −18;
                           version 1 → 2
      −12 − 27 = −39, the whole move."""
    account, model = two_scored_days(org)
    HealthScore.all_objects.create(
        organization=org,
        account=account,
        date=MID,
        model=model,
        model_version=1,
        score=62,
        colour="yellow",
        breakdown={USAGE: [12.0, 40.0, 0.6], TICKETS: [0.0, 100.0, 0.2], NPS: [9.0, 90.0, 0.2]},
    )
    data = api.get(
        URL, {"account": "ACME", "from": FROM, "to": DAY.isoformat(), "daily": "true"}
    ).json()
    assert data["between"]["change"] == -39
    first, second = data["days"]
    assert (first["from"]["date"], first["to"]["date"]) == (FROM, MID.isoformat())
    assert first["change"] == -12 and first["model_change"] is None
    assert contributions(first) == {USAGE: -12.0, TICKETS: 0.0, NPS: 0.0}
    assert (second["from"]["date"], second["to"]["date"]) == (MID.isoformat(), "2024-06-30")
    assert second["change"] == -27 and second["model_change"]["to_version"] == 2
    assert contributions(second) == {USAGE: -1.5, TICKETS: -7.5, NPS: -18.0}
    assert first["change"] + second["change"] == data["between"]["change"]


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({}, "account", "required"),
        ({"account": "ACME", "from": "nope"}, "from", "Date has wrong format"),
        ({"account": "ACME", "from": "2024-06-30", "to": "2024-06-01"}, "from", "is after"),
        ({"account": "ACME", "to": "2999-01-01"}, "to", "after today"),
        ({"account": "ACME", "from": "2020-01-01", "to": "2020-02-01"}, "from", "no health"),
        (
            {"account": "ACME", "from": "2022-01-01", "to": "2024-06-30", "daily": "true"},
            "daily",
            "at most 366 days",
        ),
    ],
)
def test_bad_queries_are_a_400_naming_the_parameter(api, org, params, field, message):
    two_scored_days(org)
    response = api.get(URL, params)
    assert response.status_code == 400, response.content
    (error,) = response.json()["errors"]
    assert error["field"] == field and message in error["message"]


def test_another_organizations_account_is_a_404(api, org, other_org):
    two_scored_days(other_org)
    response = api.get(URL, {"account": "ACME", "from": FROM, "to": DAY.isoformat()})
    assert response.status_code == 404


def test_the_schema_documents_the_explanation(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    op = schema["paths"]["/api/v1/health/scores/explain/"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"account", "from", "to", "daily"}
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"account", "asked", "between", "days"} <= set(body["properties"])
    explanation = schema["components"]["schemas"]["ExplanationOutput"]["properties"]
    assert {"from", "to", "change", "lines", "rounding", "model_change"} <= set(explanation)


# -- fitness -------------------------------------------------------------------------------


def test_the_fitness_report_gives_the_same_numbers_as_health_fitness(api, org):
    """One churner (churned 10 days ago, scored 30 days before that: 20) and two stayers scored
    the same day (90, 10), all customers since 2023: at 30 days, stayer 90 beats the churner
    and 10 does not -> 1 of 2 pairs -> AUC 0.5, for the overall figure and for the model's, by
    the one rule; the API and `health_fitness` print the same figures. (The fitness window
    ends at the organization's today, so the fixture is dated from today back.)"""
    from orgs.timezones import org_today

    today = org_today(org)
    churned = today - dt.timedelta(days=10)
    scored = churned - dt.timedelta(days=30)
    model = HealthModel.all_objects.create(organization=org, name="M")

    def score(account, value):
        colour = "red" if value <= 50 else "green"
        HealthScore.all_objects.create(
            organization=org, account=account, date=scored, score=value, colour=colour, model=model
        )

    score(f.AccountFactory(organization=org, churned_at=churned), 20)
    score(f.AccountFactory(organization=org), 90)
    score(f.AccountFactory(organization=org), 10)
    data = api.get("/api/v1/reports/fitness/").json()
    assert data["leads"]["30"]["auc"] == 0.5
    assert (data["leads"]["30"]["churners"], data["leads"]["30"]["stayers"]) == (1, 2)
    (entry,) = data["models"]
    assert (entry["name"], entry["version"], entry["leads"]["30"]["auc"]) == ("M", 1, 0.5)
    out = StringIO()
    call_command("health_fitness", "--org", "acme", "--no-suggest", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["overall"] == {k: v for k, v in data.items() if k != "models"}
    mine = {k: v for k, v in entry.items() if k not in ("id", "name")}
    assert {k: v for k, v in printed["models"]["M"].items() if k != "seconds"} == mine
    with org_context(org):
        assert (
            json.loads(json.dumps(model_fitness(org=org, today=today)))["leads"]["30"]
            == (data["leads"]["30"])
        )
