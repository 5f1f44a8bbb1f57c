"""Playbook templates (/configuration/templates/): admins only; a template created with its
ordered steps; steps moved up and down (without JavaScript: the whole form posts back; with
htmx: the steps alone), their order saved and read back; a named member does a step; a bad
row shows its error on that row and nothing is saved; editing changes future playbooks only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from orgs.tenancy import org_context
from playbooks.models import MAX_DUE_OFFSET_DAYS, Playbook, PlaybookStep, PlaybookTemplate
from playbooks.services import PlaybookSpec, playbooks_create_bulk
from tests import factories as f
from tests.builders import template as make_template

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 6, 3)


def _post(**extra):
    steps = extra.pop("steps", [("Call", "2", "owner", ""), ("Review", "7", "manager", "")])
    data = {
        "name": "Save the account",
        "kind": "retention",
        "persona": "",
        "description": "When health drops",
        "is_active": "on",
        "steps-count": str(len(steps)),
    }
    for i, (title, due, who, member) in enumerate(steps):
        data.update(
            {
                f"step-{i}-title": title,
                f"step-{i}-instructions": f"Do {title}",
                f"step-{i}-due_offset_days": due,
                f"step-{i}-assignee": who,
                f"step-{i}-assignee_user": member,
            }
        )
    data.update(extra)
    return data


def _steps(t) -> list[tuple]:
    with org_context(t.organization_id):
        return list(
            t.steps.order_by("order").values_list(
                "order", "title", "due_offset_days", "assignee", "assignee_user_id"
            )
        )


@pytest.mark.parametrize("role", ["csm", "manager", "analyst"])
def test_only_admins_open_or_change_templates(client, org, role):
    user = f.UserFactory(username=f"who.{role}")
    f.MembershipFactory(user=user, organization=org, role=role)
    with org_context(org):
        t = make_template(org, "Existing", "custom")
    client.force_login(user)
    assert client.get(reverse("configuration:templates")).status_code == 403
    assert client.get(reverse("configuration:template", args=[t.pk])).status_code == 403
    assert client.post(reverse("configuration:template_new"), _post()).status_code == 403
    assert client.post(reverse("configuration:template", args=[t.pk]), _post()).status_code == 403
    assert PlaybookTemplate.all_objects.filter(organization=org).count() == 1
    assert _steps(t)[0][1] == "Call the sponsor"


def test_a_template_is_created_with_its_steps_in_order_and_read_back(client, org, org_admin, csm):
    client.force_login(org_admin)
    data = _post(steps=[("Call", "2", "owner", ""), ("Meet", "5", "member", str(csm.pk))])
    response = client.post(reverse("configuration:template_new"), data)
    assert response.status_code == 302
    t = PlaybookTemplate.all_objects.get(organization=org, name="Save the account")
    assert _steps(t) == [(1, "Call", 2, "owner", None), (2, "Meet", 5, "member", csm.pk)]
    page = client.get(response.url)
    forms = page.context["steps"]
    assert [s.initial["title"] for s in forms] == ["Call", "Meet"]
    assert "Retained (reverted)" in page.content.decode()  # the outcomes a retention asks for


def test_steps_move_up_and_down_without_javascript_and_the_order_is_saved(client, org, org_admin):
    """Three steps A, B, C. "Down" on A (position 0): B, A, C. "Up" on C (position 2):
    B, C, A. Nothing is saved by a move; saving the posted rows stores orders 1..3."""
    with org_context(org):
        t = make_template(
            org, "Order", "custom", steps=(("A", 1, "owner"), ("B", 2, "owner"), ("C", 3, "owner"))
        )
    url = reverse("configuration:template", args=[t.pk])
    client.force_login(org_admin)
    rows = [("A", "1", "owner", ""), ("B", "2", "owner", ""), ("C", "3", "owner", "")]
    page = client.post(url, _post(name="Order", kind="custom", steps=rows, step_action="down:0"))
    assert page.status_code == 200
    titles = [s.initial["title"] for s in page.context["steps"]]
    assert titles == ["B", "A", "C"]
    assert page.context["steps"][1].focus == "down"  # the moved step keeps the focus
    assert [r[1] for r in _steps(t)] == ["A", "B", "C"]  # a move saves nothing
    moved = [("B", "2", "owner", ""), ("A", "1", "owner", ""), ("C", "3", "owner", "")]
    page = client.post(url, _post(name="Order", kind="custom", steps=moved, step_action="up:2"))
    assert [s.initial["title"] for s in page.context["steps"]] == ["B", "C", "A"]
    final = [("B", "2", "owner", ""), ("C", "3", "owner", ""), ("A", "1", "owner", "")]
    assert client.post(url, _post(name="Order", kind="custom", steps=final)).status_code == 302
    assert _steps(t) == [
        (1, "B", 2, "owner", None),
        (2, "C", 3, "owner", None),
        (3, "A", 1, "owner", None),
    ]


def test_with_htmx_a_move_returns_the_steps_alone(client, org, org_admin):
    client.force_login(org_admin)
    rows = [("A", "1", "owner", ""), ("B", "2", "owner", "")]
    response = client.post(
        reverse("configuration:template_new"),
        _post(steps=rows, step_action="down:0"),
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith("<fieldset")
    assert html.index('value="B"') < html.index('value="A"')
    assert "<form" not in html


def test_add_and_remove_rows(client, org, org_admin):
    client.force_login(org_admin)
    rows = [("A", "1", "owner", ""), ("B", "2", "owner", "")]
    page = client.post(reverse("configuration:template_new"), _post(steps=rows, step_action="add"))
    assert len(page.context["steps"]) == 3
    page = client.post(
        reverse("configuration:template_new"), _post(steps=rows, step_action="remove:0")
    )
    assert [s.initial["title"] for s in page.context["steps"]] == ["B"]


def test_a_bad_row_shows_its_error_on_that_row_and_nothing_is_saved(client, org, org_admin):
    with org_context(org):
        t = make_template(org, "Keep", "custom")
    before = _steps(t)
    client.force_login(org_admin)
    rows = [
        ("Fine", "1", "owner", ""),
        ("", "2", "owner", ""),  # no title
        ("Late", str(MAX_DUE_OFFSET_DAYS + 1), "owner", ""),  # beyond the bound
        ("Who", "3", "member", ""),  # a named member not named
    ]
    response = client.post(
        reverse("configuration:template", args=[t.pk]),
        _post(name="Renamed", kind="custom", steps=rows),
    )
    assert response.status_code == 422
    errors = [dict(s.errors) for s in response.context["steps"]]
    assert errors[0] == {}
    assert set(errors[1]) == {"title"}
    assert set(errors[2]) == {"due_offset_days"}
    assert set(errors[3]) == {"assignee_user"}
    assert "3 steps need attention" in response.content.decode()
    t.refresh_from_db()
    assert t.name == "Keep" and _steps(t) == before


def test_a_named_member_of_another_organization_is_refused_on_the_row(
    client, org, other_org, org_admin
):
    stranger = f.UserFactory(username="stranger")
    f.MembershipFactory(user=stranger, organization=other_org, role="csm")
    client.force_login(org_admin)
    response = client.post(
        reverse("configuration:template_new"),
        _post(steps=[("Meet", "1", "member", str(stranger.pk))]),
    )
    assert response.status_code == 422
    assert "assignee_user" in response.context["steps"][0].errors
    assert not PlaybookTemplate.all_objects.filter(organization=org).exists()


def test_editing_a_template_changes_future_playbooks_only(client, org, org_admin, csm):
    """An open playbook made from "Save" (Call the sponsor, Review with manager) keeps those
    two steps after the template becomes one step, "Email", done by Carla (a named member);
    a playbook opened afterwards has that one step, Carla's, due 4 days after it opens."""
    with org_context(org):
        t = make_template(org, "Save", "retention")
        a1 = f.AccountFactory(organization=org, owner=org_admin)
        a2 = f.AccountFactory(organization=org, owner=org_admin)
        (old,) = playbooks_create_bulk(
            org=org,
            specs=[
                PlaybookSpec(account_id=a1.pk, owner_id=org_admin.pk, template=t, opened_on=DAY)
            ],
        ).new
    client.force_login(org_admin)
    page = client.get(reverse("configuration:template", args=[t.pk])).content.decode()
    assert "The 1 open playbook from this template keeps its steps." in page
    response = client.post(
        reverse("configuration:template", args=[t.pk]),
        _post(name="Save", steps=[("Email", "4", "member", str(csm.pk))]),
    )
    assert response.status_code == 302
    with org_context(org):
        t = PlaybookTemplate.objects.get(pk=t.pk)
        (new,) = playbooks_create_bulk(
            org=org,
            specs=[
                PlaybookSpec(account_id=a2.pk, owner_id=org_admin.pk, template=t, opened_on=DAY)
            ],
        ).new
        assert list(
            PlaybookStep.objects.filter(playbook=old)
            .order_by("order")
            .values_list("title", flat=True)
        ) == ["Call the sponsor", "Review with manager"]
        assert list(
            PlaybookStep.objects.filter(playbook=new).values_list("title", "assignee_id", "due_on")
        ) == [("Email", csm.pk, DAY + dt.timedelta(days=4))]
        assert Playbook.objects.get(pk=new.pk).due_on == DAY + dt.timedelta(days=4)


