"""Reads about organizations, memberships and users."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .models import Membership, Organization, Role, User

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

SESSION_ORG_KEY = "csplatform_org_id"


def membership_for_request(*, user: User, session: SessionBase) -> Membership | None:
    """The membership the user works in: the one chosen this session, else their first."""
    memberships = Membership.objects.select_related("organization").filter(user=user)
    chosen = session.get(SESSION_ORG_KEY) if session is not None else None
    if chosen:
        membership = memberships.filter(organization_id=chosen).first()
        if membership is not None:
            return membership
    return memberships.order_by("organization__name").first()


def memberships_of_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.select_related("organization").filter(user=user)


def org_members(*, org: Organization, roles: list[str] | None = None) -> QuerySet[User]:
    """Active users with an active membership of `org` (in one of `roles`, when given: the
    role of their membership of this organization, not of another)."""
    memberships = Membership.objects.filter(organization=org)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return User.objects.filter(pk__in=memberships.values("user_id"), is_active=True).order_by(
        "first_name", "last_name", "username"
    )


def org_memberships(*, org: Organization) -> QuerySet[Membership]:
    """Every membership of `org`, active or not, with its user: the members page."""
    return (
        Membership.all_objects.filter(organization=org)
        .select_related("user")
        .order_by("-is_active", "user__first_name", "user__last_name", "user__username")
    )


def org_csms(*, org: Organization) -> QuerySet[User]:
    return org_members(org=org, roles=[Role.CSM, Role.MANAGER])


def org_workers(*, org: Organization) -> QuerySet[User]:
    """The members who work accounts and playbooks (analysts read, they do not own work)."""
    return org_members(org=org, roles=[Role.CSM, Role.MANAGER, Role.ADMIN])
