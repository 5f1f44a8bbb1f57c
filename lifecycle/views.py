"""The journey card of the account page (loaded into it by htmx, a page of its own without
JavaScript): stage and since when, activation and time to activation, the goal of the
purchase, which the account's CSM or a manager records here."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from accounts.models import Account
from orgs.models import Role
from orgs.permissions import org_required
from orgs.web import is_fragment_request, request_today

from .forms import PurchaseGoalForm
from .selectors import account_journey
from .services import purchase_goal_record


def _may_record(request, account: Account) -> bool:
    role = request.membership.role
    return role in (Role.ADMIN, Role.MANAGER) or (
        role == Role.CSM and account.owner_id == request.user.pk
    )


@org_required
@require_http_methods(["GET", "POST"])
def account_journey_card(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.select_related("organization"), pk=pk)
    may_record = _may_record(request, account)
    form = None
    status = 200
    saved = False
    if request.method == "POST":
        if not may_record:
            raise PermissionDenied(gettext("Only the account's CSM or a manager records the goal."))
        form = PurchaseGoalForm(request.POST)
        if form.is_valid():
            try:
                purchase_goal_record(
                    account=account, text=form.cleaned_data["text"], acting_user=request.user
                )
            except ValidationError as exc:
                form.add_error("text", exc.messages)
                status = 422
            else:
                saved = True
                if not is_fragment_request(request):
                    return redirect(f"{reverse('accounts:detail', args=[account.pk])}#journey")
                form = None
        else:
            status = 422
    journey = account_journey(account=account, today=request_today(request))
    if form is None and may_record:
        form = PurchaseGoalForm(initial={"text": journey.goal.text if journey.goal else ""})
    context = {
        "account": account,
        "journey": journey,
        "form": form if may_record else None,
        "saved": saved,
    }
    template = (
        "lifecycle/_journey.html" if is_fragment_request(request) else "lifecycle/journey.html"
    )
    return render(request, template, context, status=status)
