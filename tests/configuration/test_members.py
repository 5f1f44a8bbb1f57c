"""Users and roles (/configuration/members/): only admins (CSM, manager, analyst: 403 on every
page and write); adding a member (a new user is invited by email and sets a password through
the link; an existing user joins with their own login); roles; the last active admin is kept
(also against two deactivations racing); deactivating with the handover of accounts, open
playbooks and open steps (counted by hand); reactivating; password resets; memberships are
per organization."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
from django.core import mail
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from configuration.members import services as member_services
from orgs.models import Membership, Role, User
from orgs.services import MembershipError, membership_deactivate
from orgs.tenancy import org_context
from playbooks.models import Notification, Playbook, PlaybookStep
from playbooks.services import PlaybookSpec, playbooks_create_bulk
from tests import factories as f
from tests.builders import template

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 6, 3)


def _membership(user, org) -> Membership:
    return Membership.all_objects.get(user=user, organization=org)


def _logs_in(username: str, password: str) -> bool:
    """Logging in through the login page, as the person would."""
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def _link(message) -> str:
    (url,) = re.findall(r"https?://\S+", message.body)
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


# -- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["csm", "manager", "analyst"])
def test_only_admins_open_or_change_members(client, org, org_admin, role):
    """Every page and every write of the area answers 403 to the other roles, and the
    memberships are as they were."""
    user = f.UserFactory(username=f"someone.{role}")
    f.MembershipFactory(user=user, organization=org, role=role)
    target = _membership(org_admin, org)
    client.force_login(user)
    before = sorted(Membership.all_objects.values_list("pk", "role", "is_active"))
    assert client.get(reverse("configuration:members")).status_code == 403
    assert client.get(reverse("configuration:member", args=[target.pk])).status_code == 403
    posts = [
        (reverse("configuration:member_add"), {"email": "x@example.com", "role": "admin"}),
        (reverse("configuration:member", args=[target.pk]), {"role": "csm"}),
        (reverse("configuration:member_deactivate", args=[target.pk]), {}),
        (reverse("configuration:member_reactivate", args=[target.pk]), {}),
        (reverse("configuration:member_password_reset", args=[target.pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert sorted(Membership.all_objects.values_list("pk", "role", "is_active")) == before
    assert User.objects.filter(email="x@example.com").count() == 0
    assert mail.outbox == []


def test_the_members_link_is_shown_to_admins_only(client, org, org_admin, analyst):
    client.force_login(analyst)
    assert reverse("configuration:members") not in client.get("/configuration/").content.decode()
    client.force_login(org_admin)
    assert reverse("configuration:members") in client.get("/configuration/").content.decode()


# -- the list -------------------------------------------------------------------------------


def test_the_list_shows_role_status_and_last_login_in_a_fixed_number_of_queries(
    client, org, org_admin, csm, django_assert_num_queries
):
    client.force_login(org_admin)
    gone = f.UserFactory(username="gone.csm", first_name="Gus", last_name="Gone")
    f.MembershipFactory(user=gone, organization=org, role="csm", is_active=False)
    page = client.get(reverse("configuration:members")).content.decode()
    assert "Gus Gone" in page and "Inactive" in page and "Never" in page
    # as many queries with three more members
    with django_assert_num_queries(_count(client)) as first:
        client.get(reverse("configuration:members"))
    for i in range(3):
        f.MembershipFactory(user=f.UserFactory(username=f"more{i}"), organization=org)
    with django_assert_num_queries(len(first.captured_queries)):
        client.get(reverse("configuration:members"))


def _count(client) -> int:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("configuration:members"))
    return len(ctx.captured_queries)


# -- adding ---------------------------------------------------------------------------------


def test_a_new_member_is_invited_and_sets_a_password_through_the_link(
    client, org, org_admin, django_capture_on_commit_callbacks
):
    client.force_login(org_admin)
    with django_capture_on_commit_callbacks() as after_commit:
        response = client.post(
            reverse("configuration:member_add"),
            {"email": "Nina.New@Example.com", "name": "Nina New", "role": "csm"},
        )
    assert response.status_code == 302
    assert mail.outbox == []  # the invitation leaves once the member is committed
    for callback in after_commit:
        callback()
    nina = User.objects.get(email="nina.new@example.com")
    assert (nina.first_name, nina.last_name, nina.username) == ("Nina", "New", nina.email)
    assert not nina.has_usable_password()
    assert _membership(nina, org).role == Role.CSM
    (message,) = mail.outbox
    assert message.to == ["nina.new@example.com"] and "Acme CS" in message.subject
    link = _link(message)

    client.logout()
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-pass-9173", "new_password2": "a-long-pass-9173"},
    )
    assert done.status_code == 302 and done.url == reverse("password_set_done")
    assert _logs_in(nina.username, "a-long-pass-9173")
    # the link works once
    again = client.get(link, follow=True)
    assert again.context["validlink"] is False


def test_an_existing_user_joins_with_their_own_login_and_keeps_their_other_organization(
    client, org, other_org, org_admin
):
    bob = f.UserFactory(username="bob", email="bob@globex.example")
    f.MembershipFactory(user=bob, organization=other_org, role="manager")
    client.force_login(org_admin)
    client.post(
        reverse("configuration:member_add"), {"email": "BOB@globex.example", "role": "analyst"}
    )
    assert _membership(bob, org).role == Role.ANALYST
    assert mail.outbox == []  # no invitation: they log in as before
    assert _logs_in("bob", "pass12345")
    # deactivated here, still a manager there
    member_services.member_deactivate(
        membership=_membership(bob, org), handover_to=None, acting_user=org_admin
    )
    assert not _membership(bob, org).is_active
    assert _membership(bob, other_org).is_active
    bob.refresh_from_db()
    assert bob.is_active
    client.force_login(bob)
    assert client.get("/").status_code != 403  # lands in globex
    assert client.get(reverse("accounts:portfolio")).wsgi_request.organization == other_org


def test_adding_someone_who_is_already_a_member_is_an_error_on_the_email(
    client, org, org_admin, csm
):
    client.force_login(org_admin)
    response = client.post(
        reverse("configuration:member_add"), {"email": csm.email, "role": "admin"}
    )
    assert response.status_code == 422
    assert "already a member" in str(response.context["form"].errors["email"])
    assert _membership(csm, org).role == Role.CSM


def test_a_bad_email_or_role_names_the_field(client, org, org_admin):
    client.force_login(org_admin)
    response = client.post(reverse("configuration:member_add"), {"email": "nope", "role": "boss"})
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"email", "role"}


def test_adding_a_former_member_reactivates_them_with_the_new_role(client, org, org_admin):
    gone = f.UserFactory(username="gone")
    f.MembershipFactory(user=gone, organization=org, role="csm", is_active=False)
    client.force_login(org_admin)
    client.post(reverse("configuration:member_add"), {"email": gone.email, "role": "manager"})
    m = _membership(gone, org)
    assert (m.is_active, m.role) == (True, Role.MANAGER)
    assert Membership.all_objects.filter(user=gone).count() == 1


# -- roles and the last admin ------------------------------------------------------------------


def test_a_role_is_changed(client, org, org_admin, csm):
    client.force_login(org_admin)
    m = _membership(csm, org)
    assert (
        client.post(reverse("configuration:member", args=[m.pk]), {"role": "manager"}).status_code
        == 302
    )
    m.refresh_from_db()
    assert m.role == Role.MANAGER


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(client, org, org_admin):
    client.force_login(org_admin)
    m = _membership(org_admin, org)
    response = client.post(reverse("configuration:member", args=[m.pk]), {"role": "csm"})
    assert response.status_code == 422
    assert "only admin" in str(response.context["role_form"].errors["role"])
    response = client.post(reverse("configuration:member_deactivate", args=[m.pk]), {})
    assert response.status_code == 422
    assert "only active admin" in response.content.decode()
    m.refresh_from_db()
    assert (m.role, m.is_active) == (Role.ADMIN, True)
    # an inactive second admin does not count
    ghost = f.UserFactory(username="ghost.admin")
    f.MembershipFactory(user=ghost, organization=org, role="admin", is_active=False)
    assert (
        client.post(reverse("configuration:member", args=[m.pk]), {"role": "csm"}).status_code
        == 422
    )
    # an active one does
    second = f.UserFactory(username="second.admin")
    f.MembershipFactory(user=second, organization=org, role="admin")
    assert (
        client.post(reverse("configuration:member_deactivate", args=[m.pk]), {}).status_code == 302
    )
    m.refresh_from_db()
    assert not m.is_active


@pytest.mark.django_db(transaction=True)
def test_two_admins_deactivating_each_other_at_once_cannot_both_pass(org, org_admin):
    """A holds the first deactivation open (its transaction not committed) until the second
    is seen waiting for a lock in PostgreSQL; then A commits. Without the organization lock
    the second would read the first admin as still active and pass too: no admin left."""
    assert connection.vendor == "postgresql"
    second = f.UserFactory(username="second.admin")
    f.MembershipFactory(user=second, organization=org, role="admin")
    first_m, second_m = _membership(org_admin, org), _membership(second, org)
    holding, outcome = threading.Event(), {}

    def deactivate_second():
        holding.wait(10)
        try:
            membership_deactivate(membership=second_m, acting_user=second)
            outcome["second"] = "deactivated"
        except MembershipError as exc:
            outcome["second"] = exc.message
        finally:
            connection.close()

    thread = threading.Thread(target=deactivate_second)
    thread.start()
    with transaction.atomic():
        membership_deactivate(membership=first_m, acting_user=org_admin)
        holding.set()
        waited = _wait_for_a_lock_wait(seconds=20)
    thread.join(20)
    assert waited, "the second deactivation never waited for the first"
    assert "only active admin" in outcome["second"]
    assert set(
        Membership.all_objects.filter(organization=org, role="admin").values_list(
            "user_id", "is_active"
        )
    ) == {(org_admin.pk, False), (second.pk, True)}


def _wait_for_a_lock_wait(seconds: float) -> bool:
    """Another connection's transaction is waiting for a row lock (seen from a third
    connection, so this one's open transaction is not disturbed)."""
    watcher = connections.create_connection("default")
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with watcher.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
                if cursor.fetchone()[0]:
                    return True
            time.sleep(0.05)
        return False
    finally:
        watcher.close()


