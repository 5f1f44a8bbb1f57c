"""`manage.py report` prints the numbers the pages show (JSON or one table as CSV), and
refuses bad arguments with one line naming the argument."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orgs.tenancy import org_context
from tests.reports.fixtures import build

pytestmark = pytest.mark.django_db

Q2 = ["--from", "2024-04-01", "--to", "2024-06-30"]


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


def report(*args) -> str:
    out = io.StringIO()
    call_command("report", "--org", "acme", *args, stdout=out)
    return out.getvalue()


def test_json_has_the_pages_numbers(world):
    """The portfolio of Q2 (tests/reports/test_reports.py): GRR 2500 / 4400 = 56.8%, NRR
    3000 / 4400 = 68.2%; the Enterprise row 83.3% and 100.0%."""
    data = json.loads(report("--name", "portfolio", *Q2))
    (total,) = data["tables"]["mrr"]["totals"]
    assert (total["grr"], total["nrr"], total["end_mrr"]) == (56.8, 68.2, 4400)
    rows = {r["group"]: r for r in data["tables"]["mrr"]["rows"]}
    assert (rows["Enterprise"]["grr"], rows["Enterprise"]["nrr"]) == (83.3, 100.0)
    assert data["figures"]["grr"] == 56.8
    assert data["filters"]["from"] == "2024-04-01"


def test_csv_is_one_table_as_the_export(world, csm):
    out = report("--name", "trigger_performance", *Q2, "--format", "csv", "--table", "retention")
    rows = list(csv.reader(io.StringIO(out)))
    assert (
        rows[0][0] == "Acme CS · Trigger performance · Retention: risk confirmed, retained, churned"
    )
    header = rows[2]
    risk = next(r for r in rows[3:] if r[0] == "Risk")
    assert risk[header.index("Save rate (%)")] == "50.0"
    # the filters of the page: a CSM's book
    data = json.loads(report("--name", "portfolio", *Q2, "--csm", csm.username))
    assert data["tables"]["mrr"]["totals"][0]["end_mrr"] == 3600


@pytest.mark.parametrize(
    "args, words",
    [
        (["--name", "portfolio", "--from", "2024-13-01"], "--from: '2024-13-01' is not a date"),
        (
            ["--name", "portfolio", "--from", "2024-06-01", "--to", "2024-05-01"],
            "--from: 2024-06-01 is after --to",
        ),
        (["--name", "portfolio", "--from", "2999-01-01"], "--from: 2999-01-01 is in the future"),
        (
            ["--name", "portfolio", *Q2, "--persona", "nobody"],
            "--persona: no persona with slug 'nobody'",
        ),
        (["--name", "portfolio", *Q2, "--csm", "ghost"], "--csm: 'ghost' is not a member"),
        (["--name", "portfolio", *Q2, "--by", "colour"], "--by: choose one of"),
        (
            ["--name", "portfolio", *Q2, "--format", "csv", "--table", "nope"],
            "--table: 'nope' is not a table",
        ),
        (["--name", "retention", *Q2, "--kind", "bogus"], "--kind: choose one of"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_argument(world, args, words):
    with pytest.raises(CommandError) as excinfo:
        report(*args)
    assert words in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_an_unknown_organization_or_report_is_refused(world):
    with pytest.raises(CommandError, match="--org: no organization with slug 'nope'"):
        call_command("report", "--org", "nope", "--name", "portfolio", *Q2)
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("report", "--org", "acme", "--name", "nope", *Q2)
