"""What CSMs decide about alerts (confirm: the trigger's playbook starts; dismiss, with a
reason), and the alerts an account's churn closes."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Account
from csplatform.db.bulk import update_from_values
from orgs.models import Organization, User
from playbooks.models import Notification, NotificationKind
from playbooks.permissions import SUPERVISORS, role_of
from playbooks.services import NotAllowed, PlaybookError, notifications_mark_read_for

from ..models import Alert, AlertStatus
from ..signals import alerts_decided
from .evaluation import playbooks_open_for_firings

logger = logging.getLogger(__name__)


def _require_decider(*, alert: Alert, user: User) -> None:
    """An alert is decided by the CSM it was raised for, or by a manager or admin."""
    role = role_of(user=user, organization_id=alert.organization_id)
    if role not in SUPERVISORS and not (role == "csm" and alert.owner_id == user.pk):
        raise NotAllowed("alert", gettext("this alert is for its account's owner to decide"))


def alert_confirm(*, alert_id: int, user: User, today: dt.date) -> Alert:
    """The CSM confirms the risk: the trigger's playbook is created, with the evidence; if the
    account already has that template's playbook open, the alert joins it instead
    (`alert.joined_open` says so). A churned account's alerts were closed when it churned."""
    with transaction.atomic():
        # the account first, then the alert: the order a churn takes them in
        account_id = Alert.objects.values_list("account_id", flat=True).get(pk=alert_id)
        list(Account.objects.select_for_update().filter(pk=account_id).values_list("pk"))
        alert = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("firing__trigger__template", "firing__account", "account")
            .get(pk=alert_id)
        )
        if alert.status != AlertStatus.PENDING:
            raise PlaybookError("alert", f"this alert was already {alert.status}")
        _require_decider(alert=alert, user=user)
        firing = alert.firing
        trigger = firing.trigger
        org = Organization.objects.get(pk=alert.organization_id)
        created = playbooks_open_for_firings(
            org=org,
            firings=[firing],
            triggers={trigger.pk: trigger},
            opened_on=today,
            fallback_owner_id=user.pk,
            acting_user_id=user.pk,
        )
        (playbook,) = created.by_spec
        alert.status = AlertStatus.CONFIRMED
        alert.decided_at = timezone.now()
        alert.decided_by = user
        alert.playbook = playbook
        alert.save(update_fields=["status", "decided_at", "decided_by", "playbook"])
        alert.joined_open = not created.new
        notifications_mark_read_for(kind=NotificationKind.ALERT_RAISED, ref=alert.pk)
        alerts_decided.send(
            sender=Alert, organization_id=alert.organization_id, alert_ids=[alert.pk]
        )
    logger.info("alert confirmed id=%s playbook=%s by=%s", alert.pk, playbook.pk, user.pk)
    return alert


def alert_dismiss(*, alert_id: int, user: User, reason: str) -> Alert:
    reason = (reason or "").strip()
    if not reason:
        raise PlaybookError("reason", "say why the alert is dismissed")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert_id)
        if alert.status != AlertStatus.PENDING:
            raise PlaybookError("alert", f"this alert was already {alert.status}")
        _require_decider(alert=alert, user=user)
        alert.status = AlertStatus.DISMISSED
        alert.dismiss_reason = reason[:240]
        alert.decided_at = timezone.now()
        alert.decided_by = user
        alert.save(update_fields=["status", "dismiss_reason", "decided_at", "decided_by"])
        notifications_mark_read_for(kind=NotificationKind.ALERT_RAISED, ref=alert.pk)
        alerts_decided.send(
            sender=Alert, organization_id=alert.organization_id, alert_ids=[alert.pk]
        )
    logger.info("alert dismissed id=%s by=%s", alert.pk, user.pk)
    return alert


def alerts_handover(*, account_id: int, previous_owner_id: int | None, owner_id: int) -> int:
    """An account changed owner (the account_owner_changed hook): its pending alerts the
    previous owner was to decide go to the new owner, in one UPDATE, as a member's leaving
    does for all of their accounts (alerts_handover_member). Decided alerts keep who decided
    them. Returns the alerts moved."""
    pending = Alert.objects.filter(account_id=account_id, status=AlertStatus.PENDING)
    if previous_owner_id is not None:
        pending = pending.filter(owner_id=previous_owner_id)
    moved = pending.exclude(owner_id=owner_id).update(owner_id=owner_id)
    logger.info(
        "alerts handed over account=%s from=%s to=%s alerts=%s",
        account_id,
        previous_owner_id,
        owner_id,
        moved,
    )
    return moved


def alerts_handover_member(
    *, organization_id: int, previous_owner_id: int, owner_id: int, account_ids: list[int]
) -> int:
    """A member leaves: the pending alerts of `account_ids` (the accounts just handed from
    `previous_owner_id` to `owner_id`) and every other pending alert the previous owner was
    to decide go to the new owner, in one UPDATE; decided alerts keep who decided them. Call
    it in the transaction that moved the accounts. Returns the alerts moved."""
    moved = (
        Alert.objects.filter(organization_id=organization_id, status=AlertStatus.PENDING)
        .filter(Q(account_id__in=account_ids) | Q(owner_id=previous_owner_id))
        .exclude(owner_id=owner_id)
        .update(owner_id=owner_id)
    )
    logger.info(
        "alerts handed over org=%s from=%s to=%s alerts=%s",
        organization_id,
        previous_owner_id,
        owner_id,
        moved,
    )
    return moved


def alerts_close_for_churn(
    *, organization_id: int, churns: list, acting_user: User | None = None
) -> int:
    """Accounts churned (the accounts_churned hook): their pending alerts are closed, as
    dismissed with the reason ("account churned on <date>: <reason>"), and their
    notifications read. Set-based; returns the alerts closed."""
    why = {c.account_id: c.text for c in churns}
    rows = list(
        Alert.objects.select_for_update(of=("self",))
        .filter(
            organization_id=organization_id,
            account_id__in=list(why),
            status=AlertStatus.PENDING,
        )
        .values_list("pk", "account_id")
    )
    if not rows:
        return 0
    now = timezone.now()
    decider = getattr(acting_user, "pk", None)
    update_from_values(
        table=Alert._meta.db_table,
        key="id",
        columns=[
            ("status", "varchar"),
            ("dismiss_reason", "varchar"),
            ("decided_at", "timestamptz"),
            ("decided_by_id", "bigint"),
        ],
        org_id=organization_id,
        rows=[
            (pk, AlertStatus.DISMISSED.value, why[account_id][:240], now, decider)
            for pk, account_id in rows
        ],
    )
    Notification.objects.filter(
        organization_id=organization_id,
        kind=NotificationKind.ALERT_RAISED,
        ref__in=[pk for pk, _ in rows],
        read_at__isnull=True,
    ).update(read_at=now)
    alerts_decided.send(
        sender=Alert, organization_id=organization_id, alert_ids=[pk for pk, _ in rows]
    )
    logger.info(
        "alerts closed for churn org=%s accounts=%s alerts=%s",
        organization_id,
        len(why),
        len(rows),
    )
    return len(rows)