# -- deactivation and handover ----------------------------------------------------------------


@pytest.fixture
def book(org, org_admin, manager, csm):
    """Carla (the CSM) leaves; Nina takes over. By hand:
    accounts: a1, a2 Carla's; a3 Nina's; a4 Marcos's (the manager).
    template "Save": step 1 the owner's, step 2 the manager's (Marcos).
    p1 on a1 and p2 on a2: Carla's, open, each with an open step of Carla's (1) and Marcos's (2);
    p3 on a4: open, given to Carla by hand (its step 1 Carla's);
    p4 on a3: Nina's, open, with step 2 given to Carla;
    p5 on a1 from another template: completed, Carla's, a step of hers left open.
    Handed over: 2 accounts (a1, a2); 3 open playbooks (p1, p2, p3);
    4 open steps (step 1 of p1, p2, p3 and step 2 of p4). p5 stays Carla's (closed);
    Marcos's steps stay his."""
    nina = f.UserFactory(username="nina.csm", first_name="Nina", last_name="Neves")
    f.MembershipFactory(user=nina, organization=org, role="csm")
    with org_context(org):
        acc = {
            name: f.AccountFactory(organization=org, name=name, owner=owner)
            for name, owner in [("a1", csm), ("a2", csm), ("a3", nina), ("a4", manager)]
        }
        save = template(org, "Save", "retention")
        other = template(org, "Other", "custom")
        specs = [
            PlaybookSpec(account_id=acc["a1"].pk, owner_id=csm.pk, template=save, opened_on=DAY),
            PlaybookSpec(account_id=acc["a2"].pk, owner_id=csm.pk, template=save, opened_on=DAY),
            PlaybookSpec(account_id=acc["a4"].pk, owner_id=csm.pk, template=save, opened_on=DAY),
            PlaybookSpec(account_id=acc["a3"].pk, owner_id=nina.pk, template=save, opened_on=DAY),
            PlaybookSpec(account_id=acc["a1"].pk, owner_id=csm.pk, template=other, opened_on=DAY),
        ]
        p1, p2, p3, p4, p5 = playbooks_create_bulk(org=org, specs=specs).new
        PlaybookStep.objects.filter(playbook=p4, order=2).update(assignee=csm)
        Playbook.objects.filter(pk=p5.pk).update(status="completed")
    return {"nina": nina, "acc": acc, "p": [p1, p2, p3, p4, p5]}


