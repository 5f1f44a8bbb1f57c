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
    qs = User.objects.filter(memberships__organization=org, is_active=True)
    if roles:
        qs = qs.filter(memberships__role__in=roles)
    return qs.order_by("first_name", "last_name", "username").distinct()


def org_csms(*, org: Organization) -> QuerySet[User]:
    return org_members(org=org, roles=[Role.CSM, Role.MANAGER])


def org_workers(*, org: Organization) -> QuerySet[User]:
    """The members who work accounts and playbooks (analysts read, they do not own work)."""
    return org_members(org=org, roles=[Role.CSM, Role.MANAGER, Role.ADMIN])
