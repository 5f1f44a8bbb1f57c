"""Logging in like a product that holds customer data: django-axes counts failed logins per
username and address and per address (settings: LOGIN_*), and this module decides how they
are counted, which address a request comes from, and what a locked-out person sees."""

from __future__ import annotations

import ipaddress
import logging
import math

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max, Q, Sum
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.utils import timezone

from csplatform.middleware import mark_session_seen

logger = logging.getLogger(__name__)


class LoginAttemptHandler(AxesDatabaseHandler):
    """axes' database handler with two limits instead of one: LOGIN_FAILURE_LIMIT for one
    username from one address, LOGIN_ADDRESS_FAILURE_LIMIT for all usernames from one address
    (an office behind one address survives a few typos; a password sprayer does not)."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        """The failures that count against this login, in units of the per-username limit,
        which is the one number axes compares: an address over its own limit counts as full."""
        username = get_client_username(request, credentials)
        mine = Q(username=username)
        counts = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,
            attempt_time__gte=get_cool_off_threshold(request),
        ).aggregate(
            user=Coalesce(Sum("failures_since_start", filter=mine), 0),
            user_last=Max("attempt_time", filter=mine),
            address=Coalesce(Sum("failures_since_start"), 0),
            address_last=Max("attempt_time"),
        )
        user_locked = counts["user"] >= settings.LOGIN_FAILURE_LIMIT
        address_locked = counts["address"] >= settings.LOGIN_ADDRESS_FAILURE_LIMIT
        # When the pause ends: the cool-off runs from the last failure that caused it.
        causes = []
        if user_locked:
            causes.append(counts["user_last"])
        if address_locked:
            causes.append(counts["address_last"])
        request.login_locked_until = max(causes) + settings.AXES_COOLOFF_TIME if causes else None
        if address_locked:
            return max(counts["user"], settings.LOGIN_FAILURE_LIMIT)
        return counts["user"]

    def user_logged_in(self, sender, request, user, **kwargs):
        """A successful login clears that username's failures from that address (only those:
        logging in to one's own account must not wipe the count of an address that is trying
        other people's), and starts the session's idle clock."""
        super().user_logged_in(sender, request, user, **kwargs)
        mark_session_seen(request.session)
        AccessAttempt.objects.filter(
            username=user.get_username(), ip_address=request.axes_ip_address
        ).delete()


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind PROXY_COUNT reverse proxies that append
    to X-Forwarded-For, the entry the outermost of them added (entries left of it are what
    the client claimed, and a client can claim anything)."""
    remote = request.META.get("REMOTE_ADDR") or None
    hops = settings.PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        logger.warning(
            "login: X-Forwarded-For entry %r is not an address; using REMOTE_ADDR", candidate
        )
        return remote


def lockout_response(request, original_response=None, credentials: dict | None = None):
    """What axes answers while logging in is paused: the login page saying so and when it ends
    (429 with Retry-After), and one log line for the operators."""
    username = get_client_username(request, credentials)
    until = getattr(request, "login_locked_until", None)
    seconds = max(0, (until - timezone.now()).total_seconds()) if until else 0
    minutes = max(1, math.ceil(seconds / 60)) if until else settings.LOGIN_LOCKOUT_MINUTES
    logger.warning(
        "login locked out: username=%r address=%s path=%s until=%s",
        username,
        getattr(request, "axes_ip_address", None),
        request.path,
        until.isoformat(timespec="seconds") if until else "unknown",
    )
    response = TemplateResponse(
        request,
        "registration/login.html",
        {
            "form": AuthenticationForm(request),
            "locked_out": True,
            "retry_minutes": minutes,
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=429,
    )
    response["Retry-After"] = str(max(60, math.ceil(seconds)))
    return response.render()


class LoginView(auth_views.LoginView):
    """Django's login view, warning when few attempts are left before the pause."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        failures = getattr(self.request, "axes_failures_since_start", None)
        if failures:
            left = settings.LOGIN_FAILURE_LIMIT - failures
            if 0 < left <= 2:
                context["attempts_left"] = left
                context["lockout_minutes"] = settings.LOGIN_LOCKOUT_MINUTES
        return context