def test_deactivating_a_csm_hands_their_accounts_and_open_work_to_the_chosen_member(
    client, org, org_admin, manager, csm, book
):
    nina, (p1, p2, p3, p4, p5) = book["nina"], book["p"]
    m = _membership(csm, org)
    client.force_login(org_admin)
    page = client.get(reverse("configuration:member", args=[m.pk])).content.decode()
    assert "They hold 2 accounts, 3 open playbooks and 4 open steps" in page

    response = client.post(
        reverse("configuration:member_deactivate", args=[m.pk]), {"handover_to": nina.pk}
    )
    assert response.status_code == 302
    follow = client.get(response.url).content.decode()
    assert "Handed over: 2 accounts, 3 open playbooks, 4 open steps." in follow
    with org_context(org):
        owners = dict(Account.objects.values_list("name", "owner_id"))
        assert owners == {"a1": nina.pk, "a2": nina.pk, "a3": nina.pk, "a4": manager.pk}
        pb_owner = dict(Playbook.objects.values_list("pk", "owner_id"))
        assert [pb_owner[p.pk] for p in (p1, p2, p3, p4, p5)] == [nina.pk] * 4 + [csm.pk]
        steps = {
            (s.playbook_id, s.order): s.assignee_id
            for s in PlaybookStep.objects.filter(playbook__in=[p1, p2, p3, p4])
        }
        assert steps == {
            (p1.pk, 1): nina.pk,
            (p1.pk, 2): manager.pk,
            (p2.pk, 1): nina.pk,
            (p2.pk, 2): manager.pk,
            (p3.pk, 1): nina.pk,
            (p3.pk, 2): manager.pk,
            (p4.pk, 1): nina.pk,
            (p4.pk, 2): nina.pk,
        }
        # Nina is told of the three playbooks that became hers
        told = set(
            Notification.objects.filter(user=nina, kind="playbook_assigned").values_list(
                "ref", flat=True
            )
        )
        assert {p1.pk, p2.pk, p3.pk} <= told
    assert not _membership(csm, org).is_active


