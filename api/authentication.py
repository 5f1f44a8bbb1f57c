"""API tokens as DRF authentication: `Authorization: Bearer <token>` (never a query string),
looked up by its SHA-256, refused when revoked or expired; the request then runs as the
token's organization through the one tenancy mechanism (orgs.tenancy), exactly as
orgs.middleware.TenantMiddleware does for a user (the middleware resets it afterwards)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from orgs.models import Organization
from orgs.tenancy import set_current_org
from orgs.timezones import org_zone

from .models import ApiToken

TOKEN_PREFIX = "csp_"
# last_used_at is written at most this often per token, so a busy integration costs no write
# per request.
LAST_USED_PRECISION = timedelta(minutes=1)
_QUERY_NAMES = ("token", "access_token", "api_key", "apikey", "key")


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_generate() -> tuple[str, str, str]:
    """A new token: (the token, its prefix for lists, its hash to store)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return raw, raw[: len(TOKEN_PREFIX) + 6], token_hash(raw)


@dataclass
class TokenUser:
    """Who `request.user` is for a token: the integration, not a person (services get
    acting_user=None from it, as for a job)."""

    token: ApiToken
    is_authenticated: bool = True
    is_active: bool = True
    is_superuser: bool = False
    is_staff: bool = False
    is_anonymous: bool = False
    pk: None = None
    id: None = None

    def __str__(self) -> str:
        return f"API token {self.token.prefix}…"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        if any(name in request.query_params for name in _QUERY_NAMES):
            raise exceptions.AuthenticationFailed(
                _("Send the token in the Authorization header (Bearer), never in the URL.")
            )
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() not in ("bearer", "token"):
            raise exceptions.AuthenticationFailed(
                _("The Authorization header must be: Bearer <token>.")
            )
        token = (
            ApiToken.all_objects.select_related("organization")
            .filter(key_hash=token_hash(parts[1]))
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Unknown API token."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API token was revoked."))
        now = timezone.now()
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This API token has expired."))
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
            ApiToken.all_objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        _enter_organization(request, token.organization)
        return TokenUser(token=token), token

    def authenticate_header(self, request):
        return self.keyword


def _enter_organization(request, org: Organization) -> None:
    """What TenantMiddleware does for a member: the request's organization, the tenancy
    context and the organization's time zone (the middleware resets both at the end)."""
    django_request = getattr(request, "_request", request)
    django_request.organization = org
    django_request.membership = None
    set_current_org(org.pk)
    timezone.activate(org_zone(org))


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token of your organization (Data → API tokens).",
        }
