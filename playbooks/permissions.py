"""Who may do what on a playbook, one rule for the services (which refuse) and the pages
(which offer only what is allowed): a supervisor (an admin or a manager) may do anything; a
step is worked by whoever it is assigned to (by the playbook's owner when it names nobody); a
playbook is closed, and contacts are logged on it, by its owner."""

from __future__ import annotations

from orgs.models import Membership, Role

SUPERVISORS = frozenset({Role.ADMIN, Role.MANAGER})


def may_work_step(*, step, playbook, user_id: int, role: str | None) -> bool:
    if role in SUPERVISORS:
        return True
    if role != Role.CSM:
        return False
    if step.assignee_id is not None:
        return step.assignee_id == user_id
    return playbook.owner_id == user_id


def may_work_playbook(*, playbook, user_id: int, role: str | None) -> bool:
    if role in SUPERVISORS:
        return True
    return role == Role.CSM and playbook.owner_id == user_id


def role_of(*, user, organization_id: int) -> str | None:
    """The user's role in that organization (None if not a member); superusers supervise."""
    if user.is_superuser:
        return Role.ADMIN
    return (
        Membership.objects.filter(user=user, organization_id=organization_id)
        .values_list("role", flat=True)
        .first()
    )
