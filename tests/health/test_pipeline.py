"""The scoring pipeline on the database: rows written, replaced on re-run, never duplicated,
chunks that fail or arrive twice, and the accounts' latest-score columns."""

import datetime as dt
import threading

import pytest
from django.db import connection

from accounts.models import Account
from health import services
from health.models import HealthModel, HealthRun, HealthRunChunk, HealthScore, Indicator
from orgs.tenancy import org_context
from tests import factories as f
from tests.builders import DAY, active_days, at_once, simple_model


@pytest.fixture
def portfolio(org):
    accounts = [
        f.AccountFactory(organization=org, customer_since=dt.date(2020, 1, 1)) for _ in range(5)
    ]
    for account, days in zip(accounts, [0, 3, 5, 8, 10], strict=True):
        active_days(org, account, days)
    simple_model(org)
    return accounts


@pytest.mark.django_db
def test_score_day_writes_one_row_per_account_with_breakdown(org, portfolio):
    run = services.health_score_day(org=org, day=DAY)
    assert run.state == "done"
    with org_context(org):
        scores = dict(HealthScore.objects.filter(date=DAY).values_list("account_id", "score"))
        assert scores == {a.pk: s for a, s in zip(portfolio, [0, 30, 50, 80, 100], strict=True)}
        row = HealthScore.objects.get(account=portfolio[1], date=DAY)
        # stored compact: the raw value and score in the layout's order, the share derived
        assert (row.raws, row.scores, row.layout.keys) == (
            [3.0],
            [30.0],
            ["usage_frequency:10:logins"],
        )
        assert row.breakdown == {}
        assert row.breakdown_dict == {"usage_frequency:10:logins": [3.0, 30.0, 1.0]}
        assert row.colour == "red" and row.missing_keys == []
        account = Account.objects.get(pk=portfolio[3].pk)
        assert (account.health_score, account.health_colour, account.health_scored_on) == (
            80,
            "green",
            DAY,
        )


@pytest.mark.django_db
def test_rerun_replaces_the_day(org, portfolio):
    services.health_score_day(org=org, day=DAY)
    active_days(org, portfolio[0], 2)  # new data arrives for the first account
    services.health_score_day(org=org, day=DAY)
    with org_context(org):
        assert HealthScore.objects.filter(date=DAY).count() == 5
        assert HealthScore.objects.get(account=portfolio[0], date=DAY).score == 20


@pytest.mark.django_db
def test_changes_over_7_and_30_days(org, portfolio):
    earlier = DAY - dt.timedelta(days=7)
    services.health_score_day(org=org, day=earlier)  # the data ends on DAY: fewer days then
    services.health_score_day(org=org, day=DAY)
    with org_context(org):
        acc = Account.objects.get(pk=portfolio[4].pk)
        # 10 active days up to DAY; on DAY-7 only 3 of the window's 10 days had logins
        assert acc.health_score == 100
        assert acc.health_change_7d == 70
        assert acc.health_change_30d is None


@pytest.mark.django_db
def test_backfilling_an_older_day_does_not_overwrite_the_latest_columns(org, portfolio):
    services.health_score_day(org=org, day=DAY)
    services.health_score_day(org=org, day=DAY - dt.timedelta(days=7))
    with org_context(org):
        acc = Account.objects.get(pk=portfolio[4].pk)
        assert acc.health_scored_on == DAY and acc.health_score == 100


@pytest.mark.django_db
def test_persona_model_and_default_model(org):
    persona = f.PersonaFactory(organization=org, slug="ent", name="Enterprise")
    a = f.AccountFactory(organization=org, persona=persona, customer_since=dt.date(2020, 1, 1))
    b = f.AccountFactory(organization=org, customer_since=dt.date(2020, 1, 1))
    active_days(org, a, 5)
    active_days(org, b, 5)
    default = simple_model(org)
    special = HealthModel.all_objects.create(organization=org, name="Ent", persona=persona)
    Indicator.all_objects.create(
        organization=org,
        model=special,
        measure="usage_frequency",
        window_days=10,
        metric="logins",
        direction="higher",
        bad_value=0,
        good_value=5,
        weight=1,
    )
    services.health_score_day(org=org, day=DAY)
    with org_context(org):
        assert HealthScore.objects.get(account=a).score == 100
        assert HealthScore.objects.get(account=a).model_id == special.pk
        assert HealthScore.objects.get(account=b).score == 50
        assert HealthScore.objects.get(account=b).model_id == default.pk