def test_a_member_who_holds_work_needs_someone_to_take_it_and_nothing_changes_without(
    client, org, org_admin, csm, other_org, book
):
    m = _membership(csm, org)
    client.force_login(org_admin)
    response = client.post(reverse("configuration:member_deactivate", args=[m.pk]), {})
    assert response.status_code == 422
    assert "choose who takes it over" in str(response.context["deactivate_form"].errors)
    # a member of another organization is refused on the field
    stranger = f.UserFactory(username="stranger")
    f.MembershipFactory(user=stranger, organization=other_org, role="csm")
    response = client.post(
        reverse("configuration:member_deactivate", args=[m.pk]), {"handover_to": stranger.pk}
    )
    assert response.status_code == 422
    assert "handover_to" in response.context["deactivate_form"].errors
    # an analyst does not own work
    reader = f.UserFactory(username="reader")
    f.MembershipFactory(user=reader, organization=org, role="analyst")
    response = client.post(
        reverse("configuration:member_deactivate", args=[m.pk]), {"handover_to": reader.pk}
    )
    assert response.status_code == 422
    assert _membership(csm, org).is_active
    with org_context(org):
        assert Account.objects.filter(owner=csm).count() == 2


def test_the_handover_is_all_or_nothing(org, org_admin, csm, book, monkeypatch):
    """A failure after the accounts moved (here: the playbooks' handover) leaves the accounts,
    the playbooks and the membership as they were."""
    import configuration.members.services as s

    def broken(**kwargs):
        raise RuntimeError("the playbooks' handover failed")

    monkeypatch.setattr(s, "playbooks_handover_member", broken)
    with pytest.raises(RuntimeError):
        s.member_deactivate(
            membership=_membership(csm, org), handover_to=book["nina"], acting_user=org_admin
        )
    assert _membership(csm, org).is_active
    with org_context(org):
        assert Account.objects.filter(owner=csm).count() == 2


def test_a_member_of_another_organization_is_not_found(client, org, other_org, org_admin):
    foreign = f.MembershipFactory(user=f.UserFactory(username="far"), organization=other_org)
    client.force_login(org_admin)
    assert client.get(reverse("configuration:member", args=[foreign.pk])).status_code == 404
    for name in ("member_deactivate", "member_reactivate", "member_password_reset"):
        assert client.post(reverse(f"configuration:{name}", args=[foreign.pk])).status_code == 404
    assert _membership(foreign.user, other_org).is_active and mail.outbox == []


