"""`manage.py bench_reports` on the small portfolio: it renders every report page, a
drill-down per report and every table's export as the organization's manager, and prints
JSON with the targets, the verdict and the machine's load (the figures themselves are for
the 100,000-account benchmark, not checked here)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orgs.tenancy import org_context
from reports.definitions import REPORTS
from tests.reports.fixtures import build

pytestmark = pytest.mark.django_db


def test_the_benchmark_prints_every_page_and_export(org, csm, manager):
    with org_context(org):
        build(org, csm)
    out = io.StringIO()
    try:
        call_command(
            "bench_reports", "--org", "acme", "--requests", "3", "--weeks", "1", stdout=out
        )
    except CommandError as exc:  # a missed target on a busy machine: still printed
        assert "a target was missed" in str(exc)
    data = json.loads(out.getvalue())
    assert data["data"]["accounts"] == 6
    expected = (
        {"home"}
        | {
            f"{name}.{span}{filtered}"
            for name in REPORTS
            for span in ("quarter", "year")
            for filtered in ("", ".filtered")
        }
        | {f"{name}.drill" for name in REPORTS}
    )
    assert set(data["pages"]) == expected
    assert all(
        p["requests"] == 3 and p["p95_ms"] >= p["median_ms"] > 0 for p in data["pages"].values()
    )
    assert set(data["year_csv_exports"]) == {
        f"{name}.{table}" for name, spec in REPORTS.items() for table in spec.tables
    }
    assert data["result"] in ("PASS", "FAIL") and len(data["load_average"]) == 3
    assert data["nightly_facts_refresh"]["seconds"] >= 0


def test_the_benchmark_refuses_bad_arguments(org):
    with pytest.raises(CommandError, match="--requests"):
        call_command("bench_reports", "--org", "acme", "--requests", "x")
    with pytest.raises(CommandError, match="--org: no organization with slug 'nope'"):
        call_command("bench_reports", "--org", "nope")
