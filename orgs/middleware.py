"""Sets the request's organization from the user's membership, for the whole request."""

from django.shortcuts import render
from django.utils import timezone

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
