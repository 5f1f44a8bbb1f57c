"""Sets the request's organization from the user's membership, for the whole request."""

from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

from . import formatting
from .languages import resolve_language
from .selectors import membership_for_request
from .tenancy import reset_current_org, set_current_org
from .timezones import org_zone

# Paths a user with no organization may still reach.
_OPEN_PREFIXES = (
    "/login",
    "/logout",
    "/password/",
    "/static/",
    "/admin/",
    "/healthz",
    "/no-organization",
    "/jsi18n/",
    "/survey/",
)


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = membership_for_request(user=user, session=request.session)
            if membership is not None:
                request.membership = membership
                request.organization = membership.organization
            elif not user.is_superuser and not request.path.startswith(_OPEN_PREFIXES):
                return render(request, "orgs/no_organization.html", status=403)
        token = set_current_org(request.organization.pk if request.organization else None)
        # Datetimes are stored in UTC and shown in the organization's time zone (UTC, with a
        # warning, while the stored zone is invalid: the pages, the admin's among them, work).
        if request.organization is not None:
            timezone.activate(org_zone(request.organization))
        try:
            return self.get_response(request)
        finally:
            reset_current_org(token)
            timezone.deactivate()


class LanguageMiddleware:
    """Serves the request in the user's language, else the organization's locale, else the
    browser's (what LocaleMiddleware found), and formats numbers, money and dates in the
    organization's locale and currency (the language is the reader's, the formats the
    organization's: a report reads the same figures to everyone in it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        org = getattr(request, "organization", None)
        language = resolve_language(
            user_language=getattr(user, "language", "") if user is not None else "",
            org_locale=org.locale if org is not None else None,
            browser_language=translation.get_language_from_request(request),
        )
        translation.activate(language)
        request.LANGUAGE_CODE = language
        token = formatting.activate(
            locale=org.locale if org is not None else language,
            currency=org.currency if org is not None else "",
        )
        try:
            response = self.get_response(request)
        finally:
            formatting.deactivate(token)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response
