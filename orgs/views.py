"""Landing, organization switching and the page for users with no organization."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .permissions import org_required
from .selectors import SESSION_ORG_KEY, memberships_of_user


@org_required
def home(request):
    """CSMs and managers land on My Work (their alerts and steps); everyone else on the
    whole portfolio."""
    if request.membership.role in ("csm", "manager"):
        return HttpResponseRedirect(reverse("workspace:my_work"))
    return HttpResponseRedirect(reverse("accounts:portfolio"))


@login_required
def no_organization(request):
    return render(request, "orgs/no_organization.html", status=403)


@login_required
@require_POST
def switch_organization(request):
    org_id = request.POST.get("organization")
    if memberships_of_user(user=request.user).filter(organization_id=org_id).exists():
        request.session[SESSION_ORG_KEY] = int(org_id)
    return redirect("home")
