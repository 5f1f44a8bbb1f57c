"""The template editor (/configuration/templates/): the list, a new template, a template
edited with its ordered steps. Admins only (every other role: 403).

One view serves the form page or, for htmx, the steps fieldset alone: a post with
`step_action` (add, remove, up or down a row) re-renders the rows in their new order and
saves nothing, so moving steps works without JavaScript by posting the whole form. Saving
validates every row and the template together: a bad row shows its error on that row and
nothing is saved."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from orgs.models import Role
from orgs.permissions import org_required
from orgs.web import is_fragment_request
from playbooks.models import OUTCOMES_BY_KIND, Outcome, PlaybookTemplate
from playbooks.services import MAX_TEMPLATE_STEPS, TemplateStepsError, playbook_template_save

from . import selectors
from .forms import STEP_FIELDS, PlaybookTemplateForm, TemplateStepForm

admins_only = org_required(roles=(Role.ADMIN,))
ACTION = "step_action"


@admins_only
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "configuration/template_list.html",
        {"templates": list(selectors.templates_with_counts())},
    )


@admins_only
@require_http_methods(["GET", "POST"])
def template_new(request: HttpRequest) -> HttpResponse:
    template = PlaybookTemplate(organization=request.organization)
    return _page(request, template, title=_("New playbook template"))


@admins_only
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        template = selectors.template_get(pk=pk)
    except PlaybookTemplate.DoesNotExist:
        raise Http404(_("No such template in this organization.")) from None
    return _page(request, template, title=template.name)


# -- the rows -------------------------------------------------------------------------------


def _posted_rows(data) -> list[dict[str, str]]:
    try:
        count = int(data.get("steps-count") or 0)
    except ValueError:
        count = 0
    count = max(0, min(count, MAX_TEMPLATE_STEPS + 1))
    return [{f: data.get(f"step-{i}-{f}", "") for f in STEP_FIELDS} for i in range(count)]


def _stored_rows(template: PlaybookTemplate) -> list[dict[str, str]]:
    if template.pk is None:
        return [{"title": "", "instructions": "", "due_offset_days": "0", "assignee": "owner"}]
    return [
        {
            "title": s.title,
            "instructions": s.instructions,
            "due_offset_days": str(s.due_offset_days),
            "assignee": s.assignee,
            "assignee_user": str(s.assignee_user_id or ""),
        }
        for s in selectors.template_steps(template=template)
    ]


def _apply(rows: list[dict], action: str) -> tuple[list[dict], str]:
    """The rows after a structure button, and which button keeps the focus
    ("<position>-up", "<position>-down", "<position>-title" or "add")."""
    verb, _sep, where = action.partition(":")
    if verb == "add":
        if len(rows) < MAX_TEMPLATE_STEPS:
            rows = [*rows, {"title": "", "due_offset_days": "0", "assignee": "owner"}]
        return rows, f"{len(rows) - 1}-title"
    try:
        i = int(where)
    except ValueError:
        return rows, ""
    if not 0 <= i < len(rows):
        return rows, ""
    rows = list(rows)
    if verb == "up" and i > 0:
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
        return rows, f"{i - 1}-up" if i - 1 > 0 else f"{i - 1}-down"
    if verb == "down" and i < len(rows) - 1:
        rows[i], rows[i + 1] = rows[i + 1], rows[i]
        return rows, f"{i + 1}-down" if i + 1 < len(rows) - 1 else f"{i + 1}-up"
    if verb == "remove":
        del rows[i]
        return rows, "add"
    return rows, ""


def _row_forms(rows, members, *, bound: bool) -> list[TemplateStepForm]:
    forms = []
    for i, row in enumerate(rows):
        prefix = f"step-{i}"
        if bound:
            data = {f"{prefix}-{k}": v for k, v in row.items()}
            forms.append(TemplateStepForm(data=data, prefix=prefix, members=members))
        else:
            forms.append(TemplateStepForm(initial=row, prefix=prefix, members=members))
    return forms


# -- the page -------------------------------------------------------------------------------


def _page(request, template: PlaybookTemplate, *, title: str) -> HttpResponse:
    url = (
        reverse("configuration:template", args=[template.pk])
        if template.pk
        else reverse("configuration:template_new")
    )
    members = selectors.step_members(org=request.organization)
    if request.method == "GET":
        form = PlaybookTemplateForm(instance=template)
        steps = _row_forms(_stored_rows(template), members, bound=False)
        return _render(request, template, form, steps, title=title, url=url)

    rows = _posted_rows(request.POST)
    if ACTION in request.POST:
        rows, focus = _apply(rows, request.POST[ACTION])
        steps = _row_forms(rows, members, bound=False)
        context = _context(request, template, None, steps, title=title, url=url, focus=focus)
        if is_fragment_request(request):
            return render(request, "configuration/_template_steps.html", context)
        # the template's fields as posted, unbound: a move shows no errors yet
        initial = {f: request.POST.get(f, "") for f in PlaybookTemplateForm.Meta.fields}
        initial["is_active"] = "is_active" in request.POST
        context["form"] = PlaybookTemplateForm(instance=template, initial=initial)
        return render(request, "configuration/template_form.html", context)

    form = PlaybookTemplateForm(request.POST, instance=template)
    steps = _row_forms(rows, members, bound=True)
    steps_error = ""
    form_ok = form.is_valid()
    rows_ok = all([s.is_valid() for s in steps])
    if not steps:
        steps_error = _("A template needs at least one step.")
    elif len(steps) > MAX_TEMPLATE_STEPS:
        steps_error = _("At most %(n)d steps.") % {"n": MAX_TEMPLATE_STEPS}
    if form_ok and rows_ok and not steps_error:
        try:
            saved = playbook_template_save(
                template=form.save(commit=False),
                steps=[s.spec() for s in steps],
                acting_user=request.user,
            )
        except TemplateStepsError as exc:
            for i, errors in exc.errors.items():
                if i is None:
                    steps_error = " ".join(errors.values())
                    continue
                for name, message in errors.items():
                    steps[i].add_error(name if name in steps[i].fields else None, message)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(
                request,
                _(
                    "Template saved. Playbooks opened from now on follow it; "
                    "open ones keep their steps."
                ),
            )
            return redirect("configuration:template", pk=saved.pk)
    context = _context(request, template, form, steps, title=title, url=url)
    context["steps_error"] = steps_error
    context["rows_invalid"] = sum(1 for s in steps if s.errors)
    return render(request, "configuration/template_form.html", context, status=422)


def _context(request, template, form, steps, *, title, url, focus="") -> dict:
    for i, step in enumerate(steps):
        step.position = i + 1
        step.focus = focus.split("-", 1)[1] if focus.startswith(f"{i}-") else ""
        if step.focus == "title":
            step.fields["title"].widget.attrs["autofocus"] = True
    kind = request.POST.get("kind") or template.kind
    outcomes = [Outcome(o).label for o in OUTCOMES_BY_KIND.get(kind, ())] if kind else []
    return {
        "form": form,
        "steps": steps,
        "template": template,
        "title": title,
        "url": url,
        "focus": focus,
        "outcomes": outcomes,
        "open_playbooks": selectors.template_open_playbooks(template=template)
        if template.pk
        else 0,
        "max_steps": MAX_TEMPLATE_STEPS,
    }


def _render(request, template, form, steps, *, title, url) -> HttpResponse:
    return render(
        request,
        "configuration/template_form.html",
        _context(request, template, form, steps, title=title, url=url),
    )
