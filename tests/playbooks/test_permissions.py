"""Who may work a playbook: a step by whoever it is assigned to (or a manager), a playbook's
outcome and contacts by its owner (or a manager). Another CSM of the same organization gets a
403 and changes nothing, and the pages offer only what the member may do."""

import pytest
from django.urls import reverse

from accounts.models import Account, Interaction
from playbooks.models import Playbook, PlaybookStep, StepStatus
from playbooks.permissions import may_work_playbook, may_work_step
from tests.builders import DAY, trigger_world
from tests.factories import MembershipFactory, UserFactory
from triggers import services as trigger_services

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(org, csm, manager, in_org):
    w = trigger_world(org, csm, manager)
    trigger_services.triggers_evaluate(org=org, day=DAY)
    playbook = Playbook.objects.get(account=w["accounts"]["a"])
    steps = list(PlaybookStep.objects.filter(playbook=playbook).order_by("order"))
    # the fixture's template: 1 "Call the sponsor" (owner), 2 "Review with manager" (manager)
    assert [s.assignee_id for s in steps] == [csm.pk, manager.pk]
    return {**w, "playbook": playbook, "own_step": steps[0], "managers_step": steps[1]}


@pytest.fixture
def colleague(org):
    user = UserFactory(username="rita.colleague")
    MembershipFactory(user=user, organization=org, role="csm")
    return user


def _step_post(client, step, action="step_complete", **data):
    return client.post(
        reverse(f"playbooks:{action}", args=[step.pk]),
        {"version": step.version, "where": "playbook", **data},
        **HTMX,
    )


def test_a_csm_cannot_complete_the_managers_sign_off(client, csm, world):
    client.force_login(csm)
    step = world["managers_step"]
    response = _step_post(client, step)
    assert response.status_code == 403
    step.refresh_from_db()
    assert (step.status, step.completed_by_id) == (StepStatus.OPEN, None)


def test_the_assignee_and_a_manager_can(client, csm, manager, world):
    client.force_login(csm)
    assert _step_post(client, world["own_step"]).status_code == 200
    client.force_login(manager)
    assert _step_post(client, world["managers_step"]).status_code == 200
    statuses = set(
        PlaybookStep.objects.filter(playbook=world["playbook"]).values_list("status", flat=True)
    )
    assert statuses == {StepStatus.DONE}


@pytest.mark.parametrize(
    "action, data",
    [
        ("step_complete", {}),
        ("step_note", {"notes": "I was here"}),
        ("step_snooze", {"due_on": "2099-01-01", "reason": "later"}),
    ],
)
def test_another_csm_cannot_touch_someone_elses_step(client, colleague, world, action, data):
    client.force_login(colleague)
    step = world["own_step"]
    before = PlaybookStep.objects.filter(pk=step.pk).values().get()
    assert _step_post(client, step, action, **data).status_code == 403
    assert PlaybookStep.objects.filter(pk=step.pk).values().get() == before


def test_another_csm_cannot_close_or_log_on_someone_elses_playbook(client, colleague, world):
    client.force_login(colleague)
    playbook = world["playbook"]
    close = client.post(
        reverse("playbooks:close", args=[playbook.pk]), {"outcome": "no_opportunity"}, **HTMX
    )
    assert close.status_code == 403
    contact = client.post(
        reverse("playbooks:log_contact", args=[playbook.pk]),
        {"kind": "call", "summary": "Hijack"},
        **HTMX,
    )
    assert contact.status_code == 403
    playbook.refresh_from_db()
    assert playbook.status == "open" and playbook.outcome == ""
    assert not Interaction.objects.filter(summary="Hijack").exists()
    # from the account page, the playbook field refuses it and nothing is logged
    account_post = client.post(
        reverse("workspace:account_contact", args=[playbook.account_id]),
        {"kind": "call", "summary": "Hijack", "playbook": playbook.pk},
        **HTMX,
    )
    assert account_post.status_code == 422
    assert not Interaction.objects.filter(summary="Hijack").exists()
    assert not Account.objects.get(pk=playbook.account_id).is_churned


def test_the_page_offers_only_what_the_member_may_do(client, csm, colleague, manager, world):
    url = reverse("playbooks:detail", args=[world["playbook"].pk])
    complete = "playbooks:step_complete"
    own = reverse(complete, args=[world["own_step"].pk])
    managers = reverse(complete, args=[world["managers_step"].pk])
    close = reverse("playbooks:close", args=[world["playbook"].pk])

    client.force_login(csm)
    html = client.get(url).content.decode()
    assert own in html and managers not in html and close in html
    client.force_login(colleague)
    html = client.get(url).content.decode()
    assert own not in html and managers not in html and close not in html
    client.force_login(manager)
    html = client.get(url).content.decode()
    assert own in html and managers in html and close in html


@pytest.mark.parametrize(
    "role, assignee, owner, expected",
    [
        ("csm", 1, 1, True),
        ("csm", 2, 1, False),  # someone else's step in my playbook
        ("csm", None, 1, True),  # unassigned: the owner's
        ("csm", None, 2, False),
        ("manager", 2, 3, True),
        ("admin", 2, 3, True),
        ("analyst", 1, 1, False),  # analysts read
        (None, 1, 1, False),  # not a member
    ],
)
def test_the_rule(role, assignee, owner, expected):
    class Row:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    step, playbook = Row(assignee_id=assignee), Row(owner_id=owner)
    assert may_work_step(step=step, playbook=playbook, user_id=1, role=role) is expected
    assert may_work_playbook(playbook=playbook, user_id=1, role=role) is (
        role in ("manager", "admin") or (role == "csm" and owner == 1)
    )


def test_another_csm_cannot_decide_someone_elses_alert(client, csm, colleague, world):
    from triggers.models import Alert, AlertStatus

    alert = Alert.objects.filter(owner=csm, status=AlertStatus.PENDING).first()
    assert alert is not None
    client.force_login(colleague)
    confirm = client.post(reverse("triggers:alert_confirm", args=[alert.pk]), **HTMX)
    dismiss = client.post(
        reverse("triggers:alert_dismiss", args=[alert.pk]), {"reason": "nope"}, **HTMX
    )
    assert (confirm.status_code, dismiss.status_code) == (403, 403)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.PENDING
    client.force_login(csm)
    assert (
        client.post(reverse("triggers:alert_confirm", args=[alert.pk]), **HTMX).status_code == 200
    )
