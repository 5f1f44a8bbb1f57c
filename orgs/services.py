"""Writes of orgs: members added, their roles, deactivated and reactivated (an organization
always keeps an active admin, under one lock per organization); and `model_update`,
the one way any app's service applies a change to one row and learns which fields really
changed (what a version bump is decided on)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Membership, Organization, Role, User

logger = logging.getLogger(__name__)


class MembershipError(ValueError):
    """A membership change refused; `field` names what was wrong."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def _is_last_admin(membership: Membership) -> bool:
    return (
        membership.role == Role.ADMIN
        and membership.is_active
        and not Membership.objects.filter(organization_id=membership.organization_id)
        .filter(role=Role.ADMIN, user__is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


def membership_lock(*, membership: Membership) -> Membership:
    """Take the organization's membership lock and re-read `membership` under it. Every
    change that could leave an organization without an active admin (a role, a
    deactivation) takes it first, inside its transaction: the organization's row is locked
    (SELECT ... FOR UPDATE), so two such changes in one organization run one after the other
    and the second sees what the first did: two admins demoting or deactivating each other
    at once cannot both pass."""
    Organization.objects.select_for_update().filter(pk=membership.organization_id).first()
    # the membership's own row only (a FOR UPDATE over the join would lock the organization
    # again, and hide whether the line above is what serializes the changes)
    return (
        Membership.all_objects.select_for_update(of=("self",))
        .select_related("user", "organization")
        .get(pk=membership.pk)
    )


def membership_role_check(*, membership: Membership, role: str) -> None:
    """Refuse what would leave the organization without an active admin."""
    if role != Role.ADMIN and _is_last_admin(membership):
        raise MembershipError(
            "role",
            _("%(user)s is the organization's only admin: make someone else admin first.")
            % {"user": membership.user},
        )


def membership_set_role(*, membership: Membership, role: str, acting_user: User) -> Membership:
    if role not in Role.values:
        raise MembershipError("role", _("Choose one of the roles."))
    with transaction.atomic():
        locked = membership_lock(membership=membership)
        membership_role_check(membership=locked, role=role)
        previous = locked.role
        locked.role = role
        locked.save(update_fields=["role"])
    logger.info(
        "membership role set membership=%s org=%s user=%s from=%s role=%s by=%s",
        locked.pk,
        locked.organization_id,
        locked.user_id,
        previous,
        role,
        acting_user.pk,
    )
    return locked


def membership_deactivate(*, membership: Membership, acting_user: User) -> Membership:
    """Take a member out of this organization (their user and other organizations stay).
    Refused for the organization's last active admin. Call it inside the transaction that
    hands their work over, so the lock it takes covers both."""
    with transaction.atomic():
        locked = membership_lock(membership=membership)
        if not locked.is_active:
            raise MembershipError(
                "member", _("%(user)s is already inactive.") % {"user": locked.user}
            )
        if _is_last_admin(locked):
            raise MembershipError(
                "member",
                _(
                    "%(user)s is the organization's only active admin: make someone else "
                    "admin first."
                )
                % {"user": locked.user},
            )
        locked.is_active = False
        locked.deactivated_at = timezone.now()
        locked.save(update_fields=["is_active", "deactivated_at"])
    logger.info(
        "membership deactivated membership=%s org=%s user=%s by=%s",
        locked.pk,
        locked.organization_id,
        locked.user_id,
        acting_user.pk,
    )
    return locked


def membership_reactivate(*, membership: Membership, acting_user: User) -> Membership:
    with transaction.atomic():
        locked = membership_lock(membership=membership)
        if locked.is_active:
            raise MembershipError(
                "member", _("%(user)s is already active.") % {"user": locked.user}
            )
        locked.is_active = True
        locked.deactivated_at = None
        locked.save(update_fields=["is_active", "deactivated_at"])
    logger.info(
        "membership reactivated membership=%s org=%s user=%s role=%s by=%s",
        locked.pk,
        locked.organization_id,
        locked.user_id,
        locked.role,
        acting_user.pk,
    )
    return locked


@dataclass(frozen=True)
class MemberAdded:
    membership: Membership
    created_user: bool  # a new user (no usable password yet: they are sent an invitation)
    reactivated: bool  # an inactive membership of theirs became active again


def member_add(
    *, organization: Organization, email: str, name: str, role: str, acting_user: User
) -> MemberAdded:
    """Add someone to the organization by email: a user of the platform with that email
    joins it (their password and other organizations untouched), a new one is created
    without a usable password (the caller sends them the invitation). An inactive
    membership of theirs is reactivated with this role."""
    email = User.objects.normalize_email((email or "").strip()).lower()
    if not email:
        raise MembershipError("email", _("Give the member's email address."))
    if role not in Role.values:
        raise MembershipError("role", _("Choose one of the roles."))
    first, _sep, last = (name or "").strip().partition(" ")
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        users = list(User.objects.filter(email__iexact=email).order_by("pk")[:2])
        if len(users) > 1:
            raise MembershipError(
                "email",
                _("Several users of the platform have this email; ask an operator to add them."),
            )
        created = not users
        if created:
            if User.objects.filter(username__iexact=email).exists():
                raise MembershipError("email", _("A user with this username already exists."))
            user = User(username=email, email=email, first_name=first[:150], last_name=last[:150])
            user.set_unusable_password()
            user.save()
        else:
            user = users[0]
        existing = (
            Membership.all_objects.select_for_update()
            .filter(user=user, organization=organization)
            .first()
        )
        reactivated = False
        if existing is not None and existing.is_active:
            raise MembershipError(
                "email", _("%(user)s is already a member of this organization.") % {"user": user}
            )
        if existing is not None:
            existing.is_active, existing.deactivated_at, existing.role = True, None, role
            existing.save(update_fields=["is_active", "deactivated_at", "role"])
            membership, reactivated = existing, True
        else:
            membership = Membership.objects.create(user=user, organization=organization, role=role)
    logger.info(
        "member added membership=%s org=%s user=%s role=%s new_user=%s reactivated=%s by=%s",
        membership.pk,
        organization.pk,
        user.pk,
        role,
        created,
        reactivated,
        acting_user.pk,
    )
    return MemberAdded(membership=membership, created_user=created, reactivated=reactivated)


def membership_may_be_removed(*, membership: Membership) -> bool:
    return not _is_last_admin(membership)


def memberships_removable(*, queryset: models.QuerySet[Membership]) -> models.QuerySet[Membership]:
    """Of these memberships, those whose removal leaves each organization an active admin:
    an organization whose every admin is among them keeps its admins."""
    admins = queryset.filter(role=Role.ADMIN)
    orphaned = [
        org_id
        for org_id in set(admins.values_list("organization_id", flat=True))
        if not Membership.objects.filter(
            organization_id=org_id, role=Role.ADMIN, user__is_active=True
        )
        .exclude(pk__in=admins.values("pk"))
        .exists()
    ]
    return queryset.exclude(role=Role.ADMIN, organization_id__in=orphaned)


# -- one row changed by a service ---------------------------------------------------------

M = TypeVar("M", bound=models.Model)


def field_value(instance: models.Model, name: str) -> Any:
    """The stored form of a field's value (a relation's id, not the related row)."""
    return instance._meta.get_field(name).value_from_object(instance)


def model_update(*, instance: M, data: Mapping[str, Any], fields: Collection[str]) -> list[str]:
    """Set `data` (field name -> value) on `instance`, validate it (full_clean) and save the
    fields whose value differs from the row as stored (with update_fields, auto_now fields
    along). Returns the names of those fields; [] when nothing changed, and nothing is written.

    The comparison is with the stored row, read here under its lock (two writers of one row
    take turns), not with `instance`, which a form may already have changed. Only names in
    `fields` may be written: any other is a programming error (ValueError). The row is read
    through the model's default manager: a tenant model's caller has its organization in
    context."""
    unknown = set(data) - set(fields)
    if unknown:
        raise ValueError(f"not writable here: {', '.join(sorted(unknown))}")
    model = type(instance)
    with transaction.atomic():
        stored = model._default_manager.select_for_update().get(pk=instance.pk)
        for name, value in data.items():
            setattr(instance, name, value)
        changed = [
            name for name in data if field_value(instance, name) != field_value(stored, name)
        ]
        if not changed:
            return []
        instance.full_clean()
        touched = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
        instance.save(update_fields=[*changed, *touched])
    return changed


class LanguageError(ValueError):
    """A language choice refused; `field` names what was wrong."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def user_set_language(*, user: User, language: str) -> User:
    """The user's language: a code of settings.LANGUAGES, or "" to follow the organization's."""
    from django.conf import settings

    codes = {code for code, _name in settings.LANGUAGES}
    if language not in codes and language != "":
        raise LanguageError(
            "language",
            _("“%(value)s” is not a language this installation speaks.") % {"value": language[:20]},
        )
    user.language = language
    user.save(update_fields=["language"])
    logger.info("user language set user=%s language=%r", user.pk, language)
    return user
