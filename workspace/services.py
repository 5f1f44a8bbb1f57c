"""Workspace writes that are not one app's own: marking notifications read and logging a
contact from the account page (linked to a playbook when one is chosen).

Both belong lower down (playbooks.services and accounts.services) and should move there
when those modules offer them; until then they live here, in the one layer allowed to
reach both."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Contact, Interaction, InteractionKind
from orgs.models import User
from playbooks.models import Notification, NotificationKind, Playbook
from playbooks.services import PlaybookError, playbook_log_contact

logger = logging.getLogger(__name__)


def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read: those in `ids`, or all of them. Returns how many
    changed (already-read ones keep their first read time)."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def alert_notifications_mark_read(*, alert_id: int) -> int:
    """An alert once decided needs nobody's attention: its notifications are marked read."""
    return Notification.objects.filter(
        kind=NotificationKind.ALERT_RAISED, ref=alert_id, read_at__isnull=True
    ).update(read_at=timezone.now())


def account_contact_log(
    *,
    account: Account,
    user: User,
    kind: str,
    summary: str,
    contact: Contact | None = None,
    notes: str = "",
    playbook: Playbook | None = None,
    occurred_at: dt.datetime | None = None,
) -> Interaction:
    """Log a contact with the customer from the account page; with a playbook, it is linked
    to it (playbooks.services.playbook_log_contact)."""
    if playbook is not None:
        if playbook.account_id != account.pk:
            raise PlaybookError("playbook", "that playbook is for another account")
        return playbook_log_contact(
            playbook=playbook,
            user=user,
            kind=kind,
            summary=summary,
            contact=contact,
            notes=notes,
            occurred_at=occurred_at,
        )
    if not summary.strip():
        raise PlaybookError("summary", "say what was discussed")
    if kind not in InteractionKind.values:
        raise PlaybookError("kind", f"unknown channel {kind!r}")
    if contact is not None and contact.account_id != account.pk:
        raise PlaybookError("contact", "that contact is not at this account")
    with transaction.atomic():
        interaction = Interaction.all_objects.create(
            organization_id=account.organization_id,
            account=account,
            contact=contact,
            author=user,
            kind=kind,
            occurred_at=occurred_at or timezone.now(),
            summary=summary.strip()[:240],
            notes=notes,
        )
    logger.info(
        "contact logged account=%s interaction=%s by=%s", account.pk, interaction.pk, user.pk
    )
    return interaction
