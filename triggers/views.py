"""The alert endpoints: a CSM (or their manager) confirms an alert, and the trigger's playbook
starts, or dismisses it with a reason. Alerts are listed in My Work (the workspace renders
triggers/_alert.html for each); these views answer htmx with the updated card and the
HX-Trigger events that refresh counts, steps, notifications and the timeline, and a plain
form post with a redirect back to My Work and a message."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from orgs.models import WORKER_ROLES
from orgs.permissions import can_reassign, can_work, org_required
from orgs.web import (
    EVENT_NOTIFICATIONS,
    EVENT_STEPS,
    EVENT_TIMELINE,
    EVENT_WORK,
    is_fragment_request,
    request_today,
)
from playbooks.services import NotAllowed, PlaybookError

from . import selectors as trigger_selectors
from .forms import AlertDismissForm
from .models import Alert
from .services import alert_confirm, alert_dismiss

# -- Alerts -------------------------------------------------------------------------------


def _alert_or_404(pk: int) -> Alert:
    try:
        return trigger_selectors.alert_get(pk=pk)
    except Alert.DoesNotExist as exc:
        raise Http404("No such alert in your organization.") from exc


def _alert_response(
    request: HttpRequest, pk: int, *, status: int = 200, events: dict | None = None, **extra
) -> HttpResponse:
    alert = _alert_or_404(pk)
    context = {
        "alert": alert,
        "today": request_today(request),
        "can_work": can_work(request)
        and (can_reassign(request) or alert.owner_id == request.user.pk),
        "errors": {},
        "values": {},
        "open_form": "",
        **extra,
    }
    response = render(request, "triggers/_alert.html", context, status=status)
    for name, params in (events or {}).items():
        trigger_client_event(response, name, params)
    return response


def _alert_done(request: HttpRequest, pk: int, text: str, account_id: int) -> HttpResponse:
    if not is_fragment_request(request):
        messages.success(request, text)
        return redirect(reverse("workspace:my_work") + "#work-alerts")
    return _alert_response(
        request,
        pk,
        message=text,
        message_kind="success",
        events={
            EVENT_WORK: {"alert": pk},
            EVENT_STEPS: {"alert": pk},
            EVENT_NOTIFICATIONS: {},
            EVENT_TIMELINE: {"account": account_id},
        },
    )


def _alert_conflict(request: HttpRequest, pk: int, message: str) -> HttpResponse:
    if not is_fragment_request(request):
        messages.error(request, message)
        return redirect(reverse("workspace:my_work") + "#work-alerts")
    return _alert_response(
        request,
        pk,
        status=409,
        message=message,
        message_kind="danger",
        events={EVENT_WORK: {"alert": pk}},
    )


@org_required(roles=WORKER_ROLES)
@require_POST
def alert_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm the risk: the trigger's playbook starts (its steps join My Work)."""
    alert = _alert_or_404(pk)
    try:
        alert = alert_confirm(alert_id=alert.pk, user=request.user, today=request_today(request))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except PlaybookError as exc:
        return _alert_conflict(request, pk, exc.message.capitalize() + ".")
    values = {
        "playbook": alert.playbook.title if alert.playbook else gettext("the playbook"),
        "account": alert.account.name,
    }
    if getattr(alert, "joined_open", False):
        text = gettext(
            "Confirmed: “%(playbook)s” was already open for %(account)s; the alert joins it."
        )
    else:
        text = gettext("Confirmed: “%(playbook)s” has started for %(account)s.")
    return _alert_done(request, pk, text % values, alert.account_id)


@org_required(roles=WORKER_ROLES)
@require_POST
def alert_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Dismiss with a reason (required: the error shows beside the field, 422)."""
    alert = _alert_or_404(pk)
    form = AlertDismissForm(request.POST)
    if form.is_valid():
        try:
            alert_dismiss(alert_id=alert.pk, user=request.user, reason=form.cleaned_data["reason"])
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except PlaybookError as exc:
            if exc.field != "reason":
                return _alert_conflict(request, pk, exc.message.capitalize() + ".")
            form.add_error("reason", exc.message.capitalize() + ".")
    if form.errors:
        if not is_fragment_request(request):
            for error in form.errors.get("reason", []):
                messages.error(request, error)
            return redirect(reverse("workspace:my_work") + f"#alert-{pk}")
        return _alert_response(
            request,
            pk,
            status=422,
            errors=form.errors,
            values=request.POST,
            open_form="dismiss",
        )
    return _alert_done(request, pk, gettext("Dismissed."), alert.account_id)
