"""Why it moved, on the account's health card and from the command line: the split of a
hand-computed pair of days (tests/builders.two_scored_days), and bad input named."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.builders import DAY, two_scored_days

pytestmark = pytest.mark.django_db


def test_two_picked_days_split_the_change_by_indicator(client, csm, org):
    """DAY − 30 to DAY: −39 = usage −13.5, tickets −7.5, NPS −18 (see the builder)."""
    account, _ = two_scored_days(org)
    client.force_login(csm)
    url = f"/health/accounts/{account.pk}/explain/"
    frm = (DAY - dt.timedelta(days=30)).isoformat()
    html = client.get(url, {"date_from": frm, "date_to": DAY.isoformat()}, HTTP_HX_REQUEST="true")
    html = html.content.decode()
    assert "<html" not in html and 'id="health-explain"' in html
    assert ">-39<" in html
    assert "-13.5" in html and "-7.5" in html and "-18.0" in html
    assert "active 18 → 9 of the last 30 days (logins)" in html
    assert "weight re-shared: 0.60 → 0.75" in html
    assert "no data on the second day" in html
    assert "version 1, then by Default version 2" in html


def test_the_card_compares_the_latest_day_with_30_days_before_by_default(client, csm, org):
    """The latest score is DAY, so the default pair is DAY − 30 and DAY: −39."""
    account, _ = two_scored_days(org)
    client.force_login(csm)
    html = client.get(f"/health/accounts/{account.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "Why it moved" in html and ">-39<" in html
    seven = (DAY - dt.timedelta(days=7)).isoformat()
    assert f"date_from={seven}&amp;date_to={DAY.isoformat()}" in html  # one click for 7 days


def test_seven_days_back_takes_the_latest_score_on_or_before_and_says_so(client, csm, org):
    """DAY − 7 has no score: the latest on or before it is DAY − 30's, so the split is the
    same −39, with a note that the days shown are not the days asked."""
    account, _ = two_scored_days(org)
    client.force_login(csm)
    seven = (DAY - dt.timedelta(days=7)).isoformat()
    html = client.get(
        f"/health/accounts/{account.pk}/explain/",
        {"date_from": seven, "date_to": DAY.isoformat()},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert ">-39<" in html and "the latest scores on or before the days asked" in html


@pytest.mark.parametrize(
    "params, message",
    [
        ({"date_from": "nope", "date_to": "2024-06-30"}, "Enter a valid date."),
        ({"date_from": "2024-06-30", "date_to": "2024-06-01"}, "The first day must come before"),
        ({"date_from": "2024-06-01", "date_to": "2999-01-01"}, "must not be after today"),
    ],
)
def test_bad_days_are_named_on_their_field(client, csm, org, params, message):
    account, _ = two_scored_days(org)
    client.force_login(csm)
    response = client.get(f"/health/accounts/{account.pk}/explain/", params, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert message in response.content.decode()


def test_a_day_of_the_chart_shows_its_breakdown(client, csm, org):
    account, _ = two_scored_days(org)
    client.force_login(csm)
    day = (DAY - dt.timedelta(days=10)).isoformat()  # no run that day: DAY − 30 is shown
    html = client.get(f"/health/accounts/{account.pk}/day/", {"day": day}, HTTP_HX_REQUEST="true")
    html = html.content.decode()
    assert 'id="health-breakdown"' in html
    assert "Breakdown on 05/31/2024" in html and ">74<" in html


def test_health_explain_prints_the_split_as_json(org):
    two_scored_days(org)
    out = StringIO()
    frm = (DAY - dt.timedelta(days=30)).isoformat()
    call_command(
        "health_explain",
        "--org",
        "acme",
        "--account",
        "ACME",
        "--from",
        frm,
        "--to",
        DAY.isoformat(),
        stdout=out,
    )
    data = json.loads(out.getvalue())
    assert data["change"] == -39
    assert {line["key"]: line["contribution"] for line in data["lines"]} == {
        "nps_latest:365": -18.0,
        "usage_frequency:30:logins": -13.5,
        "tickets_over_sla:90": -7.5,
    }
    assert data["model_change"]["from_version"] == 1 and data["model_change"]["to_version"] == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--account", "NOPE"], "--account: no account with external id 'NOPE'"),
        (["--account", "ACME", "--to", "2024-13-01"], "--to: '2024-13-01' is not a date"),
        (
            ["--account", "ACME", "--from", "2024-06-30", "--to", "2024-06-01"],
            "--from: 2024-06-30 is after",
        ),
        (
            ["--account", "ACME", "--from", "2020-01-01", "--to", "2020-02-01"],
            "no health score on or before",
        ),
    ],
)
def test_health_explain_refuses_bad_arguments_in_one_line(org, args, message):
    two_scored_days(org)
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        call_command("health_explain", "--org", "acme", *args)
