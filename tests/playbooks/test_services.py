"""Playbook services: handover when an account changes owner, alerts' notifications once
decided, outcomes (a won expansion adds its subscription, a churned retention churns the
account), and the email digest (each notification mailed once, after the claim commits,
whatever runs at the same time or fails)."""

import datetime as dt
import smtplib
import threading
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import Account, ChurnReason, Subscription
from accounts.services import account_reassign
from playbooks import services as pb
from playbooks.models import Notification, Playbook, PlaybookStep
from playbooks.services import PlaybookError
from tests import factories as f
from tests.builders import DAY, HookedMailBackend, at_once, trigger_world
from triggers import services as trigger_services
from triggers.models import Alert

pytestmark = pytest.mark.django_db


def test_account_handover_moves_open_playbooks_and_steps(org, csm, manager, in_org):
    world = trigger_world(org, csm, manager)
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


def test_account_handover_moves_its_pending_alerts_and_no_others(org, csm, manager, in_org):
    """Reassigning one account hands its pending alert to the new owner, as a member's
    leaving does for all of theirs; a decided alert keeps who decided it, and another
    account's pending alert stays with its owner."""
    world = trigger_world(org, csm, manager)
    trigger_services.triggers_evaluate(org=org, day=DAY)
    account = world["accounts"]["c"]
    pending = Alert.objects.get(account=account)
    assert pending.status == "pending" and pending.owner_id == csm.pk
    firing = pending.firing
    firing.pk, firing.account = None, world["accounts"]["a"]
    firing.save()
    other = Alert.objects.create(organization=org, firing=firing, account=firing.account, owner=csm)
    newcomer = f.UserFactory(username="noor")
    f.MembershipFactory(user=newcomer, organization=org, role="csm")

    account_reassign(account=account, owner=newcomer, acting_user=manager)

    pending.refresh_from_db()
    other.refresh_from_db()
    assert pending.owner_id == newcomer.pk
    assert other.owner_id == csm.pk


def test_deciding_an_alert_marks_its_notification_read(org, csm, manager, in_org):
    world = trigger_world(org, csm, manager)
    trigger_services.triggers_evaluate(org=org, day=DAY)
    alert = Alert.objects.get(account=world["accounts"]["c"])
    note = Notification.objects.get(kind="alert_raised", ref=alert.pk)
    assert note.read_at is None and note.url == "/alerts/"
    trigger_services.alert_dismiss(alert_id=alert.pk, user=csm, reason="Known seasonal dip")
    note.refresh_from_db()
    assert note.read_at is not None


# -- Outcomes -----------------------------------------------------------------------------


@pytest.fixture
def world(org, csm, manager, in_org):
    return trigger_world(org, csm, manager)


def test_won_expansion_adds_the_subscription(org, world, csm):
    trigger_services.triggers_evaluate(org=org, day=DAY)
    acc, analytics = world["accounts"]["a"], world["products"]["analytics"]
    playbook = Playbook.objects.get(account=acc)
    with pytest.raises(PlaybookError) as exc:
        pb.playbook_close(
            playbook_id=playbook.pk, user=csm, outcome="won", today=DAY, product=analytics
        )
    assert exc.value.field == "mrr_won"
    pb.playbook_close(
        playbook_id=playbook.pk,
        user=csm,
        outcome="won",
        today=DAY,
        product=analytics,
        expected_mrr="400",
        mrr_won="450.00",
    )
    acc.refresh_from_db()
    assert acc.mrr == Decimal("1450.00")
    assert Subscription.objects.filter(account=acc, product=analytics, mrr=Decimal("450")).exists()
    playbook.refresh_from_db()
    assert playbook.status == "completed" and playbook.mrr_won == Decimal("450")
    assert not PlaybookStep.objects.filter(playbook=playbook, status="open").exists()


def test_churned_retention_marks_the_account(org, world, csm):
    trigger_services.triggers_evaluate(org=org, day=DAY)
    acc = world["accounts"]["c"]
    alert = Alert.objects.get(account=acc)
    trigger_services.alert_confirm(alert_id=alert.pk, user=csm, today=DAY)
    alert.refresh_from_db()
    reason = ChurnReason.all_objects.create(organization=org, name="Price")
    with pytest.raises(PlaybookError) as exc:
        pb.playbook_close(playbook_id=alert.playbook_id, user=csm, outcome="won", today=DAY)
    assert exc.value.field == "outcome"
    pb.playbook_close(
        playbook_id=alert.playbook_id, user=csm, outcome="churned", today=DAY, churn_reason=reason
    )
    acc = Account.objects.get(pk=acc.pk)
    assert (acc.churned_at, acc.churn_reason_id, acc.lifecycle_stage, acc.mrr) == (
        DAY,
        reason.pk,
        "churned",
        0,
    )
    assert not Subscription.objects.filter(account=acc, status="active").exists()


# -- The digest ---------------------------------------------------------------------------


def test_digest_sends_each_notification_once(org, world, csm):
    trigger_services.triggers_evaluate(org=org, day=DAY)
    assert pb.notifications_send_digest(org=org) == 1
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "Offer Analytics" in body and body.count("confirm to start “Retention call”") == 3
    assert pb.notifications_send_digest(org=org) == 0
    assert len(mail.outbox) == 1


