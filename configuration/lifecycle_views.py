"""Configuration → Lifecycle: the organization's days (onboarding, renewal, activation due),
the welcome mail's text, the stage rules and the activation condition through the condition
builder (each on its own page: one builder a page), and the journey's triggers. Saved at
once (no drafts): the next night moves the stages by them. Analysts read; admins change."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from lifecycle import rules as lc_rules
from lifecycle.forms import LifecycleSettingsForm
from lifecycle.services import (
    journey_trigger_names,
    journey_triggers_create,
    lifecycle_rule_save,
    lifecycle_settings_of,
    lifecycle_settings_save,
)
from orgs.web import is_fragment_request
from triggers.fields import TRIGGER_FIELDS
from triggers.models import Trigger

from .views import _builder, _builder_post, _is_admin, admins_only, configure

RULE_TITLES = {
    "onboarding": gettext_lazy("Onboarding"),
    "renewal": gettext_lazy("Renewal"),
    "adoption": gettext_lazy("Adoption"),
    "activation": gettext_lazy("Activation"),
}


def _rule_builder(request, *, tree=None, bound=False):
    return _builder(request, catalogue=TRIGGER_FIELDS, tree=tree, bound=bound)


@configure
@require_http_methods(["GET", "POST"])
def lifecycle(request: HttpRequest) -> HttpResponse:
    settings = lifecycle_settings_of(request.organization)
    form = LifecycleSettingsForm(instance=settings)
    status = 200
    if request.method == "POST":
        if not _is_admin(request):
            raise PermissionDenied(_("Only an admin changes the lifecycle."))
        form = LifecycleSettingsForm(request.POST, instance=settings)
        if form.is_valid():
            lifecycle_settings_save(
                org=request.organization,
                values={name: form.cleaned_data[name] for name in form.Meta.fields},
                acting_user=request.user,
            )
            messages.success(request, _("Saved: the next night moves the stages by these rules."))
            return redirect("configuration:lifecycle")
        status = 422
    trees = lc_rules.effective_trees(settings)
    stored = {**(settings.rules or {}), "activation": settings.activation or None}
    rows = [
        {
            "key": key,
            "title": RULE_TITLES[key],
            "sentence": _rule_builder(request, tree=trees[key]).sentence,
            "custom": bool(stored.get(key)),
        }
        for key in lc_rules.RULE_KEYS
    ]
    return render(
        request,
        "configuration/lifecycle.html",
        {
            "section": "lifecycle",
            "form": form,
            "rows": rows,
            "can_edit": _is_admin(request),
            "journey_triggers": list(
                Trigger.objects.filter(
                    name__in=journey_trigger_names(request.organization)
                ).order_by("name")
            ),
        },
        status=status,
    )


@configure
@require_http_methods(["GET", "POST"])
def lifecycle_rule(request: HttpRequest, rule: str) -> HttpResponse:
    """One rule's condition in the builder. Saving (admins) replaces the rule; "Use the
    default" puts the default built from the days back."""
    if rule not in lc_rules.RULE_KEYS:
        raise Http404(_("Not found."))
    settings = lifecycle_settings_of(request.organization)
    url = reverse("configuration:lifecycle_rule", args=[rule])
    context = {"section": "lifecycle", "rule": rule, "title": RULE_TITLES[rule], "builder_url": url}
    context["can_edit"] = _is_admin(request)
    if request.method == "POST":
        if not _is_admin(request):
            raise PermissionDenied(_("Only an admin changes the lifecycle."))
        if "use_default" in request.POST:
            lifecycle_rule_save(
                org=request.organization, rule=rule, tree=None, acting_user=request.user
            )
            messages.success(request, _("The rule is the default again."))
            return redirect("configuration:lifecycle")
        builder = _rule_builder(request, bound=True)
        context["builder"] = builder
        if _builder_post(request):
            if not builder.structural:
                builder.is_valid()
            if is_fragment_request(request):
                return render(request, "configuration/_builder.html", context)
            return render(request, "configuration/lifecycle_rule.html", context)
        if builder.is_valid():
            try:
                lifecycle_rule_save(
                    org=request.organization,
                    rule=rule,
                    tree=builder.tree,
                    acting_user=request.user,
                )
            except ValidationError as exc:
                builder.errors.extend(exc.messages)
            else:
                messages.success(request, _("Saved: the next night moves the stages by it."))
                return redirect("configuration:lifecycle")
        return render(request, "configuration/lifecycle_rule.html", context, status=422)
    context["builder"] = _rule_builder(request, tree=lc_rules.effective_trees(settings)[rule])
    return render(request, "configuration/lifecycle_rule.html", context)


@admins_only
@require_POST
def lifecycle_triggers(request: HttpRequest) -> HttpResponse:
    made = journey_triggers_create(org=request.organization, acting_user=request.user)
    if made:
        messages.success(request, _("The journey's triggers are created."))
    else:
        messages.info(request, _("The journey's triggers exist already."))
    return redirect("configuration:lifecycle")
