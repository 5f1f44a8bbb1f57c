"""Landing, organization switching and the page for users with no organization."""

import logging
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .permissions import org_required
from .selectors import SESSION_ORG_KEY, memberships_of_user
from .services import LanguageError, user_set_language

logger = logging.getLogger(__name__)


@org_required
def home(request):
    """CSMs land on My Work (their alerts and steps); managers on the reports home (the
    team's headline figures, with links to My Work and every report); everyone else on the
    whole portfolio. The pages are named, not imported: they live in the layers above."""
    if request.membership.role == "csm":
        return HttpResponseRedirect(reverse("workspace:my_work"))
    if request.membership.role == "manager":
        return HttpResponseRedirect(reverse("reports:home"))
    return HttpResponseRedirect(reverse("accounts:portfolio"))


@login_required
def no_organization(request):
    return render(request, "orgs/no_organization.html", status=403)


@login_required
@require_POST
def switch_organization(request):
    """Work in another of the user's organizations. Anything but one of theirs (another
    organization's id, or not an id at all) is refused with a message, and nothing changes."""
    raw = request.POST.get("organization", "")
    org_id = int(raw) if re.fullmatch(r"[0-9]{1,18}", raw) else None
    if (
        org_id is None
        or not memberships_of_user(user=request.user).filter(organization_id=org_id).exists()
    ):
        logger.warning("organization switch refused: user %s asked for %r", request.user.pk, raw)
        messages.error(
            request,
            _("Could not switch: “%(value)s” is not one of your organizations.")
            % {"value": raw[:40]},
        )
        return redirect("home")
    request.session[SESSION_ORG_KEY] = org_id
    return redirect("home")


@login_required
@require_POST
def set_language(request):
    """The user's language (the switcher in the user menu): one of the installation's, or ""
    to follow the organization's. Back to the page it was chosen on."""
    try:
        user_set_language(user=request.user, language=request.POST.get("language", ""))
    except LanguageError as error:
        messages.error(request, error.message)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home")
    return HttpResponseRedirect(target)