@pytest.fixture
def hooked_mail(settings):
    settings.EMAIL_BACKEND = "tests.builders.HookedMailBackend"
    yield HookedMailBackend
    HookedMailBackend.hook = None


@pytest.fixture
def inbox(org, csm, manager):
    """Unsent notifications: two for the CSM, one for the manager, one for a member without
    an email address."""
    silent = f.UserFactory(username="no.mail", email="")
    f.MembershipFactory(user=silent, organization=org, role="csm")
    rows = [(csm, 1, "Alfa: call"), (csm, 2, "Bravo: call"), (manager, 3, "Alfa: review")]
    rows.append((silent, 4, "Charlie: call"))
    return [
        Notification.all_objects.create(
            organization=org, user=user, kind="playbook_assigned", ref=ref, text=text
        )
        for user, ref, text in rows
    ]


def mailed_lines() -> list[str]:
    return sorted(
        line for m in mail.outbox for line in m.body.splitlines() if line.startswith("- ")
    )


def in_another_connection(query):
    """Run `query(cursor)` on a connection of its own (another thread), as a second worker
    would; returns what it returns, or the DatabaseError it raised."""
    result = []

    def run():
        try:
            with connection.cursor() as cursor:
                result.append(query(cursor))
        except DatabaseError as exc:
            result.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result[0]


@pytest.mark.django_db(transaction=True)
def test_the_mails_go_out_after_the_claim_commits_with_no_row_locked(org, inbox, hooked_mail):
    assert connection.vendor == "postgresql"
    seen = []

    def look(message):
        def query(cursor):
            cursor.execute(
                "SELECT count(*) FROM playbooks_notification WHERE organization_id = %s "
                "AND digest_claimed_at IS NOT NULL",
                [org.pk],
            )
            claimed = cursor.fetchone()[0]
            with transaction.atomic():  # what a second worker's FOR UPDATE NOWAIT finds
                cursor.execute(
                    "SELECT id FROM playbooks_notification WHERE organization_id = %s "
                    "FOR UPDATE NOWAIT",
                    [org.pk],
                )
            return claimed

        seen.append(in_another_connection(query))

    hooked_mail.hook = look
    assert pb.notifications_send_digest(org=org) == 2
    # while each mail was sent, every claim was visible to others and no row was locked
    assert seen == [4, 4]
    assert mailed_lines() == ["- Alfa: call", "- Alfa: review", "- Bravo: call"]
    assert not Notification.all_objects.filter(organization=org, emailed_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_digest_running_meanwhile_sends_nothing_twice(org, inbox, hooked_mail):
    started, second = [], []

    def run_second_digest_meanwhile(message):
        if not started:  # the first digest is sending its first mail: a second one starts
            started.append(message)
            second.append(
                in_another_connection(lambda cursor: pb.notifications_send_digest(org=org))
            )

    hooked_mail.hook = run_second_digest_meanwhile
    assert pb.notifications_send_digest(org=org) == 2
    assert second == [0]
    assert len(mail.outbox) == 2
    assert mailed_lines() == ["- Alfa: call", "- Alfa: review", "- Bravo: call"]
    assert pb.notifications_send_digest(org=org) == 0 and len(mail.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_two_digests_at_once_mail_each_notification_once(org, inbox, hooked_mail):
    hooked_mail.hook = lambda message: time.sleep(0.05)  # the mail server takes its time
    results, errors = at_once(lambda: pb.notifications_send_digest(org=org), 2)
    assert errors == []
    assert mailed_lines() == ["- Alfa: call", "- Alfa: review", "- Bravo: call"]
    assert sum(results) == len(mail.outbox) >= 2
    assert not Notification.all_objects.filter(organization=org, emailed_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_mail_is_released_and_sent_by_the_next_digest(org, inbox, csm, hooked_mail):
    def refuse_the_csm(message):
        if message.to == [csm.email]:
            raise smtplib.SMTPRecipientsRefused({csm.email: (450, b"mailbox busy")})

    hooked_mail.hook = refuse_the_csm
    assert pb.notifications_send_digest(org=org) == 1
    assert mailed_lines() == ["- Alfa: review"]
    waiting = Notification.all_objects.filter(user=csm)
    assert set(waiting.values_list("emailed_at", "digest_claimed_at")) == {(None, None)}

    hooked_mail.hook = None
    mail.outbox.clear()
    assert pb.notifications_send_digest(org=org) == 1
    assert [m.to for m in mail.outbox] == [[csm.email]]
    assert mailed_lines() == ["- Alfa: call", "- Bravo: call"]


def test_a_claim_left_by_a_digest_that_died_lapses(org, inbox, in_org):
    now = timezone.now()
    Notification.objects.update(digest_claimed_at=now - dt.timedelta(minutes=5))
    assert pb.notifications_send_digest(org=org) == 0  # another digest is still sending them
    assert mail.outbox == []
    Notification.objects.update(digest_claimed_at=now - pb.DIGEST_CLAIM_TTL)
    assert pb.notifications_send_digest(org=org) == 2  # it died: they are sent now
    assert mailed_lines() == ["- Alfa: call", "- Alfa: review", "- Bravo: call"]


def test_the_digest_is_never_sent_from_inside_a_callers_transaction(org, inbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        pb.notifications_send_digest(org=org)
    assert mail.outbox == []
