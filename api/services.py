"""Writes of the data app: API tokens (created and shown once, revoked), webhook endpoints,
the audit of data-protection actions, and the upkeep of idempotency records. Imports and
webhook deliveries have their own modules (api/imports.py, api/webhooks.py)."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import PortfolioError
from accounts.upserts import contact_erase_personal_data
from orgs.models import Organization, User

from .authentication import token_generate
from .models import (
    ApiToken,
    DataAudit,
    IdempotencyRecord,
    TokenScope,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEPT = dt.timedelta(hours=24)


class DataError(PortfolioError):
    """A data action refused; `field` names what was wrong."""


def audit_record(*, org_id: int, actor: User | None, action: str, subject: str = "", detail=None):
    return DataAudit.all_objects.create(
        organization_id=org_id,
        actor=actor,
        action=action,
        subject=subject[:200],
        detail=detail or {},
    )


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


def token_create(
    *,
    org: Organization,
    name: str,
    scope: str,
    created_by: User,
    expires_at: dt.datetime | None = None,
) -> NewToken:
    name = (name or "").strip()
    if not name:
        raise DataError("name", _("Give the token a name (what uses it)."))
    if scope not in TokenScope.values:
        raise DataError("scope", _("Choose read or read-write."))
    if expires_at is not None and expires_at <= timezone.now():
        raise DataError("expires_at", _("The expiry must be in the future."))
    raw, prefix, digest = token_generate()
    with transaction.atomic():
        token = ApiToken.all_objects.create(
            organization=org,
            name=name[:120],
            prefix=prefix,
            key_hash=digest,
            scope=scope,
            created_by=created_by,
            expires_at=expires_at,
        )
        audit_record(
            org_id=org.pk,
            actor=created_by,
            action="token_created",
            subject=token.name,
            detail={"token": token.pk, "scope": scope, "prefix": prefix},
        )
    logger.info("api token created org=%s token=%s by=%s", org.slug, token.pk, created_by.pk)
    return NewToken(token=token, secret=raw)


def token_revoke(*, token: ApiToken, acting_user: User) -> ApiToken:
    with transaction.atomic():
        locked = ApiToken.all_objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.revoked_by = acting_user
            locked.save(update_fields=["revoked_at", "revoked_by"])
            audit_record(
                org_id=locked.organization_id,
                actor=acting_user,
                action="token_revoked",
                subject=locked.name,
                detail={"token": locked.pk},
            )
    logger.info("api token revoked token=%s by=%s", token.pk, acting_user.pk)
    return locked


def data_purge(*, now: dt.datetime | None = None) -> dict:
    """Forget idempotency keys older than a day, and webhook deliveries and CSV imports (with
    their files) older than 30 days, of every organization (a daily job)."""
    from .models import ImportJob
    from .webhooks import deliveries_purge

    now = now or timezone.now()
    keys, _ = IdempotencyRecord.all_objects.filter(created_at__lt=now - IDEMPOTENCY_KEPT).delete()
    jobs, _ = ImportJob.all_objects.filter(created_at__lt=now - dt.timedelta(days=30)).delete()
    return {"idempotency_keys": keys, "deliveries": deliveries_purge(), "imports": jobs}


# -- webhooks ------------------------------------------------------------------------------------


def _events(events) -> list[str]:
    events = sorted(set(events or []))
    unknown = [e for e in events if e not in WebhookEvent.values]
    if not events:
        raise DataError("events", _("Choose at least one event."))
    if unknown:
        raise DataError("events", _("Unknown event %(event)s.") % {"event": unknown[0]})
    return events


def webhook_create(
    *, org: Organization, url: str, events: list[str], description: str, created_by: User
) -> WebhookEndpoint:
    from .webhooks import check_url

    check_url(url)
    endpoint = WebhookEndpoint.all_objects.create(
        organization=org,
        url=url,
        events=_events(events),
        description=(description or "")[:200],
        secret="whsec_" + secrets.token_urlsafe(32),
        created_by=created_by,
    )
    audit_record(
        org_id=org.pk,
        actor=created_by,
        action="webhook_created",
        subject=url,
        detail={"endpoint": endpoint.pk, "events": endpoint.events},
    )
    return endpoint


def webhook_update(
    *,
    endpoint: WebhookEndpoint,
    url: str,
    events: list[str],
    description: str,
    is_active: bool,
    acting_user: User,
) -> WebhookEndpoint:
    from .webhooks import check_url

    check_url(url)
    endpoint.url = url
    endpoint.events = _events(events)
    endpoint.description = (description or "")[:200]
    fields = ["url", "events", "description", "is_active"]
    if is_active and not endpoint.is_active:  # switched on again: a fresh start
        endpoint.consecutive_failures = 0
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        fields += ["consecutive_failures", "disabled_at", "disabled_reason"]
    endpoint.is_active = is_active
    endpoint.save(update_fields=fields)
    audit_record(
        org_id=endpoint.organization_id,
        actor=acting_user,
        action="webhook_changed",
        subject=url,
        detail={"endpoint": endpoint.pk, "active": is_active},
    )
    return endpoint


def webhook_delete(*, endpoint: WebhookEndpoint, acting_user: User) -> None:
    audit_record(
        org_id=endpoint.organization_id,
        actor=acting_user,
        action="webhook_deleted",
        subject=endpoint.url,
        detail={"endpoint": endpoint.pk},
    )
    endpoint.delete()


# -- personal data -------------------------------------------------------------------------------


def contact_erase(*, contact, acting_user: User, reason: str):
    """Erase a contact's personal data on their request, with an audit line of who, when and
    why (the audit keeps the contact's id, not their name)."""
    reason = (reason or "").strip()
    if not reason:
        raise DataError("reason", _("Say whose request this is (e.g. the ticket or email)."))
    with transaction.atomic():
        contact_erase_personal_data(contact=contact)
        audit_record(
            org_id=contact.organization_id,
            actor=acting_user,
            action="contact_erased",
            subject=f"contact {contact.pk}",
            detail={"contact": contact.pk, "account": contact.account_id, "reason": reason[:300]},
        )
    return contact
