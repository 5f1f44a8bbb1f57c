"""Notifications a person can read: each names the account and the playbook and links to it;
nobody is told of what they did themselves; a playbook whose steps are all done asks its owner
for the outcome, once."""

import pytest

from accounts.services import account_reassign
from playbooks import services as pb
from playbooks.models import Notification, Playbook, PlaybookStep
from tests import factories as f
from tests.builders import DAY, trigger_world
from triggers import services as trigger_services
from triggers.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, csm, manager, in_org):
    w = trigger_world(org, csm, manager)
    trigger_services.triggers_evaluate(org=org, day=DAY)
    w["expansion"] = Playbook.objects.get(account=w["accounts"]["a"])
    return w


def notes(user, kind=None):
    qs = Notification.objects.filter(user=user)
    return list(qs.filter(kind=kind) if kind else qs)


def test_a_new_playbook_names_its_account_and_itself_and_links_to_it(world, csm):
    (note,) = notes(csm, "playbook_assigned")
    assert note.text == "Alfa: new playbook “Offer Analytics”"
    assert note.url == f"/playbooks/{world['expansion'].pk}/"
    assert note.playbook_id == world["expansion"].pk


def test_an_alert_names_its_account_trigger_and_the_playbook_it_would_start(world, csm):
    charlie = Alert.objects.get(account=world["accounts"]["c"])
    note = Notification.objects.get(kind="alert_raised", ref=charlie.pk)
    assert note.text == "Charlie: Retention risk — confirm to start “Retention call”, or dismiss"


def test_nobody_is_told_of_what_they_did_themselves(org, world, csm, manager):
    before = {u.pk: len(notes(u)) for u in (csm, manager)}
    # a CSM starting a playbook for their own account
    pb.playbook_start(
        account=world["accounts"]["e"],
        template=world["templates"]["save"],
        acting_user=csm,
        today=DAY,
    )
    # a CSM confirming their own alert
    alert = Alert.objects.get(account=world["accounts"]["d"])
    trigger_services.alert_confirm(alert_id=alert.pk, user=csm, today=DAY)
    # a manager taking a playbook, and an account with its open playbook, for themselves
    pb.playbook_reassign(playbook=world["expansion"], owner=manager, acting_user=manager)
    account_reassign(account=world["accounts"]["e"], owner=manager, acting_user=manager)
    assert {u.pk: len(notes(u)) for u in (csm, manager)} == before


def test_a_playbook_given_to_someone_else_tells_them_who_gave_it(org, world, csm, manager):
    nina = f.UserFactory(username="nina", first_name="Nina", last_name="Neves")
    f.MembershipFactory(user=nina, organization=org, role="csm")
    manager.first_name, manager.last_name = "Maria", "Manager"
    manager.save(update_fields=["first_name", "last_name"])
    pb.playbook_reassign(playbook=world["expansion"], owner=nina, acting_user=manager)
    (note,) = notes(nina)
    assert note.text == "Alfa: Maria Manager gave you the playbook “Offer Analytics”"
    assert note.url == f"/playbooks/{world['expansion'].pk}/"


def test_the_owner_is_asked_for_the_outcome_once_when_the_last_step_is_done(world, csm, manager):
    playbook = world["expansion"]
    mine, managers = PlaybookStep.objects.filter(playbook=playbook).order_by("order")
    pb.step_complete(step_id=mine.pk, user=csm)
    assert notes(csm, "outcome_due") == []  # a step is still open
    assert not pb.playbook_outcome_due(playbook=playbook)

    pb.step_complete(step_id=managers.pk, user=manager)

    assert pb.playbook_outcome_due(playbook=playbook)
    (note,) = notes(csm, "outcome_due")
    assert note.text == "Alfa: all steps of “Offer Analytics” are done — record the outcome"
    assert note.url == f"/playbooks/{playbook.pk}/#playbook-outcome"
    assert notes(manager, "outcome_due") == []
    # closing it answers the question
    pb.playbook_close(playbook_id=playbook.pk, user=csm, outcome="no_opportunity", today=DAY)
    note.refresh_from_db()
    assert note.read_at is not None


def test_an_owner_who_does_the_last_step_is_asked_on_the_page_not_notified(world, csm, manager):
    playbook = world["expansion"]
    mine, managers = PlaybookStep.objects.filter(playbook=playbook).order_by("order")
    pb.step_complete(step_id=managers.pk, user=manager)
    pb.step_complete(step_id=mine.pk, user=csm)
    assert pb.playbook_outcome_due(playbook=playbook)
    assert notes(csm, "outcome_due") == []
