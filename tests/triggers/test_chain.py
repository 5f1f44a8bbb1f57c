"""The nightly chain end to end on a real Redis broker and real Celery workers: beat's task
scores, the hook starts the triggers, their chunks fire once, playbooks are created and the
digest is sent; a second start of the night changes nothing."""

import datetime as dt
import re

import pytest

from health.models import HealthRun
from health.selectors import org_today
from health.tasks import health_nightly
from playbooks.models import Notification, Playbook
from tests import factories as f
from tests.builders import active_days, simple_model, template, wait_for
from triggers.models import Firing, Trigger, TriggerRun

# The worker's log line for a finished health.start_run, with its result: the chunks planned.
START_RUN_DONE = re.compile(r"Task health\.start_run\[[0-9a-f-]+\] succeeded in [0-9.]+s: (\d+)")


def start_runs_done(log) -> list[int]:
    """What each finished health.start_run returned (chunks planned), in order."""
    return [int(n) for n in START_RUN_DONE.findall(log.read_text())]


def worker_idle(app) -> bool:
    """Nothing waiting in the broker's queue, nothing running or reserved by a worker."""
    with app.connection_for_write() as conn:
        waiting = conn.default_channel.client.llen("celery")
    inspect = app.control.inspect(timeout=1)
    busy = [*(inspect.active() or {}).values(), *(inspect.reserved() or {}).values()]
    return waiting == 0 and not any(busy)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_nightly_chain_with_real_workers(
    org, other_org, csm, celery_worker_factory, celery_broker, tmp_path
):
    for o in (org, other_org):
        o.timezone = "UTC"
        o.save(update_fields=["timezone"])
    today = org_today(org)
    csm.email = "carla@example.com"
    csm.save(update_fields=["email"])
    # usage 0..9 of the 10 days -> scores 0..90; the trigger fires below 51 (0..50: 6 accounts)
    accounts = [
        f.AccountFactory(organization=org, owner=csm, customer_since=dt.date(2020, 1, 1))
        for _ in range(10)
    ]
    for i, account in enumerate(accounts):
        active_days(org, account, i, end=today)
    theirs = f.AccountFactory(organization=other_org, customer_since=dt.date(2020, 1, 1))
    simple_model(org)
    simple_model(other_org)
    Trigger.all_objects.create(
        organization=org,
        name="Low score",
        kind="retention",
        action="playbook",
        template=template(org, "Save", "retention"),
        condition={"field": "health_score", "op": "<", "value": 51},
    )
    celery_worker_factory("w1", concurrency=2)

    assert health_nightly.delay().get(timeout=60) == 2
    assert wait_for(lambda: TriggerRun.all_objects.filter(organization=org, date=today).exists())
    assert wait_for(
        lambda: (
            Notification.all_objects.filter(organization=org, emailed_at__isnull=False).count() == 6
        )
    ), "the digest did not run after the trigger chunks"

    assert Firing.all_objects.filter(organization=org, fired_on=today).count() == 6
    assert Playbook.all_objects.filter(organization=org).count() == 6
    assert not Firing.all_objects.filter(organization=other_org).exists()
    assert HealthRun.all_objects.filter(organization=other_org, date=today, state="done").exists()
    assert not Playbook.all_objects.filter(account=theirs).exists()

    log = tmp_path / "worker-w1.log"
    assert sorted(start_runs_done(log)) == [1, 1]  # one chunk per organization
    before = {
        "firings": Firing.all_objects.count(),
        "playbooks": Playbook.all_objects.count(),
        "notifications": Notification.all_objects.count(),
        "trigger_runs": list(TriggerRun.all_objects.values_list("pk", "chunks_done", "fired")),
        "health_runs": list(HealthRun.all_objects.values_list("pk", "state", "finished_at")),
    }

    # beat firing twice in a night: wait until both second starts have run on the worker
    # (and whatever they could have queued), then nothing has changed
    assert health_nightly.delay().get(timeout=60) == 2
    assert wait_for(lambda: len(start_runs_done(log)) == 4), "the second starts did not run"
    assert wait_for(lambda: worker_idle(celery_broker), seconds=60)
    assert start_runs_done(log)[2:] == [0, 0]  # the night's runs exist: nothing planned
    after = {
        "firings": Firing.all_objects.count(),
        "playbooks": Playbook.all_objects.count(),
        "notifications": Notification.all_objects.count(),
        "trigger_runs": list(TriggerRun.all_objects.values_list("pk", "chunks_done", "fired")),
        "health_runs": list(HealthRun.all_objects.values_list("pk", "state", "finished_at")),
    }
    assert after == before
    assert before["firings"] == 6 and before["playbooks"] == 6
