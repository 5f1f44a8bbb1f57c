"""Playbook pages: the playbook (account summary, why it exists, steps, linked contacts and
the outcome form) and the step actions My Work shares with it. Each view renders the full
page or, for htmx, the partial it updates; every mutation returns the updated fragment and
an HX-Trigger event so counts elsewhere refresh. Without JavaScript the forms still post and
the view redirects back with a message."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from orgs.models import WORKER_ROLES, Role
from orgs.permissions import can_reassign, can_work, org_required
from orgs.web import (
    EVENT_CLOSED,
    EVENT_CONTACT,
    EVENT_REASSIGNED,
    EVENT_STEPS,
    EVENT_TIMELINE,
    EVENT_WORK,
    is_fragment_request,
    request_today,
)

from . import selectors
from .forms import (
    ContactLogForm,
    PlaybookCloseForm,
    PlaybookReassignForm,
    StepCompleteForm,
    StepNoteForm,
    StepSnoozeForm,
    user_label,
)
from .models import Playbook, PlaybookStatus, PlaybookStep
from .permissions import may_work_playbook, may_work_step
from .services import (
    NotAllowed,
    PlaybookError,
    StepConflict,
    churned_text,
    playbook_close,
    playbook_log_contact,
    playbook_outcome_due,
    playbook_reassign,
    step_add_note,
    step_complete,
    step_snooze,
)

# Sections of the playbook page an htmx request may ask for alone (?section=...).
PLAYBOOK_SECTIONS = (
    "playbook-summary",
    "playbook-steps",
    "playbook-contacts-list",
    "playbook-outcome",
    "playbook-body",
)


def _may_work_step(request: HttpRequest, step: PlaybookStep) -> bool:
    return may_work_step(
        step=step, playbook=step.playbook, user_id=request.user.pk, role=request.membership.role
    )


def _where(request: HttpRequest) -> str:
    where = request.POST.get("where") or request.GET.get("where") or "playbook"
    return where if where in ("mywork", "playbook") else "playbook"


def _playbook_or_404(selector, pk: int, **params) -> Playbook:
    try:
        return selector(pk=pk, **params)
    except Playbook.DoesNotExist as exc:
        raise Http404("No such playbook in your organization.") from exc


def _detail_or_404(request: HttpRequest, pk: int) -> Playbook:
    """The playbook as its page shows it (overdue or not on the organization's today)."""
    return _playbook_or_404(selectors.playbook_detail, pk, today=request_today(request))


def _step_or_404(request: HttpRequest, pk: int) -> PlaybookStep:
    try:
        return selectors.step_get(pk=pk, today=request_today(request))
    except PlaybookStep.DoesNotExist as exc:
        raise Http404("No such step in your organization.") from exc


# -- Steps --------------------------------------------------------------------------------


def step_context(
    request: HttpRequest,
    step: PlaybookStep,
    *,
    where: str,
    today: dt.date | None = None,
    **extra,
) -> dict:
    """What templates/playbooks/_step.html needs for one step."""
    today = today or request_today(request)
    context = {
        "step": step,
        "where": where,
        "today": today,
        "tomorrow": today + dt.timedelta(days=1),
        "can_work": can_work(request) and _may_work_step(request, step),
        "errors": {},
        "values": {},
        "open_form": "",
    }
    context.update(extra)
    return context


def _step_response(
    request: HttpRequest,
    step_pk: int,
    *,
    where: str,
    status: int = 200,
    events: dict | None = None,
    **extra,
) -> HttpResponse:
    step = _step_or_404(request, step_pk)
    response = render(
        request,
        "playbooks/_step.html",
        step_context(request, step, where=where, **extra),
        status=status,
    )
    for name, params in (events or {}).items():
        trigger_client_event(response, name, params)
    return response


def _back(request: HttpRequest, step: PlaybookStep, where: str) -> HttpResponse:
    if where == "mywork":
        return redirect(reverse("workspace:my_work") + f"#step-{step.pk}")
    return redirect(reverse("playbooks:detail", args=[step.playbook_id]) + f"#step-{step.pk}")


def _step_action(request: HttpRequest, pk: int, form_class, action, *, form_name: str, done: str):
    """Shared flow of the three step actions: validate, call the service with the version the
    page showed, and answer with the step's fragment (errors 422, conflicts 409)."""
    step = _step_or_404(request, pk)
    where = _where(request)
    kwargs = {"today": request_today(request)} if form_class is StepSnoozeForm else {}
    form = form_class(request.POST, **kwargs)
    error_status = 422
    if form.is_valid():
        try:
            action(step, form.cleaned_data)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except StepConflict as exc:
            form.add_error(None, exc.message)
            error_status = 409
        except PlaybookError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
            error_status = 409 if field is None else 422
    if form.errors:
        if not is_fragment_request(request):
            for error in form.errors.get("__all__", []) or [
                e for errs in form.errors.values() for e in errs
            ]:
                messages.error(request, f"{step.title}: {error}")
            return _back(request, step, where)
        conflict = form.errors.get("__all__")
        return _step_response(
            request,
            pk,
            where=where,
            status=error_status,
            errors={k: v for k, v in form.errors.items() if k != "__all__"},
            values=request.POST,
            open_form="" if conflict else form_name,
            message=" ".join(conflict) if conflict else "",
            message_kind="danger",
            # A conflict leaves the page stale elsewhere too: counts and lists reload.
            events={EVENT_WORK: {"step": pk}} if conflict else None,
        )
    # the last open step done: the playbook now waits for its outcome, and says so here
    outcome_due = form_name == "complete" and playbook_outcome_due(playbook=step.playbook)
    if not is_fragment_request(request):
        messages.success(request, f"{step.title}: {done}")
        if outcome_due:
            messages.info(request, gettext("All steps done — record the outcome."))
            return redirect(
                reverse("playbooks:detail", args=[step.playbook_id]) + "#playbook-outcome"
            )
        return _back(request, step, where)
    return _step_response(
        request,
        pk,
        where=where,
        message=done,
        message_kind="success",
        outcome_due=outcome_due,
        events={EVENT_WORK: {"step": pk}, EVENT_TIMELINE: {"account": step.playbook.account_id}},
    )


@org_required(roles=WORKER_ROLES)
@require_POST
def step_complete_view(request: HttpRequest, pk: int) -> HttpResponse:
    def action(step, data):
        step_complete(
            step_id=step.pk,
            user=request.user,
            expected_version=data["version"],
            notes=data.get("notes", ""),
        )

    return _step_action(
        request, pk, StepCompleteForm, action, form_name="complete", done="Marked as done."
    )


@org_required(roles=WORKER_ROLES)
@require_POST
def step_note_view(request: HttpRequest, pk: int) -> HttpResponse:
    def action(step, data):
        step_add_note(
            step_id=step.pk,
            user=request.user,
            notes=data["notes"],
            expected_version=data["version"],
        )

    return _step_action(request, pk, StepNoteForm, action, form_name="note", done="Note added.")


@org_required(roles=WORKER_ROLES)
@require_POST
def step_snooze_view(request: HttpRequest, pk: int) -> HttpResponse:
    def action(step, data):
        step_snooze(
            step_id=step.pk,
            user=request.user,
            due_on=data["due_on"],
            reason=data["reason"],
            today=request_today(request),
            expected_version=data["version"],
        )

    return _step_action(request, pk, StepSnoozeForm, action, form_name="snooze", done="Snoozed.")


# The step forms My Work loads on demand (?form=...), by template.
STEP_FORMS = {
    "note": "playbooks/_step_note_form.html",
    "snooze": "playbooks/_step_snooze_form.html",
}


@org_required
@require_GET
def step_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One step's fragment (htmx refresh), or with ?form=note|snooze just that form (My Work
    loads them into the step on demand); a plain request gets the playbook page."""
    step = _step_or_404(request, pk)
    if not is_fragment_request(request):
        return redirect(reverse("playbooks:detail", args=[step.playbook_id]) + f"#step-{pk}")
    context = step_context(request, step, where=_where(request))
    form = request.GET.get("form")
    if form in STEP_FORMS:
        if not context["can_work"]:
            raise PermissionDenied("Your role does not allow this.")
        context["in_slot"] = True
        return render(request, STEP_FORMS[form], context)
    return render(request, "playbooks/_step.html", context)


# -- The playbook page --------------------------------------------------------------------


def _playbook_context(request: HttpRequest, playbook: Playbook, **extra) -> dict:
    today = request_today(request)
    is_open = playbook.status == PlaybookStatus.OPEN
    steps = getattr(playbook, "step_list", None)
    if steps is None:
        steps = selectors.playbook_step_list(playbook=playbook, today=today)
    contacts = getattr(playbook, "contact_list", None)
    if contacts is None:
        contacts = selectors.playbook_contact_list(playbook=playbook)
    context = {
        "playbook": playbook,
        "account": playbook.account,
        "today": today,
        "is_open": is_open,
        "can_work": is_open
        and can_work(request)
        and may_work_playbook(
            playbook=playbook, user_id=request.user.pk, role=request.membership.role
        ),
        "can_reassign": can_reassign(request) and is_open,
        "steps": steps,
        "steps_done": sum(1 for s in steps if s.status == "done"),
        "outcome_due": is_open and not any(s.status == "open" for s in steps),
        "churned": churned_text(playbook.account.churned_at) if playbook.account.is_churned else "",
        "overdue_steps": sum(1 for s in steps if s.is_overdue),
        "contacts": contacts,
        "evidence_lines": selectors.evidence_lines(playbook.evidence_text, playbook.evidence),
        "where": "playbook",
    }
    if context["can_work"]:
        context.setdefault(
            "close_form",
            extra.pop("close_form", None)
            or PlaybookCloseForm(playbook=playbook, id_prefix="close"),
        )
        context.setdefault(
            "contact_form",
            extra.pop("contact_form", None)
            or ContactLogForm(
                account_id=playbook.account_id, id_prefix="contact", initial={"where": "playbook"}
            ),
        )
    if context["can_reassign"]:
        context["reassign_form"] = extra.pop("reassign_form", None) or PlaybookReassignForm(
            org=request.organization, id_prefix="reassign", initial={"owner": playbook.owner_id}
        )
    context.update(extra)
    return context


@org_required
@require_GET
@vary_on_headers("HX-Request")
def playbook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = _detail_or_404(request, pk)
    template = "playbooks/playbook_detail.html"
    section = request.GET.get("section")
    if is_fragment_request(request) and section in PLAYBOOK_SECTIONS:
        template += f"#{section}"
    return render(request, template, _playbook_context(request, playbook))


@org_required(roles=WORKER_ROLES)
@require_http_methods(["GET", "POST"])
def playbook_log_contact_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a contact against the playbook. GET gives the form (a fragment for htmx: My Work
    loads it into a step on demand); POST logs it and answers with a fresh form (or, from
    My Work, a confirmation) and a `contactLogged` event."""
    playbook = _playbook_or_404(selectors.playbook_get, pk)
    where = _where(request)
    slot = request.POST.get("slot") or request.GET.get("slot") or "page"
    id_prefix = f"contact-{playbook.pk}-{slot}"
    if playbook.status != PlaybookStatus.OPEN:
        if is_fragment_request(request):
            return render(
                request,
                "playbooks/_contact_form.html",
                {"playbook": playbook, "closed": True, "where": where, "slot": slot},
                status=409,
            )
        messages.error(request, "This playbook is closed.")
        return redirect("playbooks:detail", pk=pk)
    context = {"playbook": playbook, "where": where, "slot": slot}
    if request.method == "GET":
        context["contact_form"] = ContactLogForm(
            account_id=playbook.account_id, id_prefix=id_prefix, initial={"where": where}
        )
        if where == "mywork":  # loaded into a step on demand: the keyboard goes to it
            context["contact_form"].fields["contact"].widget.attrs["autofocus"] = True
        if is_fragment_request(request):
            return render(request, "playbooks/_contact_form.html", context)
        return render(request, "playbooks/log_contact.html", context)

    form = ContactLogForm(request.POST, account_id=playbook.account_id, id_prefix=id_prefix)
    if form.is_valid():
        try:
            interaction = playbook_log_contact(
                playbook=playbook,
                user=request.user,
                kind=form.cleaned_data["kind"],
                summary=form.cleaned_data["summary"],
                contact=form.cleaned_data["contact"],
                notes=form.cleaned_data["notes"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except PlaybookError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    if form.errors:
        context["contact_form"] = form
        template = "playbooks/_contact_form.html"
        if not is_fragment_request(request):
            template = "playbooks/log_contact.html"
        return render(request, template, context, status=422)

    logged = f"{interaction.get_kind_display()} logged: {interaction.summary}"
    if not is_fragment_request(request):
        messages.success(request, logged)
        if where == "mywork":
            return redirect("workspace:my_work")
        return redirect(reverse("playbooks:detail", args=[pk]) + "#playbook-contacts")
    context.update(
        logged=logged,
        contact_form=ContactLogForm(
            account_id=playbook.account_id, id_prefix=id_prefix, initial={"where": where}
        ),
    )
    response = render(request, "playbooks/_contact_form.html", context)
    trigger_client_event(response, EVENT_CONTACT, {"playbook": playbook.pk})
    return trigger_client_event(response, EVENT_TIMELINE, {"account": playbook.account_id})


@org_required(roles=WORKER_ROLES)
@require_POST
def playbook_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Close with the outcome: the body of the page comes back closed (htmx), with the
    `playbookClosed` and `workChanged` events; errors stay beside their fields (422)."""
    playbook = _playbook_or_404(selectors.playbook_get, pk)
    form = PlaybookCloseForm(request.POST, playbook=playbook, id_prefix="close")
    if form.is_valid():
        data = form.cleaned_data
        try:
            playbook_close(
                playbook_id=playbook.pk,
                user=request.user,
                outcome=data["outcome"],
                today=request_today(request),
                product=data.get("opportunity_product"),
                expected_mrr=data.get("expected_mrr"),
                mrr_won=data.get("mrr_won"),
                churn_reason=data.get("churn_reason"),
                notes=data.get("notes", ""),
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except PlaybookError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    if form.errors:
        if is_fragment_request(request):
            playbook = _detail_or_404(request, pk)
            context = _playbook_context(request, playbook, close_form=form)
            if not context["is_open"]:  # closed meanwhile by someone else: show it
                response = render(
                    request, "playbooks/playbook_detail.html#playbook-body", context, status=409
                )
                return reswap(retarget(response, "#playbook-body"), "outerHTML")
            return render(
                request, "playbooks/playbook_detail.html#playbook-outcome", context, status=422
            )
        playbook = _detail_or_404(request, pk)
        context = _playbook_context(request, playbook, close_form=form)
        return render(request, "playbooks/playbook_detail.html", context, status=422)

    closed = _detail_or_404(request, pk)
    text = f"Playbook closed: {closed.get_outcome_display()}."
    if not is_fragment_request(request):
        messages.success(request, text)
        return redirect("playbooks:detail", pk=pk)
    context = _playbook_context(request, closed, closed_message=text)
    response = render(request, "playbooks/playbook_detail.html#playbook-body", context)
    response = reswap(retarget(response, "#playbook-body"), "outerHTML")
    trigger_client_event(response, EVENT_CLOSED, {"playbook": pk, "outcome": closed.outcome})
    trigger_client_event(response, EVENT_WORK, {"playbook": pk})
    return trigger_client_event(response, EVENT_TIMELINE, {"account": closed.account_id})


@org_required(roles=(Role.ADMIN, Role.MANAGER))
@require_POST
def playbook_reassign_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Managers and admins give the playbook (and its open owner steps) to another member."""
    playbook = _playbook_or_404(selectors.playbook_get, pk)
    form = PlaybookReassignForm(request.POST, org=request.organization, id_prefix="reassign")
    if form.is_valid():
        try:
            playbook_reassign(
                playbook=playbook, owner=form.cleaned_data["owner"], acting_user=request.user
            )
        except PlaybookError as exc:
            form.add_error("owner" if exc.field == "owner" else None, exc.message)
    if form.errors:
        if not is_fragment_request(request):
            for error in form.errors.get("owner", []) + form.errors.get("__all__", []):
                messages.error(request, error)
            return redirect("playbooks:detail", pk=pk)
        playbook = _detail_or_404(request, pk)
        context = _playbook_context(request, playbook, reassign_form=form)
        return render(
            request, "playbooks/playbook_detail.html#playbook-summary", context, status=422
        )
    owner = user_label(form.cleaned_data["owner"])
    if not is_fragment_request(request):
        messages.success(request, f"{playbook.title} now belongs to {owner}.")
        return redirect("playbooks:detail", pk=pk)
    playbook = _detail_or_404(request, pk)
    context = _playbook_context(request, playbook, reassigned_to=owner)
    response = render(request, "playbooks/playbook_detail.html#playbook-summary", context)
    trigger_client_event(response, EVENT_REASSIGNED, {"playbook": pk, "owner": playbook.owner_id})
    trigger_client_event(response, EVENT_STEPS, {"playbook": pk})
    return trigger_client_event(response, EVENT_WORK, {"playbook": pk})
