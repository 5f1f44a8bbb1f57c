"""The nightly pipeline end to end: beat's task on a real Redis broker, real Celery worker
processes, PostgreSQL; two organizations, neither sees the other's data."""

import datetime as dt
import time

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from csplatform.db.partitions import (
    add_months,
    monthly_partition_drop,
    monthly_partitions,
    partition_name,
)
from health.models import HealthRun, HealthScore
from health.selectors import org_today
from health.tasks import health_nightly
from orgs.tenancy import org_context
from tests import factories as f
from tests.builders import active_days, simple_model


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_beat_task_scores_every_account_of_two_organizations(
    org, other_org, celery_worker_factory, settings
):
    assert connection.vendor == "postgresql"
    org.timezone = other_org.timezone = "UTC"
    org.save(update_fields=["timezone"])
    other_org.save(update_fields=["timezone"])
    today = org_today(org)
    mine = [
        f.AccountFactory(organization=org, customer_since=dt.date(2020, 1, 1)) for _ in range(7)
    ]
    theirs = [
        f.AccountFactory(organization=other_org, customer_since=dt.date(2020, 1, 1))
        for _ in range(4)
    ]
    for i, account in enumerate(mine):
        active_days(org, account, i, end=today)
    for account in theirs:
        active_days(other_org, account, 10, end=today)
    simple_model(org)
    simple_model(other_org)
    # two worker processes take the runs' tasks from the same Redis queue
    celery_worker_factory("w1", concurrency=2)
    celery_worker_factory("w2", concurrency=1)

    # The night creates the usage table's months ahead before it scores: the furthest one,
    # dropped here, is there again after it (PostgreSQL: the table is partitioned by month).
    ahead = add_months(timezone.now().date().replace(day=1), settings.USAGE_PARTITION_MONTHS_AHEAD)
    assert monthly_partition_drop(table="accounts_usagemetric", month=ahead)
    assert monthly_partition_drop(table="health_healthscore", month=ahead)

    result = health_nightly.delay()
    assert result.get(timeout=60) == 2
    assert partition_name("accounts_usagemetric", ahead) in [
        p.name for p in monthly_partitions("accounts_usagemetric")
    ]
    assert partition_name("health_healthscore", ahead) in [
        p.name for p in monthly_partitions("health_healthscore")
    ]

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        states = set(HealthRun.all_objects.filter(date=today).values_list("state", flat=True))
        if HealthRun.all_objects.filter(date=today).count() == 2 and states == {"done"}:
            break
        time.sleep(0.5)
    assert HealthRun.all_objects.filter(date=today, state="done").count() == 2

    with org_context(org):
        scores = dict(HealthScore.objects.filter(date=today).values_list("account_id", "score"))
        assert scores == {a.pk: min(100, i * 10) for i, a in enumerate(mine)}
        assert Account.objects.filter(health_scored_on=today).count() == 7
    with org_context(other_org):
        scores = dict(HealthScore.objects.filter(date=today).values_list("account_id", "score"))
        assert scores == {a.pk: 100 for a in theirs}
    # every score row carries its own account's organization
    assert not HealthScore.all_objects.exclude(organization_id=models_org_of_account()).exists()


def models_org_of_account():
    from django.db.models import OuterRef, Subquery

    return Subquery(Account.all_objects.filter(pk=OuterRef("account_id")).values("organization_id"))
