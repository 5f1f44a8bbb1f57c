"""Reads of the members pages: the organization's memberships with the work each one holds."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from accounts.models import Account
from orgs.models import WORKER_ROLES, Membership, Organization, User
from orgs.selectors import org_members, org_memberships
from playbooks.models import Playbook, PlaybookStatus, PlaybookStep, StepStatus
from triggers.models import Alert, AlertStatus


class MemberNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Held:
    """What a member holds in the organization: what a deactivation hands over."""

    accounts: int = 0
    playbooks: int = 0  # open playbooks they own
    steps: int = 0  # open steps of open playbooks assigned to them
    alerts: int = 0  # pending alerts they are to decide

    @property
    def anything(self) -> bool:
        return bool(self.accounts or self.playbooks or self.steps or self.alerts)


def _held_by(user_ids: list[int]) -> dict[int, Held]:
    """Four grouped counts for all of `user_ids` at once (the organization in context)."""
    accounts = dict(
        Account.objects.filter(owner_id__in=user_ids)
        .values_list("owner_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "n")
    )
    playbooks = dict(
        Playbook.objects.filter(owner_id__in=user_ids, status=PlaybookStatus.OPEN)
        .values_list("owner_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "n")
    )
    steps = dict(
        PlaybookStep.objects.filter(
            assignee_id__in=user_ids,
            status=StepStatus.OPEN,
            playbook__status=PlaybookStatus.OPEN,
        )
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    alerts = dict(
        Alert.objects.filter(owner_id__in=user_ids, status=AlertStatus.PENDING)
        .values_list("owner_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "n")
    )
    return {
        uid: Held(
            accounts.get(uid, 0), playbooks.get(uid, 0), steps.get(uid, 0), alerts.get(uid, 0)
        )
        for uid in user_ids
    }


def member_rows(*, org: Organization) -> list[tuple[Membership, Held]]:
    """Every membership of the organization (active first) with what it holds: five queries
    whatever the number of members."""
    memberships = list(org_memberships(org=org))
    held = _held_by([m.user_id for m in memberships])
    return [(m, held[m.user_id]) for m in memberships]


def member_get(*, org: Organization, pk: int) -> Membership:
    membership = org_memberships(org=org).filter(pk=pk).first()
    if membership is None:
        raise MemberNotFound(pk)
    return membership


def member_held(*, membership: Membership) -> Held:
    return _held_by([membership.user_id])[membership.user_id]


def handover_targets(*, org: Organization, leaving: Membership):
    """Who can take over a leaving member's work: the other active CSMs, managers and
    admins."""
    return org_members(org=org, roles=list(WORKER_ROLES)).exclude(pk=leaving.user_id)


def active_admin_count(*, org: Organization) -> int:
    return User.objects.filter(
        pk__in=Membership.objects.filter(organization=org, role="admin").values("user_id"),
        is_active=True,
    ).count()
