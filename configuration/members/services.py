"""Writes of the members pages. Each change is one transaction and one audit line in the log
(logger "configuration.members": who did what to whom); emails go after the commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts.services import PortfolioError, accounts_hand_over
from orgs.languages import recipient_language
from orgs.models import Membership, Organization, User
from orgs.services import (
    MemberAdded,
    MembershipError,
    member_add,
    membership_deactivate,
    membership_reactivate,
    membership_set_role,
)
from orgs.tenancy import org_context
from playbooks.services import playbooks_handover_member
from triggers.services import alerts_handover_member

from .selectors import member_held

audit = logging.getLogger("configuration.members")


def password_set_url(*, user: User) -> str:
    """The link that lets `user` choose a password (Django's password-reset token: it works
    once, until their password or last login changes, for PASSWORD_RESET_TIMEOUT)."""
    path = reverse(
        "password_set",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.SITE_URL.rstrip("/") + path


def _mail(*, user: User, organization: Organization, kind: str, acting_user: User) -> None:
    """The invitation or reset mail in the recipient's language (their choice, else the
    organization's), whoever sent it."""
    with translation.override(recipient_language(user=user, organization=organization)):
        subject, body = _mail_text(
            user=user, organization=organization, kind=kind, acting_user=acting_user
        )
    send_mail(subject, body, None, [user.email])


def _mail_text(
    *, user: User, organization: Organization, kind: str, acting_user: User
) -> tuple[str, str]:
    context = {
        "user": user,
        "organization": organization,
        "acting": acting_user.get_full_name() or acting_user.username,
        "url": password_set_url(user=user),
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    subject = {
        "invitation": _("You are invited to %(org)s") % {"org": organization.name},
        "reset": _("Choose a new password for %(org)s") % {"org": organization.name},
    }[kind]
    return subject, render_to_string(f"configuration/email/{kind}.txt", context)


def member_invite(
    *, organization: Organization, email: str, name: str, role: str, acting_user: User
) -> MemberAdded:
    """Add a member by email (orgs.services.member_add); a new user is sent, after the
    commit, an invitation with the link to choose their password."""
    with transaction.atomic():
        added = member_add(
            organization=organization, email=email, name=name, role=role, acting_user=acting_user
        )
        user = added.membership.user
        if added.created_user:
            transaction.on_commit(
                lambda: _mail(
                    user=user, organization=organization, kind="invitation", acting_user=acting_user
                )
            )
    audit.info(
        "member added org=%s user=%s email=%s role=%s invited=%s by=%s",
        organization.slug,
        user.pk,
        user.email,
        role,
        added.created_user,
        acting_user.pk,
    )
    return added


def member_send_password_reset(*, membership: Membership, acting_user: User) -> None:
    """Email an active member the link to choose a new password."""
    user = membership.user
    if not membership.is_active or not user.is_active:
        raise MembershipError("member", _("%(user)s is not active.") % {"user": user})
    if not user.email:
        raise MembershipError("member", _("%(user)s has no email address.") % {"user": user})
    _mail(user=user, organization=membership.organization, kind="reset", acting_user=acting_user)
    audit.info(
        "password reset sent org=%s user=%s by=%s",
        membership.organization.slug,
        user.pk,
        acting_user.pk,
    )


def member_set_role(*, membership: Membership, role: str, acting_user: User) -> Membership:
    previous = membership.role
    changed = membership_set_role(membership=membership, role=role, acting_user=acting_user)
    audit.info(
        "member role changed org=%s user=%s from=%s to=%s by=%s",
        membership.organization.slug,
        membership.user_id,
        previous,
        role,
        acting_user.pk,
    )
    return changed


@dataclass(frozen=True)
class Deactivated:
    membership: Membership
    accounts: int
    playbooks: int
    steps: int
    alerts: int = 0  # pending alerts, now the new owner's to decide


def member_deactivate(
    *, membership: Membership, handover_to: User | None, acting_user: User
) -> Deactivated:
    """Take a member out of the organization. What they hold (accounts, open playbooks,
    open steps) goes to `handover_to`, required when they hold anything, through the
    handover services, in the same transaction as the deactivation and under its lock: all
    or nothing. The last active admin is refused."""
    org = membership.organization
    with org_context(org), transaction.atomic():
        locked = membership_deactivate(membership=membership, acting_user=acting_user)
        held = member_held(membership=locked)
        accounts, playbooks, steps, alerts = 0, 0, 0, 0
        if held.anything:
            if handover_to is None:
                raise MembershipError(
                    "handover_to",
                    _("%(user)s holds accounts or open work: choose who takes it over.")
                    % {"user": locked.user},
                )
            try:
                moved = accounts_hand_over(org=org, previous_owner=locked.user, owner=handover_to)
            except PortfolioError as exc:
                raise MembershipError("handover_to", exc.message) from exc
            done = playbooks_handover_member(
                organization_id=org.pk,
                previous_owner_id=locked.user_id,
                owner_id=handover_to.pk,
                account_ids=moved,
                acting_user_id=acting_user.pk,
            )
            alerts = alerts_handover_member(
                organization_id=org.pk,
                previous_owner_id=locked.user_id,
                owner_id=handover_to.pk,
                account_ids=moved,
            )
            accounts, playbooks, steps = len(moved), done.playbooks, done.steps
    audit.info(
        "member deactivated org=%s user=%s handover_to=%s accounts=%s playbooks=%s steps=%s "
        "alerts=%s by=%s",
        org.slug,
        locked.user_id,
        getattr(handover_to, "pk", None),
        accounts,
        playbooks,
        steps,
        alerts,
        acting_user.pk,
    )
    return Deactivated(locked, accounts, playbooks, steps, alerts)


def member_reactivate(*, membership: Membership, acting_user: User) -> Membership:
    reactivated = membership_reactivate(membership=membership, acting_user=acting_user)
    audit.info(
        "member reactivated org=%s user=%s role=%s by=%s",
        membership.organization.slug,
        membership.user_id,
        reactivated.role,
        acting_user.pk,
    )
    return reactivated
