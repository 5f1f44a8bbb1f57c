"""Operators' commands: bad arguments give a one-line reason; a run does what it says."""

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from health.models import HealthScore
from tests import factories as f
from tests.health.test_pipeline import active_days, simple_model
from tests.triggers.fixtures import template
from triggers.models import Firing, Trigger

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("command", ["score_health", "run_nightly"])
@pytest.mark.parametrize(
    "args, words",
    [
        (["--org", "nope"], "--org: no organization with slug 'nope'"),
        (["--org", "acme", "--date", "yesterday"], "--date: 'yesterday' is not a date"),
        (["--org", "acme", "--from", "2024-02-01", "--to", "2024-01-01"], "is after --to"),
        (["--org", "acme", "--date", "2024-01-01", "--from", "2024-01-01"], "either --date"),
    ],
)
def test_bad_arguments_are_one_line_errors(org, command, args, words):
    with pytest.raises(CommandError) as exc:
        call_command(command, *args)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_health_fitness_and_demo_backfill_refuse_unknown_orgs(org):
    with pytest.raises(CommandError, match="--org: no organization"):
        call_command("health_fitness", "--org", "nope")
    with pytest.raises(CommandError, match="run seed_demo"):
        call_command("demo_backfill", "--org", "nope")
    with pytest.raises(CommandError, match="--daily"):
        call_command("demo_backfill", "--org", "acme", "--days", "10", "--daily", "20")


def test_run_nightly_runs_the_chain_for_each_day(org):
    org.timezone = "UTC"
    org.save(update_fields=["timezone"])
    day = dt.date(2024, 6, 30)
    accounts = [
        f.AccountFactory(organization=org, customer_since=dt.date(2020, 1, 1)) for _ in range(3)
    ]
    for i, account in enumerate(accounts):
        active_days(org, account, i * 5, end=day)  # scores 0, 50, 100
    simple_model(org)
    Trigger.all_objects.create(
        organization=org,
        name="Red",
        kind="retention",
        action="alert",
        template=template(org, "Save", "retention"),
        cooldown_days=30,
        condition={"field": "health_colour", "op": "=", "value": "red"},
    )
    out = io.StringIO()
    call_command(
        "run_nightly",
        "--org",
        "acme",
        "--from",
        "2024-06-29",
        "--to",
        "2024-06-30",
        "--json",
        stdout=out,
    )
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert [line["day"] for line in lines] == ["2024-06-29", "2024-06-30"]
    assert HealthScore.all_objects.filter(date=day).count() == 3
    # 0 and 50 are red on the 29th; the cool-down keeps them from firing again on the 30th
    assert lines[0]["alerts"] == 2 and lines[1]["alerts"] == 0
    assert Firing.all_objects.count() == 2
    out = io.StringIO()
    call_command("health_fitness", "--org", "acme", stdout=out)
    assert json.loads(out.getvalue())["organization"] == "acme"
