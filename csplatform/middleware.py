"""Request-wide behaviour of the project: an unreachable database or broker becomes the 503
page, a session ends after SESSION_IDLE_MINUTES without a request, and pages are private."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import resolve_url
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect

from .errors import is_service_unavailable, service_unavailable

LAST_SEEN_KEY = "_last_seen"


# Powerful browser features no page of the product uses, switched off for every page.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "display-capture=(), interest-cohort=()"
)


class PrivatePagesMiddleware:
    """A page shown to a signed-in user holds customer data: no cache (browser, proxy or
    shared machine) keeps it. Static files and anonymous pages keep their own headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if response.status_code >= 500:
            # an error page: the user may be the very thing that failed to load (a database
            # down while the session is read); error pages carry no customer data anyway
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


# The request attribute that records the database or broker error a request met.
SERVICE_ERROR_ATTR = "_csplatform_service_error"
# Headers of the original answer the 503 page keeps (security headers set by inner layers).
_KEPT_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "Permissions-Policy", "Vary")


class ServiceUnavailableMiddleware:
    """The outermost middleware: a request that met an unreachable database or broker gets the
    503 page, wherever the error was raised and whatever turned it into an answer. Django turns
    an exception in any middleware into a response at that middleware (handler500), so this
    one cannot catch it; it learns of it from got_request_exception (record_service_error) and
    replaces the 500 that came out by the 503 page. A view's error is answered at once
    (process_exception). The host, port and reason go to the log line only
    (csplatform/errors.py)."""

    def __init__(self, get_response):
        from django.core.signals import got_request_exception

        self.get_response = get_response
        got_request_exception.connect(record_service_error, dispatch_uid="csplatform-503")

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except Exception as exc:  # noqa: BLE001 - what escaped every inner layer
            if not is_service_unavailable(exc):
                raise
            return service_unavailable(request, exc)
        error = getattr(request, SERVICE_ERROR_ATTR, None)
        if error is not None and response.status_code >= 500 and response.status_code != 503:
            page = service_unavailable(request, error)
            for header in _KEPT_HEADERS:
                if response.has_header(header):
                    page[header] = response[header]
            return page
        return response

    def process_exception(self, request, exception):
        if is_service_unavailable(exception):
            return service_unavailable(request, exception)
        return None


def record_service_error(sender, request=None, **kwargs) -> None:
    """got_request_exception receiver: note on the request the database or broker error
    being handled, for ServiceUnavailableMiddleware."""
    import sys

    exception = sys.exc_info()[1]
    if request is not None and is_service_unavailable(exception):
        setattr(request, SERVICE_ERROR_ATTR, exception)


class SessionIdleMiddleware:
    """Idle sessions expire. A session's expiry is SESSION_COOKIE_AGE after it was last saved
    (in the database and on the cookie); each authenticated request saves it again when the
    last save is more than SESSION_IDLE_REFRESH_SECONDS old, so activity keeps it alive
    without a write per request (what SESSION_SAVE_EVERY_REQUEST would cost, racing the
    parallel htmx requests of one page).

    An htmx request whose session has expired would swap the login page into a fragment;
    instead the browser is sent to the login page, to come back to the page it was on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            last = request.session.get(LAST_SEEN_KEY)
            if (
                not isinstance(last, int)
                or time.time() - last >= settings.SESSION_IDLE_REFRESH_SECONDS
            ):
                mark_session_seen(request.session)
        response = self.get_response(request)
        if getattr(request, "htmx", False) and response.status_code == 302:
            login_url = resolve_url(settings.LOGIN_URL)
            if response.get("Location", "").split("?", 1)[0] == login_url:
                page = request.htmx.current_url_abs_path or resolve_url(settings.LOGIN_REDIRECT_URL)
                return HttpResponseClientRedirect(f"{login_url}?{urlencode({'next': page})}")
        return response


def mark_session_seen(session) -> None:
    """Starts the session's idle clock again; the session is saved at the end of the request.
    A login does it too (csplatform/login.py), so the first request after it writes nothing."""
    session[LAST_SEEN_KEY] = int(time.time())