def test_a_deactivated_member_no_longer_opens_the_organization_and_can_be_reactivated(
    client, org, org_admin, analyst
):
    m = _membership(analyst, org)
    member_services.member_deactivate(membership=m, handover_to=None, acting_user=org_admin)
    client.force_login(analyst)
    assert client.get(reverse("reports:home")).status_code == 403
    client.force_login(org_admin)
    assert client.post(reverse("configuration:member_reactivate", args=[m.pk])).status_code == 302
    m.refresh_from_db()
    assert m.is_active and m.deactivated_at is None and m.role == Role.ANALYST
    client.force_login(analyst)
    assert client.get(reverse("reports:home")).status_code == 200


# -- password reset -------------------------------------------------------------------------


def test_an_admin_sends_a_password_reset_and_the_link_sets_a_new_password(
    client, org, org_admin, csm
):
    client.force_login(org_admin)
    m = _membership(csm, org)
    assert (
        client.post(reverse("configuration:member_password_reset", args=[m.pk])).status_code == 302
    )
    (message,) = mail.outbox
    assert message.to == [csm.email]
    csm.refresh_from_db()
    assert csm.check_password("pass12345")  # (logging in with it would void the link)
    client.logout()
    form_page = client.get(_link(message), follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-7731", "new_password2": "brand-new-7731"},
    )
    assert not _logs_in(csm.username, "pass12345")
    assert _logs_in(csm.username, "brand-new-7731")


# -- the benchmark command ------------------------------------------------------------------


def test_bench_members_reports_the_handover_and_rolls_it_back(org, org_admin, csm, book):
    """On the hand-built book: Carla owns the most accounts (2), Nina next (1), so Carla's
    deactivation hands 2 accounts, 3 open playbooks and 4 open steps to Nina; rolled back."""
    import json
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = StringIO()
    call_command("bench_members", org="acme", requests=5, handovers=2, stdout=out)
    figures = json.loads(out.getvalue())
    run = figures["deactivation_with_handover"]
    assert run["moved"] == {"accounts": 2, "playbooks": 3, "steps": 4}
    assert run["leaving_accounts"] == 2 and len(run["seconds"]) == 2
    assert (
        set(figures["pages"]) == {"members_list", "member_page"}
        and "load average" in figures["uptime"]
    )
    assert _membership(csm, org).is_active
    with org_context(org):
        assert Account.objects.filter(owner=csm).count() == 2
    with pytest.raises(CommandError, match="--requests must be at least 5"):
        call_command("bench_members", org="acme", requests=1)


def test_a_departing_csms_pending_alerts_go_with_the_handover(
    client, org, org_admin, manager, csm, book
):
    """Beside the book: Carla is to decide a pending alert on a1 (her account) and one on a4
    (Marcos's account, raised to her before it changed hands); a confirmed alert of hers on
    a2 is decided. By hand: the 2 pending alerts become Nina's, the decided one stays
    Carla's; the page says they hold 2 pending alerts, the result that 2 went with them."""
    from triggers.models import Alert, Firing, Trigger

    nina, acc = book["nina"], book["acc"]
    with org_context(org):
        risk = Trigger.all_objects.create(
            organization=org,
            name="Risk",
            kind="retention",
            condition={"field": "health_colour", "op": "=", "value": "red"},
            action="alert",
            template=template(org, "Risk call", "retention"),
        )

        def alert(account, status):
            firing = Firing.all_objects.create(
                organization=org, trigger=risk, account=account, period=DAY, fired_on=DAY
            )
            return Alert.all_objects.create(
                organization=org, firing=firing, account=account, owner=csm, status=status
            )

        pending_a1 = alert(acc["a1"], "pending")
        pending_a4 = alert(acc["a4"], "pending")
        decided_a2 = alert(acc["a2"], "confirmed")
    m = _membership(csm, org)
    client.force_login(org_admin)
    page = client.get(reverse("configuration:member", args=[m.pk])).content.decode()
    assert "2 pending alerts go with them." in page
    response = client.post(
        reverse("configuration:member_deactivate", args=[m.pk]), {"handover_to": nina.pk}
    )
    assert response.status_code == 302
    assert "2 pending alerts went with them." in client.get(response.url).content.decode()
    owners = dict(Alert.all_objects.values_list("pk", "owner_id"))
    assert owners == {pending_a1.pk: nina.pk, pending_a4.pk: nina.pk, decided_a2.pk: csm.pk}
