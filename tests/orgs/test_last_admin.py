"""An organization always keeps an admin: its only admin cannot be demoted or removed (by the
form, the delete page or the bulk action), while a second admin can."""

import pytest
from django.urls import reverse

from orgs.models import Membership, Role
from orgs.timezones import timezone_names
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_only_admin_cannot_demote_themselves(client, org, org_admin):
    membership = Membership.objects.get(user=org_admin)
    client.force_login(org_admin)
    url = reverse("admin:orgs_membership_change", args=[membership.pk])
    response = client.post(url, {"role": Role.CSM})
    assert response.status_code == 200
    assert "only admin" in str(response.context["adminform"].form.errors["role"])
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_the_only_admin_cannot_be_deleted(client, org, org_admin, csm):
    membership = Membership.objects.get(user=org_admin)
    client.force_login(org_admin)
    delete = reverse("admin:orgs_membership_delete", args=[membership.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:orgs_membership_changelist")
    ids = list(Membership.objects.filter(organization=org).values_list("pk", flat=True))
    client.post(changelist, {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert Membership.objects.filter(organization=org, user=org_admin, role=Role.ADMIN).exists()


def test_with_a_second_admin_one_may_step_down(client, org, org_admin):
    second = UserFactory(username="second.admin")
    MembershipFactory(user=second, organization=org, role=Role.ADMIN)
    membership = Membership.objects.get(user=org_admin)
    client.force_login(org_admin)
    url = reverse("admin:orgs_membership_change", args=[membership.pk])
    assert client.post(url, {"role": Role.MANAGER}).status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER


def test_an_inactive_second_admin_does_not_count(client, org, org_admin):
    gone = UserFactory(username="gone.admin", is_active=False)
    MembershipFactory(user=gone, organization=org, role=Role.ADMIN)
    client.force_login(org_admin)
    url = reverse("admin:orgs_membership_change", args=[Membership.objects.get(user=org_admin).pk])
    assert client.post(url, {"role": Role.CSM}).status_code == 200


@pytest.mark.parametrize("name", ["localtime", "Factory", "posixrules"])
def test_files_of_the_tz_database_that_are_not_zones_are_refused(name):
    assert name not in timezone_names()
    assert "America/Sao_Paulo" in timezone_names() and "UTC" in timezone_names()


def test_accounts_and_playbooks_are_given_to_people_who_work_them(client, org, manager, analyst):
    from tests.factories import AccountFactory

    account = AccountFactory(organization=org, owner=manager)
    client.force_login(manager)
    response = client.post(
        reverse("accounts:reassign", args=[account.pk]),
        {"owner": analyst.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    account.refresh_from_db()
    assert account.owner_id == manager.pk


def test_removing_every_admin_at_once_keeps_them(client, org, org_admin, csm):
    second = UserFactory(username="second.admin")
    MembershipFactory(user=second, organization=org, role=Role.ADMIN)
    client.force_login(org_admin)
    ids = list(Membership.objects.filter(organization=org).values_list("pk", flat=True))
    client.post(
        reverse("admin:orgs_membership_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    left = set(Membership.objects.filter(organization=org).values_list("user_id", "role"))
    assert left == {(org_admin.pk, Role.ADMIN), (second.pk, Role.ADMIN)}  # the CSM went
