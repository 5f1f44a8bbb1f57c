"""Workspace writes that combine layers: logging a contact from the account page, linked to
a playbook when one is chosen (playbooks.services) or on the account alone (accounts.services)."""

from __future__ import annotations

import datetime as dt
import logging

from accounts.models import Account, Contact, Interaction
from accounts.services import interaction_log
from orgs.models import User
from playbooks.models import Playbook
from playbooks.services import PlaybookError, playbook_log_contact

logger = logging.getLogger(__name__)


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
    return interaction_log(
        account=account,
        user=user,
        kind=kind,
        summary=summary,
        contact=contact,
        notes=notes,
        occurred_at=occurred_at,
    )
