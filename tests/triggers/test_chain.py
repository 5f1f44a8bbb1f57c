"""The nightly chain end to end on a real Redis broker and real Celery workers: beat's task
scores, the hook starts the triggers, their chunks fire once, playbooks are created and the
digest is sent; a second start of the night changes nothing."""

import datetime as dt
import time

import pytest

from health.models import HealthRun
from health.selectors import org_today
from health.tasks import health_nightly
from playbooks.models import Notification, Playbook
from tests import factories as f
from tests.health.test_pipeline import active_days, simple_model
from tests.triggers.fixtures import template
from triggers.models import Firing, Trigger, TriggerRun


def wait_for(predicate, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_nightly_chain_with_real_workers(org, other_org, csm, celery_worker_factory):
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

    # beat firing twice in a night: nothing new
    assert health_nightly.delay().get(timeout=60) == 2
    time.sleep(3)
    assert Firing.all_objects.filter(organization=org).count() == 6
    assert Playbook.all_objects.filter(organization=org).count() == 6
