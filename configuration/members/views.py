"""The members pages (/configuration/members/): the list with the add form, and one
member's page with their role, their deactivation (and who takes their work) or
reactivation, and a password reset. Admins only: every other role gets 403, reads included."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orgs.models import Role
from orgs.permissions import org_required
from orgs.services import MembershipError

from . import selectors, services
from .forms import MemberAddForm, MemberDeactivateForm, MemberRoleForm

admins_only = org_required(roles=(Role.ADMIN,))


def _member(request, pk: int):
    try:
        return selectors.member_get(org=request.organization, pk=pk)
    except selectors.MemberNotFound:
        raise Http404(_("No such member in this organization.")) from None


def _list(request, form, status=200) -> HttpResponse:
    return render(
        request,
        "configuration/member_list.html",
        {"rows": selectors.member_rows(org=request.organization), "form": form},
        status=status,
    )


@admins_only
@require_GET
def member_list(request: HttpRequest) -> HttpResponse:
    return _list(request, MemberAddForm())


@admins_only
@require_POST
def member_add(request: HttpRequest) -> HttpResponse:
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = services.member_invite(
                organization=request.organization,
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                acting_user=request.user,
            )
        except MembershipError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            user = added.membership.user
            if added.created_user:
                text = _("%(user)s was added and sent an invitation to %(email)s.")
            elif added.reactivated:
                text = _("%(user)s is a member again.")
            else:
                text = _("%(user)s, already on the platform, joined this organization.")
            messages.success(request, text % {"user": user, "email": user.email})
            return redirect("configuration:member", pk=added.membership.pk)
    return _list(request, form, status=422)


def _detail(request, membership, *, role_form=None, deactivate_form=None, status=200):
    targets = selectors.handover_targets(org=request.organization, leaving=membership)
    return render(
        request,
        "configuration/member_detail.html",
        {
            "member": membership,
            "held": selectors.member_held(membership=membership),
            "role_form": role_form or MemberRoleForm(initial={"role": membership.role}),
            "deactivate_form": deactivate_form or MemberDeactivateForm(targets=targets),
            "is_self": membership.user_id == request.user.pk,
        },
        status=status,
    )


@admins_only
@require_http_methods(["GET", "POST"])
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the member's page; POST: a new role."""
    membership = _member(request, pk)
    if request.method == "GET":
        return _detail(request, membership)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            services.member_set_role(
                membership=membership, role=form.cleaned_data["role"], acting_user=request.user
            )
        except MembershipError as exc:
            form.add_error("role", exc.message)
        else:
            messages.success(request, _("Role changed."))
            return redirect("configuration:member", pk=pk)
    return _detail(request, membership, role_form=form, status=422)


@admins_only
@require_POST
def member_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _member(request, pk)
    targets = selectors.handover_targets(org=request.organization, leaving=membership)
    form = MemberDeactivateForm(request.POST, targets=targets)
    if form.is_valid():
        try:
            done = services.member_deactivate(
                membership=membership,
                handover_to=form.cleaned_data["handover_to"],
                acting_user=request.user,
            )
        except MembershipError as exc:
            form.add_error("handover_to" if exc.field == "handover_to" else None, exc.message)
        else:
            messages.success(
                request,
                _(
                    "%(user)s is no longer a member. Handed over: %(accounts)s accounts, "
                    "%(playbooks)s open playbooks, %(steps)s open steps."
                )
                % {
                    "user": membership.user,
                    "accounts": done.accounts,
                    "playbooks": done.playbooks,
                    "steps": done.steps,
                },
            )
            if done.alerts:
                messages.success(
                    request,
                    ngettext(
                        "%(n)s pending alert went with them.",
                        "%(n)s pending alerts went with them.",
                        done.alerts,
                    )
                    % {"n": done.alerts},
                )
            return redirect("configuration:member", pk=pk)
    return _detail(request, _member(request, pk), deactivate_form=form, status=422)


@admins_only
@require_POST
def member_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _member(request, pk)
    try:
        services.member_reactivate(membership=membership, acting_user=request.user)
    except MembershipError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(user)s is a member again.") % {"user": membership.user})
    return redirect("configuration:member", pk=pk)


@admins_only
@require_POST
def member_password_reset(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _member(request, pk)
    try:
        services.member_send_password_reset(membership=membership, acting_user=request.user)
    except MembershipError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("A link to choose a new password was sent to %(email)s.")
            % {"email": membership.user.email},
        )
    return redirect("configuration:member", pk=pk)
