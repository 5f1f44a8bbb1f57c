"""The floor of nightly scoring (health/floor.py, bench_nightly --floor): it must score what
the nightly run scores, or the benchmark's ratio compares different work."""

import datetime as dt

import pytest
from django.db import connection

from health import services
from health.floor import FLOOR_TABLE, floor_score_day
from health.models import HealthScore
from orgs.tenancy import org_context
from tests import factories as f
from tests.builders import DAY, active_days, simple_model


@pytest.mark.django_db
def test_the_floor_scores_every_account_as_the_nightly_run_does(org):
    """Two models. The default (simple_model: usage frequency over 10 days, 0 -> 0, 10 ->
    100) scores accounts with 0, 3 and 8 active days: 0, 30, 80. The persona's model (0 -> 0,
    5 -> 100) scores its account with 4 active days 80, and one with 7 days 100 (clamped).
    An account that becomes a customer only after the day is scored by neither."""
    persona = f.PersonaFactory(organization=org, slug="ent", name="Enterprise")
    plain = [
        f.AccountFactory(organization=org, customer_since=dt.date(2020, 1, 1)) for _ in range(3)
    ]
    ent = [
        f.AccountFactory(organization=org, persona=persona, customer_since=dt.date(2020, 1, 1))
        for _ in range(2)
    ]
    later = f.AccountFactory(organization=org, customer_since=DAY + dt.timedelta(days=5))
    for account, days in zip([*plain, *ent, later], [0, 3, 8, 4, 7, 9], strict=True):
        active_days(org, account, days)
    simple_model(org)
    simple_model(org, persona=persona, good=5)
    expected = dict(zip([a.pk for a in [*plain, *ent]], [0, 30, 80, 80, 100], strict=True))

    with org_context(org):
        result = floor_score_day(day=DAY, tz="UTC")
    assert result.scores.to_dict() == expected
    assert result.accounts == result.rows_copied == 5
    assert set(result.seconds) == {"read", "compute", "write", "total"}

    services.health_score_day(org=org, day=DAY)
    with org_context(org):
        stored = dict(HealthScore.objects.filter(date=DAY).values_list("account_id", "score"))
    assert stored == expected

    with connection.cursor() as cursor:  # nothing left behind: the table is gone
        cursor.execute("SELECT to_regclass(%s)", [FLOOR_TABLE])
        assert cursor.fetchone()[0] is None


@pytest.mark.django_db
def test_the_floor_of_an_organization_with_no_customers_is_empty(org):
    """No account: nothing read past the bounds, nothing copied."""
    simple_model(org)
    with org_context(org):
        result = floor_score_day(day=DAY, tz="UTC")
    assert result.accounts == result.rows_copied == 0 and result.scores.empty
