"""bench_lifecycle: bad arguments are one-line errors; a run prints the step's timings as
JSON and its re-run moves nothing."""

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "args, words",
    [
        (["--org", "nope"], "--org: no organization with slug 'nope'"),
        (["--org", "acme", "--day", "soon"], "--day: 'soon' is not a date"),
        (["--org", "acme", "--day", "9999-12-31"], "--day: 9999-12-31 is in the future"),
    ],
)
def test_bad_arguments_are_one_line_errors(org, args, words):
    with pytest.raises(CommandError) as exc:
        call_command("bench_lifecycle", *args)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_a_run_prints_both_runs_and_the_rerun_moves_nothing(org):
    """One account that started 10 days before the night: onboarding (from the factory's
    ongoing) and its onboarding playbook on the first run; nothing on the second."""
    day = dt.date(2024, 6, 15)
    acc = f.AccountFactory(organization=org, customer_since=dt.date(2024, 6, 5))
    f.SubscriptionFactory(account=acc, start_date=dt.date(2024, 6, 5))
    out = io.StringIO()
    call_command("bench_lifecycle", "--org", "acme", "--day", day.isoformat(), stdout=out)
    report = json.loads(out.getvalue())
    first, rerun = report["runs"]
    assert (first["accounts"], first["moved"], first["onboarding_playbooks"]) == (1, 1, 1)
    assert (rerun["moved"], rerun["onboarding_playbooks"]) == (0, 0)
    assert len(report["load"]) == 3
