"""The nightly chain under the faults of issue 10, on a real PostgreSQL, a redis-server of the
test's own (stopped and started again) and real Celery workers: the broker down at each
hand-off, a worker killed inside a chunk. In each case the sweeper completes the night, and the
night's rows equal those of a clean night of the same world (tests/builders.py night_world:
5 nightly firings and playbooks, 3 monthly firings and alerts, 8 notifications, computed by
hand there)."""

from __future__ import annotations

import io
import logging
import os
import signal
import threading
import time

import psycopg2
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from health import services as health_services
from health.models import HealthRun, HealthRunChunk
from playbooks.services import notifications_send_digest
from tests import factories as f
from tests.builders import NIGHT, night_rows, night_world, wait_for
from triggers import services
from triggers.models import TriggerRun, TriggerRunChunk

LEASE = 4  # seconds: the workers' chunk lease in the dead-worker test (settings_short_lease)


@pytest.fixture
def nights(org, other_org, csm, settings):
    """`org` for the night under test, `other_org` with the same world for the clean night,
    run in the foreground (and its digest sent): what the faulted night must equal."""
    settings.HEALTH_CHUNK_SIZE = 2  # 3 chunks of 2 accounts
    for o in (org, other_org):
        o.timezone = "UTC"
        o.save(update_fields=["timezone"])
    theirs = f.UserFactory(username="cleo.csm")
    f.MembershipFactory(user=theirs, organization=other_org, role="csm")
    night_world(org, csm)
    night_world(other_org, theirs)
    services.nightly_run_inline(org=other_org, day=NIGHT)
    notifications_send_digest(org=other_org)
    clean = night_rows(other_org)
    assert len(clean["firings"]) == 5 + 3 and len(clean["playbooks"]) == 5
    assert len(clean["alerts"]) == 3 and len(clean["notifications"]) == 8
    return clean


def night_done(org) -> bool:
    run = TriggerRun.all_objects.filter(organization=org, date=NIGHT).first()
    return bool(run and run.digest_done_at and run.monthly_done_at)


def not_sent(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]


