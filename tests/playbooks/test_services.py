"""Playbook services that cross layers through hooks: handover when an account changes owner,
and alerts' notifications once decided."""

import pytest

from accounts.services import account_reassign
from playbooks.models import Notification, Playbook, PlaybookStep
from tests import factories as f
from tests.triggers.fixtures import DAY, build
from triggers import services as trigger_services
from triggers.models import Alert

pytestmark = pytest.mark.django_db


def test_account_handover_moves_open_playbooks_and_steps(org, csm, manager, in_org):
    world = build(org, csm, manager)
    trigger_services.triggers_evaluate(org=org, day=DAY)
    account = world["accounts"]["a"]
    playbook = Playbook.objects.get(account=account)
    newcomer = f.UserFactory(username="nina")
    f.MembershipFactory(user=newcomer, organization=org, role="csm")

    account_reassign(account=account, owner=newcomer, acting_user=manager)

    playbook.refresh_from_db()
    assert playbook.owner_id == newcomer.pk
    steps = dict(PlaybookStep.objects.filter(playbook=playbook).values_list("title", "assignee_id"))
    # the owner's step follows the account; the manager's stays with the manager
    assert steps == {"Call the sponsor": newcomer.pk, "Review with manager": manager.pk}
    assert Notification.objects.filter(
        user=newcomer, kind="playbook_assigned", ref=playbook.pk
    ).exists()
    # other accounts' playbooks stay with their owner
    assert not Playbook.objects.exclude(account=account).filter(owner=newcomer).exists()


def test_deciding_an_alert_marks_its_notification_read(org, csm, manager, in_org):
    world = build(org, csm, manager)
    trigger_services.triggers_evaluate(org=org, day=DAY)
    alert = Alert.objects.get(account=world["accounts"]["c"])
    note = Notification.objects.get(kind="alert_raised", ref=alert.pk)
    assert note.read_at is None and note.url == "/playbooks/alerts/"
    trigger_services.alert_dismiss(alert_id=alert.pk, user=csm, reason="Known seasonal dip")
    note.refresh_from_db()
    assert note.read_at is not None
