"""Playbook tasks, end to end: the digest, sent by its name through a real Redis broker to a
real Celery worker process that reads and writes the test database."""

import pytest

from playbooks.models import Notification
from tests import factories as f


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_digest_task_keeps_its_name_and_mails_on_a_real_worker(
    org, other_org, csm, celery_worker, celery_broker
):
    theirs = f.UserFactory(username="olga.other")
    f.MembershipFactory(user=theirs, organization=other_org, role="csm")
    for organization, user, ref in ((org, csm, 1), (org, csm, 2), (other_org, theirs, 3)):
        Notification.all_objects.create(
            organization=organization, user=user, kind="playbook_assigned", ref=ref, text="x"
        )

    # the name the night's chain queues it by (and messages already in a queue carry)
    result = celery_broker.send_task("playbooks.send_digest", args=[org.pk])
    assert result.get(timeout=60) == 1
    assert not Notification.all_objects.filter(organization=org, emailed_at__isnull=True).exists()
    # another organization's notifications wait for their own digest
    assert not Notification.all_objects.filter(
        organization=other_org, emailed_at__isnull=False
    ).exists()
