"""bench_nightly's floor and score-history figures, end to end on a small world (the worker
processes it forks read committed rows, hence a transactional test)."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from health.models import HealthScore
from tests import factories as f
from tests.builders import DAY, active_days, simple_model


@pytest.mark.django_db(transaction=True)
def test_bench_nightly_prints_the_floor_beside_the_project_and_the_bytes_per_account_day(org):
    """Four customers with 0, 2, 5 and 10 active days of the 10-day window: the simple model
    scores them 0, 20, 50 and 100, the night writes four rows, and the floor scores the same
    four the same way (no score differs). The score history's figure is the table's whole
    size (its partitions') over its rows: with four rows, their pg_total_relation_size / 4."""
    for days in (0, 2, 5, 10):
        account = f.AccountFactory(organization=org, customer_since=dt.date(2020, 1, 1))
        active_days(org, account, days)
    simple_model(org)
    out = io.StringIO()
    call_command(
        "bench_nightly",
        "--org",
        org.slug,
        "--date",
        DAY.isoformat(),
        "--triggers",
        "0",
        "--naive-sample",
        "1",
        "--workers",
        "1",
        "--floor",
        stdout=out,
        stderr=io.StringIO(),
    )
    report = json.loads(out.getvalue())
    assert report["accounts_scored"] == 4
    floor = report["floor"]
    assert floor["accounts"] == floor["rows_copied"] == 4
    assert floor["scores_differing_from_project"] == 0
    assert set(floor["project_over_floor"]) == {"total_wall", "read", "compute", "write"}
    scores = sorted(
        HealthScore.all_objects.filter(organization=org, date=DAY).values_list("score", flat=True)
    )
    assert scores == [0, 20, 50, 100]

    history = report["score_history"]
    with connection.cursor() as cursor:
        # the partitions' sizes (health migration 0006): the parent alone is 0 bytes
        cursor.execute(
            "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('health_healthscore')"
        )
        total = cursor.fetchone()[0]
    assert total > 0
    assert history["rows"] == 4
    assert history["bytes_total"] == total
    assert history["bytes_per_account_day"] == round(total / 4)
