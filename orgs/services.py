"""Writes of orgs: members' roles (an organization always keeps an admin); and `model_update`,
the one way any app's service applies a change to one row and learns which fields really
changed (what a version bump is decided on)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils.translation import gettext as _

from .models import Membership, Role, User

logger = logging.getLogger(__name__)


class MembershipError(ValueError):
    """A membership change refused; `field` names what was wrong."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def _is_last_admin(membership: Membership) -> bool:
    return (
        membership.role == Role.ADMIN
        and not Membership.objects.filter(organization_id=membership.organization_id)
        .filter(role=Role.ADMIN, user__is_active=True)
        .exclude(pk=membership.pk)
        .exists()
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
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        # the other admins too, so two admins demoting each other at once cannot both pass
        list(
            Membership.objects.select_for_update()
            .filter(organization_id=locked.organization_id, role=Role.ADMIN)
            .values_list("pk")
        )
        membership_role_check(membership=locked, role=role)
        locked.role = role
        locked.save(update_fields=["role"])
    logger.info("membership role set membership=%s role=%s by=%s", locked.pk, role, acting_user.pk)
    return locked


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
