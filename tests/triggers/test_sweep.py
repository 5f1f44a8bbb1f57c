"""The nightly sweeper's decisions on rows set up by hand (no worker: what it would send is
captured on commit), and the operators' commands nightly_sweep and nightly_status."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from health import services as health_services
from health.models import HealthRun, HealthRunChunk
from playbooks.models import Notification
from tests.builders import NIGHT, night_world
from triggers import services
from triggers.models import TriggerRun


@pytest.fixture
def planned(org, csm, settings):
    """The night planned and queued (3 chunks of 2 accounts), its messages not delivered."""
    settings.HEALTH_CHUNK_SIZE = 2
    org.timezone = "UTC"
    org.save(update_fields=["timezone"])
    night_world(org, csm)
    run, chunk_ids = health_services.health_run_start(org=org, day=NIGHT, queue=False)
    HealthRun.all_objects.filter(pk=run.pk).update(chained=True)
    HealthRunChunk.all_objects.filter(run=run).update(queued_at=timezone.now())
    return run, chunk_ids


def sent(callbacks) -> int:
    return len(callbacks)


@pytest.mark.django_db
def test_a_chunk_queued_and_never_started_is_sent_again_after_older_than(
    planned, django_capture_on_commit_callbacks
):
    run, chunk_ids = planned
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.nightly_sweep(older_than=600)["actions"] == []  # not late yet
    assert callbacks == []
    later = timezone.now() + dt.timedelta(seconds=601)
    with django_capture_on_commit_callbacks() as callbacks:
        out = services.nightly_sweep(older_than=600, now=later)
    assert [(a["action"], a["chunk"]) for a in out["actions"]] == [
        ("chunk_resent", 0),
        ("chunk_resent", 1),
        ("chunk_resent", 2),
    ]
    assert len(callbacks) == 3
    run.refresh_from_db()
    assert [r["action"] for r in run.repairs] == ["chunk_resent"] * 3


@pytest.mark.django_db
def test_a_dead_chunk_is_queued_again_then_given_up_after_max_attempts(
    planned, django_capture_on_commit_callbacks
):
    """Attempt 1 and 2 died (lease expired, no lock held): queued again each time; after the
    third the chunk fails with the reason, counted on the run."""
    run, chunk_ids = planned
    chunk = HealthRunChunk.all_objects.get(pk=chunk_ids[0])
    for attempt in (1, 2, 3):
        past = timezone.now() - dt.timedelta(seconds=1)
        HealthRunChunk.all_objects.filter(pk=chunk.pk).update(
            attempts=attempt, started_at=past, lease_expires_at=past
        )
        with django_capture_on_commit_callbacks():
            actions = services.nightly_sweep(older_than=600)["actions"]
        assert [a["action"] for a in actions] == (
            ["chunk_requeued"] if attempt < 3 else ["chunk_failed"]
        )
    chunk.refresh_from_db()
    assert chunk.state == "failed" and "lost 3 times" in chunk.error
    run.refresh_from_db()
    assert run.chunks_failed == 1


@pytest.mark.django_db(transaction=True)
def test_a_chunk_whose_worker_holds_its_row_is_left_alone_though_its_lease_expired(planned):
    """A live worker that runs long holds the chunk's row lock: the sweep skips it."""
    run, chunk_ids = planned
    past = timezone.now() - dt.timedelta(seconds=1)
    HealthRunChunk.all_objects.filter(pk=chunk_ids[0]).update(
        attempts=1, started_at=past, lease_expires_at=past
    )
    locked, release = threading.Event(), threading.Event()

    def worker():
        with transaction.atomic():
            HealthRunChunk.all_objects.select_for_update().get(pk=chunk_ids[0])
            locked.set()
            release.wait(30)
        connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert locked.wait(30)
        actions = services.nightly_sweep(older_than=3600)["actions"]
    finally:
        release.set()
        thread.join()
    assert actions == []
    assert services.nightly_sweep(older_than=3600)["actions"][0]["action"] == "chunk_requeued"


@pytest.mark.django_db
def test_a_night_beat_never_started_is_started_within_the_window(org, settings):
    """Beat fires at 02:00 UTC; at 02:15 with older_than 10 min the org's night of that day is
    started; at 09:00 (past the 6 h the nightly start lives) it is skipped."""
    settings.NIGHTLY_HOUR, settings.NIGHTLY_MINUTE = 2, 0
    org.timezone = "America/Sao_Paulo"  # UTC-3: at 02:00 UTC it is still the day before there
    org.save(update_fields=["timezone"])
    late = dt.datetime(2024, 7, 2, 9, 0, tzinfo=dt.UTC)
    assert services.nightly_sweep(older_than=600, now=late, start_nights=True)["actions"] == []
    now = dt.datetime(2024, 7, 2, 2, 15, tzinfo=dt.UTC)
    out = services.nightly_sweep(older_than=600, now=now, start_nights=True)
    assert [(a["action"], a["date"]) for a in out["actions"]] == [("night_started", "2024-07-01")]
    assert HealthRun.all_objects.get(organization=org).chained


@pytest.mark.django_db
def test_a_failed_night_notifies_each_admin_once(planned, org, org_admin):
    run, chunk_ids = planned
    HealthRun.all_objects.filter(pk=run.pk).update(state="failed", finished_at=timezone.now())
    for _ in range(2):
        out = services.nightly_sweep(older_than=600)
    assert out["troubled"] == [{"organization_id": org.pk, "date": "2024-07-01", "state": "failed"}]
    (note,) = Notification.all_objects.filter(kind="night_problem")
    assert note.user == org_admin and note.ref == run.pk
    assert note.text == "The night of 2024-07-01 failed: see the nightly status page."
    assert note.url == "/operations/nightly/?date=2024-07-01"


@pytest.mark.django_db
def test_nightly_status_and_sweep_commands_print_json(planned, org):
    run, chunk_ids = planned
    HealthRunChunk.all_objects.filter(pk=chunk_ids[1]).update(
        attempts=2, error="given up after 2 attempts", state="failed"
    )
    HealthRun.all_objects.filter(pk=run.pk).update(chunks_failed=1)
    out = io.StringIO()
    call_command("nightly_status", "--org", org.slug, "--date", NIGHT.isoformat(), stdout=out)
    night = json.loads(out.getvalue())
    assert night["state"] == "failed"
    (scoring,) = night["stages"]
    assert scoring["chunks"] == {"total": 3, "done": 0, "failed": 1, "running": 2, "late": 0}
    assert (scoring["attempts"], scoring["last_error"]) == (2, "given up after 2 attempts")
    out = io.StringIO()
    call_command("nightly_sweep", "--older-than", "0", stdout=out)
    assert [a["action"] for a in json.loads(out.getvalue())["actions"]] == ["chunk_resent"] * 2
    assert TriggerRun.all_objects.count() == 0


def test_nightly_sweep_refuses_a_bad_older_than():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--older-than must be a whole number"):
        call_command("nightly_sweep", "--older-than", "soon")