@pytest.mark.django_db
def test_chunks_split_the_accounts(org, portfolio, settings):
    settings.HEALTH_CHUNK_SIZE = 2
    run = services.health_score_day(org=org, day=DAY)
    assert run.chunks_total == 3 and run.chunks_done == 3 and run.accounts_scored == 5
    with org_context(org):
        assert HealthScore.objects.filter(date=DAY).count() == 5


@pytest.mark.django_db
def test_second_start_of_the_same_night_starts_nothing(org, portfolio):
    run, chunk_ids = services.health_run_start(org=org, day=DAY, queue=False)
    again, none = services.health_run_start(org=org, day=DAY, queue=False)
    assert again.pk == run.pk and chunk_ids and none == []


@pytest.mark.django_db
def test_duplicate_delivery_of_a_chunk_scores_once(org, portfolio):
    run, chunk_ids = services.health_run_start(org=org, day=DAY, queue=False)
    first = services.health_chunk_process(chunk_id=chunk_ids[0], queue=False)
    second = services.health_chunk_process(chunk_id=chunk_ids[0], queue=False)
    assert first == ("done", True) and second == ("done", False)
    run.refresh_from_db()
    assert run.chunks_done == 1 and run.accounts_scored == 5


@pytest.mark.django_db
def test_poison_chunk_is_given_up_after_max_attempts(org, portfolio):
    run, chunk_ids = services.health_run_start(org=org, day=DAY, queue=False)
    # as if three workers died while scoring it
    HealthRunChunk.all_objects.filter(pk=chunk_ids[0]).update(attempts=services.MAX_CHUNK_ATTEMPTS)
    state, last = services.health_chunk_process(chunk_id=chunk_ids[0], queue=False)
    assert (state, last) == ("failed", True)
    run = services.health_run_finish(run_id=run.pk)
    assert run.state == "failed" and run.chunks_failed == 1
    assert "given up" in HealthRunChunk.all_objects.get(pk=chunk_ids[0]).error


@pytest.mark.django_db
def test_no_model_no_scores(org):
    f.AccountFactory(organization=org)
    run = services.health_score_day(org=org, day=DAY)
    assert run.state == "done" and run.accounts_scored == 0


@pytest.mark.django_db(transaction=True)
def test_same_day_twice_at_once_leaves_one_row_per_account(org, portfolio, settings):
    """The second of two runs of a day at once either finds the first finished (and re-runs
    the day) or finds it running and re-plans nothing (NightRunning): never both running."""
    assert connection.vendor == "postgresql"
    settings.HEALTH_CHUNK_SIZE = 2
    runs, errors = at_once(lambda: services.health_score_day(org=org, day=DAY), 2)
    assert all(isinstance(e, services.NightRunning) for e in errors), errors
    assert len(errors) + len(runs) == 2 and runs
    assert HealthRun.all_objects.get(organization=org, date=DAY).state == "done"
    with org_context(org):
        assert HealthScore.objects.filter(date=DAY).count() == 5
        assert HealthRun.objects.filter(date=DAY).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_chunks_at_once(org, portfolio, settings):
    settings.HEALTH_CHUNK_SIZE = 2
    run, chunk_ids = services.health_run_start(org=org, day=DAY, queue=False)
    results = []

    def work():
        try:
            for cid in chunk_ids:
                results.append(services.health_chunk_process(chunk_id=cid, queue=False))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.refresh_from_db()
    assert run.chunks_done == 3 and run.accounts_scored == 5
    assert sum(1 for _, last in results if last) == 1  # exactly one chunk saw itself last
    with org_context(org):
        assert HealthScore.objects.filter(date=DAY).count() == 5