def assert_like_the_clean_night(org, clean):
    rows = night_rows(org)
    assert rows == clean
    # the evidence is that of the final scores: every firing's usage is the stored raw value
    for name, trigger, _, evidence in rows["firings"]:
        if trigger == "Low usage or loyal":
            breakdown = next(s[4] for s in rows["scores"] if s[0] == name)
            assert (
                dict(evidence)["indicator.usage_frequency.raw"]
                == breakdown["usage_frequency:10:logins"][0]
            )
    run = TriggerRun.all_objects.get(organization=org, date=NIGHT)
    assert (run.state, run.fired, run.chunks_done) == ("done", 5, [0, 1, 2])
    assert HealthRun.all_objects.get(organization=org, date=NIGHT).state == "done"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "handoff",
    ["after the run start", "after the last health chunk", "after the last trigger chunk"],
)
def test_broker_down_at_a_handoff_the_sweep_completes_the_night(
    org, nights, own_redis, own_worker_factory, caplog, handoff
):
    """The broker is stopped right before the hand-off, so its message is lost (logged, not
    raised); the stages before it run in this process. Then the broker and a worker come back
    (the messages queued before the outage are still there, AOF: late duplicates) and one
    sweep sends what the rows say is owed."""
    caplog.set_level(logging.WARNING)
    if handoff == "after the run start":
        own_redis.stop()
        health_services.health_run_start(org=org, day=NIGHT)
        assert len(not_sent(caplog)) == 3  # the three chunks' messages
        expected = ["chunk_resent"] * 3
    else:
        _, chunk_ids = health_services.health_run_start(org=org, day=NIGHT)
        if handoff == "after the last health chunk":
            own_redis.stop()
        for chunk_id in chunk_ids:  # a worker's work, here, with the hand-off it makes
            health_services.health_chunk_process(chunk_id=chunk_id)
        if handoff == "after the last health chunk":
            assert ["triggers.run_nightly" in m for m in not_sent(caplog)] == [True]
            expected = ["trigger_stage_started"]
        else:
            assert services.trigger_run_start(org_id=org.pk, day=NIGHT) == 3
            own_redis.stop()
            for chunk in TriggerRunChunk.all_objects.filter(organization=org).order_by("index"):
                services.trigger_run_chunk(chunk_id=chunk.pk)
            assert ["triggers.monthly" in m for m in not_sent(caplog)] == [True]
            expected = ["monthly_run"]
    assert not night_done(org)
    own_redis.resume()
    own_worker_factory("w1", concurrency=2)

    out = services.nightly_sweep(older_than=0)

    assert [a["action"] for a in out["actions"]] == expected
    assert wait_for(lambda: night_done(org), seconds=90), services.nightly_sweep(older_than=0)
    assert_like_the_clean_night(org, nights)
    # the late copies queued before the outage found their chunks closed: one attempt each
    assert set(HealthRunChunk.all_objects.filter(organization=org).values_list("attempts")) == {
        (1,)
    }
    assert services.nightly_sweep(older_than=0)["actions"] == []  # nothing left owed


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_inside_a_chunk_is_replaced_within_the_lease_and_one_sweep(
    org, nights, own_worker_factory, test_database_url, caplog
):
    """The first worker blocks inside chunk 0 (on an account row this test holds locked), its
    whole process group is killed, the lock released; once the chunk's lease (4 s) is over,
    one sweep queues it again and a second worker finishes the night, long before Celery's
    own redelivery (the broker's visibility timeout, 1 hour)."""
    caplog.set_level(logging.WARNING)
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings_short_lease"}  # its lease: LEASE
    n0 = Account.all_objects.get(organization=org, name="N0")
    holder = psycopg2.connect(test_database_url)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 1 FROM accounts_account WHERE id = %s FOR UPDATE", [n0.pk])
        worker = own_worker_factory("w1", concurrency=1, env=env)
        _, chunk_ids = health_services.health_run_start(org=org, day=NIGHT)
        chunk0 = HealthRunChunk.all_objects.get(pk=chunk_ids[0])

        def blocked():
            with holder.cursor() as cur:
                # pg_stat_activity is read once per transaction otherwise: the holder's is open
                cur.execute("SELECT pg_stat_clear_snapshot()")
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
                return cur.fetchone()[0] >= 1

        assert wait_for(blocked, seconds=60), "the worker never reached the locked row"
        chunk0.refresh_from_db()
        assert chunk0.attempts == 1 and chunk0.lease_expires_at is not None
        os.killpg(worker.pid, signal.SIGKILL)
        killed = time.monotonic()
        holder.rollback()  # the dead worker's statement ends; its transaction rolls back
    finally:
        holder.rollback()
    own_worker_factory("w2", concurrency=1, env=env)

    def chunk0_free():
        with holder.cursor() as cur:
            cur.execute(
                "SELECT 1 FROM health_healthrunchunk WHERE id = %s FOR UPDATE SKIP LOCKED",
                [chunk0.pk],
            )
            free = cur.fetchone() is not None
        holder.rollback()
        return free

    assert wait_for(chunk0_free, seconds=30)
    time.sleep(max(0.0, (chunk0.lease_expires_at - timezone.now()).total_seconds()) + 0.2)
    out = services.nightly_sweep(older_than=600)  # one sweep, after the lease

    assert [a["action"] for a in out["actions"]] == ["chunk_requeued"]
    assert wait_for(lambda: night_done(org), seconds=90)
    took = time.monotonic() - killed
    holder.close()
    assert took < LEASE + 60, took  # the lease, one sweep, the work: not the hour of Celery
    chunk0.refresh_from_db()
    assert (chunk0.state, chunk0.attempts) == ("done", 2)
    repairs = HealthRun.all_objects.get(organization=org, date=NIGHT).repairs
    assert [r["action"] for r in repairs] == ["chunk_requeued"]
    assert any("worker was lost" in r.getMessage() for r in caplog.records)
    assert_like_the_clean_night(org, nights)


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_of_a_night_record_the_final_evidence(
    org, csm, settings, test_database_url
):
    """`run_nightly` for the night while another is inside its second chunk (held there on an
    account row this test locks): without --wait it says the night is running and stops; with
    --wait it waits for the first and runs nothing again. The first is not re-planned under its
    feet, so the trigger stage reads a fully scored day: every firing's usage evidence is the
    raw value of the day's stored breakdown (never null), 5 + 3 firings as computed by hand."""
    settings.HEALTH_CHUNK_SIZE = 2
    org.timezone = "UTC"
    org.save(update_fields=["timezone"])
    night_world(org, csm)
    n2 = Account.all_objects.get(organization=org, name="N2")  # chunk 1: N2, N3
    argv = ["run_nightly", "--org", org.slug, "--date", NIGHT.isoformat()]
    holder = psycopg2.connect(test_database_url)
    outputs, errors = {}, {}

    def run(name, *extra):
        out = io.StringIO()
        try:
            call_command(*argv, *extra, stdout=out, stderr=io.StringIO())
        except CommandError as exc:
            errors[name] = exc
            outputs[f"{name}-error"] = str(exc)
        finally:
            outputs[name] = out.getvalue()
            connection.close()

    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 1 FROM accounts_account WHERE id = %s FOR UPDATE", [n2.pk])
        first = threading.Thread(target=run, args=("first",))
        first.start()

        def first_blocked():
            with holder.cursor() as cur:
                cur.execute("SELECT pg_stat_clear_snapshot()")
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
                return cur.fetchone()[0] >= 1

        assert wait_for(first_blocked, seconds=60)
        # in a thread too: a second run that re-planned would wait on the first's locks
        refused = threading.Thread(target=run, args=("refused",))
        refused.start()
        refused.join(20)
        assert not refused.is_alive(), "the second run did not stop: it waits to re-plan"
        assert isinstance(errors.pop("refused"), CommandError)
        waiting = threading.Thread(target=run, args=("waiting", "--wait", "60"))
        waiting.start()
        time.sleep(1)  # it is polling the running night now
        holder.rollback()
        first.join(60)
        waiting.join(60)
    finally:
        holder.rollback()
        holder.close()
    assert errors == {}
    assert "is running (scoring: 1 of 3 chunks closed)" in outputs["refused-error"]
    assert "--wait" in outputs["refused-error"]
    assert "fired 5" in outputs["first"]
    assert "the running night finished done; not run again" in outputs["waiting"]
    rows = night_rows(org)
    assert len(rows["firings"]) == 5 + 3
    breakdowns = {name: b["usage_frequency:10:logins"] for name, _, _, _, b in rows["scores"]}
    nightly = [(n, dict(e)) for n, t, _, e in rows["firings"] if t == "Low usage or loyal"]
    assert [n for n, _ in nightly] == ["N0", "N1", "N2", "N3", "N5"]
    for name, evidence in nightly:
        assert evidence["indicator.usage_frequency.raw"] == breakdowns[name][0], name
    # planned once: each chunk scored by one attempt of the first run
    assert list(HealthRunChunk.all_objects.values_list("attempts", flat=True)) == [1, 1, 1]
