"""The workspace benchmark's load: locust, headless, runs the locustfile's users against a live
server for a few seconds; they log in through /login/ and work through their open steps (My
Work, the account 360 and its three fragments, the playbook page, completing the step with an
htmx POST carrying its version), and the report reads locust's statistics per page."""

import io

import pytest
from django.core.management import call_command

from playbooks.models import PlaybookStep
from tests import factories as f
from workspace.bench.load import load_plan, locust_run

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = (
    "my_work",
    "account_360",
    "account_health",
    "account_work",
    "account_timeline",
    "playbook",
    "step_complete",
)


@pytest.fixture
def plan(org, csm, manager):
    f.ChurnReasonFactory(organization=org)
    f.AccountFactory.create_batch(30, organization=org, owner=csm)
    call_command(
        "bench_workspace",
        "prepare",
        "--org",
        "acme",
        "--csms",
        "2",
        "--playbooks-per-account",
        "4",
        "--days",
        "30",  # recent playbooks: most still open, with open steps to work on
        stdout=io.StringIO(),
    )
    return load_plan(org=org, users=2)


def load(live_server, plan, tmp_path, *, seconds: float, requests: int) -> dict:
    """Two users, back to back, with the account page's fragments."""
    return locust_run(
        base_url=live_server.url,
        plan=plan,
        users=2,
        seconds=seconds,
        requests=requests,
        think_ms=0,
        fragments=True,
        workdir=tmp_path,
    )


def test_locust_users_work_through_their_steps_against_a_live_server(live_server, plan, tmp_path):
    result = load(live_server, plan, tmp_path, seconds=4, requests=10_000)
    assert list(result["endpoints"]) == list(PAGES)
    for name in PAGES:
        page = result["endpoints"][name]
        assert page["count"] > 0 and page["errors"] == 0, (name, result["error_samples"])
        # locust's percentiles (rounded to 10 ms above 100 ms); the max is exact
        assert 0 < page["median_ms"] <= page["p95_ms"] <= page["p99_ms"] and page["max_ms"] > 0
    assert result["errors"] == 0 and result["error_samples"] == []
    assert result["throughput_rps"] > 0 and not result["not_measured"]
    # Every completion the report counts is a step done in the database, by its CSM.
    planned = [s[0] for user in plan for s in user["steps"]]
    done = PlaybookStep.all_objects.filter(pk__in=planned, status="done")
    assert done.count() == result["endpoints"]["step_complete"]["count"]
    assert all(s.completed_by_id == s.assignee_id for s in done)


def test_the_run_stops_at_its_request_budget(live_server, plan, tmp_path):
    result = load(live_server, plan, tmp_path, seconds=30, requests=9)
    assert result["requests"] == 9
    assert result["elapsed_s"] < 30


def test_a_user_who_cannot_log_in_fails_the_run_without_holding_up_the_other(
    live_server, plan, tmp_path
):
    plan = [plan[0], {"username": "nobody", "steps": plan[1]["steps"]}]
    result = load(live_server, plan, tmp_path, seconds=3, requests=10_000)
    assert result["result"] == "FAIL"
    assert any("nobody: login failed" in e for e in result["error_samples"])
    assert result["endpoints"]["my_work"]["count"] > 0  # the other one worked