def test_a_step_whose_named_member_left_goes_to_the_owner(org, org_admin, csm):
    from configuration.members.services import member_deactivate
    from orgs.models import Membership

    with org_context(org):
        t = make_template(org, "Named", "custom", steps=(("Meet", 1, "member"),))
        t.steps.update(assignee_user=csm)
        member_deactivate(
            membership=Membership.objects.get(user=csm, organization=org),
            handover_to=None,
            acting_user=org_admin,
        )
        account = f.AccountFactory(organization=org, owner=org_admin)
        (p,) = playbooks_create_bulk(
            org=org,
            specs=[
                PlaybookSpec(
                    account_id=account.pk, owner_id=org_admin.pk, template=t, opened_on=DAY
                )
            ],
        ).new
        assert list(
            PlaybookStep.objects.filter(playbook=p).values_list("assignee_id", flat=True)
        ) == [org_admin.pk]


def test_the_list_reads_in_one_query_whatever_the_number_of_templates(
    client, org, org_admin, django_assert_max_num_queries
):
    with org_context(org):
        for i in range(4):
            make_template(org, f"T{i}", "custom")
    client.force_login(org_admin)
    client.get(reverse("configuration:templates"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("configuration:templates"))
    with org_context(org):
        for i in range(4, 9):
            make_template(org, f"T{i}", "custom")
    with CaptureQueriesContext(connection) as more:
        page = client.get(reverse("configuration:templates"))
    assert len(more.captured_queries) == len(few.captured_queries)
    assert page.content.decode().count('href="/configuration/templates/') >= 9


def test_a_template_a_trigger_opens_keeps_its_kind(client, org, org_admin):
    from triggers.models import Trigger

    with org_context(org):
        t = make_template(org, "Rescue", "retention")
        Trigger.objects.create(
            organization=org, name="Low health", kind="retention", condition={}, template=t
        )
    client.force_login(org_admin)
    response = client.post(
        reverse("configuration:template", args=[t.pk]), _post(name="Rescue", kind="expansion")
    )
    assert response.status_code == 422
    assert "Low health" in str(response.context["form"].errors["kind"])
    t.refresh_from_db()
    assert t.kind == "retention"
    # its other fields still change
    ok = client.post(reverse("configuration:template", args=[t.pk]), _post(name="Rescue 2"))
    assert ok.status_code == 302
