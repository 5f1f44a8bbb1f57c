"""What a change in the portfolio does to playbooks: a CSM's book handed over (one account,
or everything a departing member holds), a churned account's open work cancelled."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone

from csplatform.db.bulk import update_from_values
from orgs.models import Organization, User

from ..models import (
    Notification,
    NotificationKind,
    Playbook,
    PlaybookStatus,
    PlaybookStep,
    StepStatus,
)
from ..signals import playbooks_closed, playbooks_reassigned
from .notifications import notifications_create_assigned

logger = logging.getLogger(__name__)


def _hand_to(moved: list[Playbook], *, owner_id: int, acting_user_id: int | None) -> None:
    """Give `moved` (open playbooks of one organization, read before) to `owner_id`: their
    owner changed in one UPDATE, the new owner told afresh, playbooks_reassigned sent."""
    if not moved:
        return
    previous_owners = [p.owner_id for p in moved]
    ids = [p.pk for p in moved]
    Playbook.objects.filter(pk__in=ids).update(owner_id=owner_id)
    for playbook in moved:
        playbook.owner_id = owner_id
    org = Organization.objects.get(pk=moved[0].organization_id)
    Notification.objects.filter(
        kind=NotificationKind.PLAYBOOK_ASSIGNED, ref__in=ids, user_id=owner_id
    ).delete()
    notifications_create_assigned(
        org=org, playbooks=moved, acting_user_id=acting_user_id, why="handover"
    )
    playbooks_reassigned.send(
        sender=Playbook,
        organization_id=org.pk,
        playbook_ids=ids,
        previous_owner_ids=previous_owners,
    )


def playbooks_handover(
    *,
    account_id: int,
    previous_owner_id: int | None,
    owner_id: int,
    acting_user_id: int | None = None,
) -> int:
    """An account changed owner: its open playbooks, and their open steps the previous owner
    held, go to the new owner, who is notified (unless they took the account themselves).
    Returns the playbooks moved."""
    open_playbooks = Playbook.objects.filter(account_id=account_id, status=PlaybookStatus.OPEN)
    if previous_owner_id is not None:
        PlaybookStep.objects.filter(
            playbook__in=open_playbooks, status=StepStatus.OPEN, assignee_id=previous_owner_id
        ).update(assignee_id=owner_id, version=F("version") + 1)
    moved = list(open_playbooks.exclude(owner_id=owner_id))
    _hand_to(moved, owner_id=owner_id, acting_user_id=acting_user_id)
    logger.info(
        "handover account=%s from=%s to=%s playbooks=%s",
        account_id,
        previous_owner_id,
        owner_id,
        len(moved),
    )
    return len(moved)


@dataclass(frozen=True)
class MemberHandedOver:
    playbooks: int  # open playbooks whose owner changed
    steps: int  # open steps the departing member held, now the new owner's


def playbooks_handover_member(
    *,
    organization_id: int,
    previous_owner_id: int,
    owner_id: int,
    account_ids: list[int],
    acting_user_id: int | None = None,
) -> MemberHandedOver:
    """A member leaves: what playbooks_handover does for one account, for all of them at once
    and set-based. The open playbooks of `account_ids` (the accounts just handed from
    `previous_owner_id` to `owner_id`) and every other open playbook the previous owner owns
    go to the new owner, who is notified; every open step the previous owner holds on an
    open playbook (the manager's steps among them) is the new owner's. Call it in the
    transaction that moved the accounts."""
    open_playbooks = Playbook.objects.filter(
        organization_id=organization_id, status=PlaybookStatus.OPEN
    )
    steps = PlaybookStep.objects.filter(
        organization_id=organization_id,
        playbook__in=open_playbooks,
        status=StepStatus.OPEN,
        assignee_id=previous_owner_id,
    ).update(assignee_id=owner_id, version=F("version") + 1)
    held = open_playbooks.filter(
        Q(account_id__in=account_ids) | Q(owner_id=previous_owner_id)
    ).exclude(owner_id=owner_id)
    moved = list(held.select_for_update(of=("self",)))
    _hand_to(moved, owner_id=owner_id, acting_user_id=acting_user_id)
    logger.info(
        "member handover org=%s from=%s to=%s accounts=%s playbooks=%s steps=%s",
        organization_id,
        previous_owner_id,
        owner_id,
        len(account_ids),
        len(moved),
        steps,
    )
    return MemberHandedOver(playbooks=len(moved), steps=steps)


def playbooks_cancel_for_churn(
    *, organization_id: int, churns: list, acting_user: User | None = None
) -> int:
    """Accounts churned (the accounts_churned hook): their open playbooks are cancelled with
    the reason ("account churned on <date>: <reason>"), their open steps skipped and their
    unread notifications read, set-based. Returns the playbooks cancelled."""
    why = {c.account_id: c.text for c in churns}
    rows = list(
        Playbook.objects.select_for_update()
        .filter(
            organization_id=organization_id,
            account_id__in=list(why),
            status=PlaybookStatus.OPEN,
        )
        .values_list("pk", "account_id")
    )
    if not rows:
        return 0
    now = timezone.now()
    closer = getattr(acting_user, "pk", None)
    update_from_values(
        table=Playbook._meta.db_table,
        key="id",
        columns=[
            ("status", "varchar"),
            ("closed_at", "timestamptz"),
            ("closed_by_id", "bigint"),
            ("outcome_notes", "text"),
        ],
        org_id=organization_id,
        rows=[
            (pk, PlaybookStatus.CANCELLED.value, now, closer, why[account_id])
            for pk, account_id in rows
        ],
    )
    ids = [pk for pk, _ in rows]
    PlaybookStep.objects.filter(
        organization_id=organization_id, playbook_id__in=ids, status=StepStatus.OPEN
    ).update(status=StepStatus.SKIPPED, version=F("version") + 1)
    Notification.objects.filter(
        organization_id=organization_id, playbook_id__in=ids, read_at__isnull=True
    ).update(read_at=now)
    playbooks_closed.send(sender=Playbook, organization_id=organization_id, playbook_ids=ids)
    logger.info(
        "playbooks cancelled for churn org=%s accounts=%s playbooks=%s",
        organization_id,
        len(why),
        len(ids),
    )
    return len(ids)
