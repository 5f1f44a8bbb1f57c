"""The data pages: API tokens, CSV imports (upload, map, check, import, with progress),
exports (the portfolio as filtered, playbooks, firings, all data), the erasure of a contact's
personal data, webhooks with their deliveries, and the audit. One view serves a page and,
for htmx, its fragment. Also the API docs (Swagger UI from our own static files)."""

from __future__ import annotations

import logging

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.forms import PortfolioFilterForm
from accounts.models import Contact
from accounts.selectors import portfolio_list
from csplatform.celery import enqueue_on_commit
from orgs import spreadsheets
from orgs.models import Role
from orgs.permissions import org_required
from orgs.tenancy import org_context
from orgs.web import is_fragment_request, request_today

from . import exports, imports, selectors, services
from . import records as rec
from .forms import (
    ContactFindForm,
    EraseForm,
    FiringExportForm,
    ImportMappingForm,
    ImportUploadForm,
    PlaybookExportForm,
    TokenCreateForm,
    WebhookForm,
)
from .models import ApiToken, ImportJob, ImportKind, ImportState, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

ADMIN = (Role.ADMIN,)
IMPORTERS = (Role.ADMIN, Role.ANALYST)
EXPORTERS = (Role.ADMIN, Role.MANAGER, Role.ANALYST)


def api_not_found(request, *args, **kwargs):
    return JsonResponse(
        {
            "errors": [
                {
                    "field": None,
                    "index": None,
                    "code": "not_found",
                    "message": _("No such endpoint: %(path)s") % {"path": request.path},
                }
            ]
        },
        status=404,
    )


# Swagger UI sets one fixed inline style when it renders; the docs page (and no other)
# allows exactly that style by its hash, and nothing inline otherwise.
SWAGGER_STYLE_HASH = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"


@require_GET
@csp_update({"style-src": ["'unsafe-hashes'", SWAGGER_STYLE_HASH]})
def api_docs(request):
    """Swagger UI over the schema, from our own static files; open to anyone (the schema
    describes the API, it holds no data)."""
    return render(request, "api/api_docs.html", {"schema_url": reverse("api:schema")})


@org_required
@require_GET
def data_home(request):
    role = request.membership.role
    return render(
        request,
        "api/data_home.html",
        {
            "can_import": role in IMPORTERS,
            "can_export": role in EXPORTERS,
            "is_admin": role == Role.ADMIN,
            "imports": selectors.imports_recent(limit=5) if role in IMPORTERS else [],
        },
    )


# -- tokens --------------------------------------------------------------------------------------


@org_required(roles=ADMIN)
@require_http_methods(["GET", "POST"])
def tokens(request):
    today = request_today(request)
    new_token = None
    form = TokenCreateForm(request.POST or None, today=today)
    if request.method == "POST" and form.is_valid():
        made = services.token_create(
            org=request.organization,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            created_by=request.user,
            expires_at=form.expires_at(),
        )
        new_token = made.secret
        form = TokenCreateForm(today=today)
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": selectors.tokens_list(),
        "now": timezone.now(),
        "api_base": request.build_absolute_uri(reverse("api:accounts")).rsplit("/accounts/", 1)[0],
        "docs_url": reverse("api:docs"),
        "schema_url": reverse("api:schema"),
    }
    status = 422 if request.method == "POST" and form.errors else 200
    response = render(request, "api/tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the new token is on this page once
    return response


@org_required(roles=ADMIN)
@require_POST
def token_revoke(request, pk: int):
    token = ApiToken.objects.filter(pk=pk).first()
    if token is None:
        raise Http404
    services.token_revoke(token=token, acting_user=request.user)
    messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("data:tokens")


# -- imports -------------------------------------------------------------------------------------


@org_required(roles=IMPORTERS)
@require_http_methods(["GET", "POST"])
def import_list(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.import_job_create(
                org=request.organization,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                user=request.user,
            )
        except imports.ImportError_ as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("data:import", pk=job.pk)
    context = {"form": form, "jobs": selectors.imports_recent(), "kinds": _kind_help()}
    status = 422 if request.method == "POST" else 200
    return render(request, "api/imports.html", context, status=status)


def _kind_help() -> list[dict]:
    """What each kind of file must and may hold (the fields a column can feed)."""
    return [
        {
            "name": value,
            "label": label,
            "required": rec.KINDS[value].required,
            "optional": [c.name for c in rec.KINDS[value].columns if not c.required],
        }
        for value, label in ImportKind.choices
    ]


def _job_or_404(pk: int) -> ImportJob:
    job = ImportJob.objects.filter(pk=pk).first()
    if job is None:
        raise Http404(_("No such import in your organization."))
    return job


def _job_context(request, job: ImportJob, form=None) -> dict:
    form = form or ImportMappingForm(job=job)
    return {
        "job": job,
        "form": form,
        "kind": rec.KINDS[job.kind],
        "errors_shown": job.errors[:200],
        "progress": imports.job_progress(job),
        "sample": _sample(job),
    }


def _sample(job: ImportJob) -> list[list[str]]:
    if job.state not in (ImportState.UPLOADED, ImportState.INVALID):
        return []
    try:
        rows = imports.read_rows(imports.job_opener(job), imports.job_format(job))
        out = []
        for i, row in enumerate(rows):
            if i > 5:
                break
            out.append(row)
        return out
    except imports.ImportError_:
        return []


@org_required(roles=IMPORTERS)
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def import_detail(request, pk: int):
    """The job's page: format and mapping (then "Check every row"), its errors by row and
    column, the import button once every row is valid, and the report."""
    job = _job_or_404(pk)
    if request.method == "POST":
        if job.is_running:
            return redirect("data:import", pk=job.pk)
        form = ImportMappingForm(request.POST, job=job)
        if form.is_valid():
            try:
                imports.import_job_configure(
                    job=job,
                    fmt=form.format(),
                    mapping=form.mapping(),
                    save_as=form.cleaned_data["save_as"],
                )
            except imports.ImportError_ as exc:
                form.add_error(None, str(exc))
            else:
                _start(job, write_rows=False)
                return redirect("data:import", pk=job.pk)
        return render(
            request, "api/import_detail.html", _job_context(request, job, form), status=422
        )
    template = "api/import_detail.html"
    if is_fragment_request(request) and request.GET.get("section") == "status":
        template += "#import-status"
    return render(request, template, _job_context(request, job))


def _start(job: ImportJob, *, write_rows: bool) -> None:
    """Small files are done in the request; large ones go to a worker with a progress bar."""
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportState.IMPORTING if write_rows else ImportState.VALIDATING, rows_done=0
    )
    if job.rows_total <= settings.IMPORT_INLINE_ROWS:
        imports.import_job_run(job_id=job.pk, write_rows=write_rows)
    else:
        enqueue_on_commit("api.import_run", job.pk, write_rows)


@org_required(roles=IMPORTERS)
@require_POST
def import_run(request, pk: int):
    job = _job_or_404(pk)
    if job.state != ImportState.VALID:
        messages.error(request, _("Check every row first; the import starts once none is wrong."))
        return redirect("data:import", pk=job.pk)
    _start(job, write_rows=True)
    return redirect("data:import", pk=job.pk)


@org_required(roles=IMPORTERS)
@require_GET
def import_rejected(request, pk: int):
    job = _job_or_404(pk)
    lines = imports.rejected_rows_csv(
        opener=imports.job_opener(job), fmt=imports.job_format(job), errors=job.errors
    )
    response = StreamingHttpResponse(
        _streamed(request, lines), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="rejected-{job.pk}.csv"'
    return response


# -- exports -------------------------------------------------------------------------------------


def _streamed(request, lines):
    """The rows are read while the response streams, after the view (and the middleware's
    tenancy context) has returned: they are read in the request's organization again."""
    org_id = request.organization.pk
    language = translation.get_language()

    def scoped():
        with org_context(org_id), translation.override(language):
            yield from lines

    return scoped()


def _spreadsheet_locale(request) -> str:
    """`?csv=local`, as on the reports' exports: the organization's spreadsheet conventions
    (pt-BR: ";" and a decimal comma)."""
    return spreadsheets.requested_locale(request.GET, request.organization.locale)


def _csv_response(request, lines, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _streamed(request, lines), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


@org_required(roles=EXPORTERS)
@require_GET
def exports_page(request):
    role = request.membership.role
    return render(
        request,
        "api/exports.html",
        {
            "playbook_form": PlaybookExportForm(),
            "firing_form": FiringExportForm(),
            "is_admin": role == Role.ADMIN,
            "find_form": ContactFindForm(),
            "portfolio_url": reverse("accounts:portfolio"),
            "spreadsheet_csv": spreadsheets.local_differs(request.organization.locale),
        },
    )


@org_required
@require_GET
def export_portfolio(request):
    """The portfolio with the filters of its page (the same form and selector), every row."""
    form = PortfolioFilterForm(
        request.GET,
        org=request.organization,
        user=request.user,
        today=request_today(request),
    )
    form.is_valid()
    return _csv_response(
        request,
        exports.portfolio_csv(
            portfolio_list(filters=form.filters()),
            spreadsheet_locale=_spreadsheet_locale(request),
        ),
        "portfolio",
    )


@org_required(roles=EXPORTERS)
@require_GET
def export_playbooks(request):
    form = PlaybookExportForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_field_errors(form), status=400, content_type="text/plain")
    d = form.cleaned_data
    qs = selectors.playbooks_qs().prefetch_related(None).order_by("-opened_on", "-pk")
    for name, lookup in (
        ("status", "status"),
        ("kind", "kind"),
        ("owner", "owner"),
        ("opened_from", "opened_on__gte"),
        ("opened_to", "opened_on__lte"),
    ):
        if d.get(name):
            qs = qs.filter(**{lookup: d[name]})
    return _csv_response(
        request,
        exports.playbooks_csv(
            qs, spreadsheet_locale=_spreadsheet_locale(request), locale=request.organization.locale
        ),
        "playbooks",
    )


@org_required(roles=EXPORTERS)
@require_GET
def export_firings(request):
    form = FiringExportForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_field_errors(form), status=400, content_type="text/plain")
    d = form.cleaned_data
    qs = selectors.firings_qs().order_by("-fired_on", "-pk")
    for name, lookup in (
        ("trigger", "trigger"),
        ("fired_from", "fired_on__gte"),
        ("fired_to", "fired_on__lte"),
    ):
        if d.get(name):
            qs = qs.filter(**{lookup: d[name]})
    return _csv_response(
        request,
        exports.firings_csv(
            qs, spreadsheet_locale=_spreadsheet_locale(request), locale=request.organization.locale
        ),
        "firings",
    )


def _field_errors(form) -> str:
    return "\n".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())


@org_required(roles=ADMIN)
@require_POST
def export_all(request):
    """All of the organization's data, one CSV per table in a zip (a data-portability
    answer), with an audit line."""
    services.audit_record(
        org_id=request.organization.pk,
        actor=request.user,
        action="data_exported",
        subject=_("all data"),
    )
    response = StreamingHttpResponse(
        _streamed(request, exports.all_data_zip()), content_type="application/zip"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="{request.organization.slug}-data-{stamp}.zip"'
    )
    return response


@org_required(roles=ADMIN)
@require_http_methods(["GET", "POST"])
def contact_erase(request):
    """Find the person by email, then erase their personal data with the reason."""
    find = ContactFindForm(request.GET or None)
    matches = []
    if find.is_valid():
        matches = list(
            Contact.objects.select_related("account")
            .filter(email__iexact=find.cleaned_data["email"])
            .order_by("account__name", "pk")
        )
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        contact = form.cleaned_data["contact"]
        services.contact_erase(
            contact=contact, acting_user=request.user, reason=form.cleaned_data["reason"]
        )
        messages.success(
            request, _("The personal data of contact %(id)s was erased.") % {"id": contact.pk}
        )
        return redirect("data:audit")
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "api/contact_erase.html",
        {"find": find, "matches": matches, "form": form},
        status=status,
    )


@org_required(roles=ADMIN)
@require_GET
def audit(request):
    return render(request, "api/audit.html", {"entries": selectors.audit_recent(limit=200)})


# -- webhooks ------------------------------------------------------------------------------------


def _webhook_or_404(pk: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=pk).first()
    if endpoint is None:
        raise Http404(_("No such webhook in your organization."))
    return endpoint


@org_required(roles=ADMIN)
@require_http_methods(["GET", "POST"])
def webhook_list(request):
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.webhook_create(
                org=request.organization,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                created_by=request.user,
            )
        except (services.DataError, ValueError) as exc:
            form.add_error(getattr(exc, "field", "url"), getattr(exc, "message", str(exc)))
        else:
            messages.success(request, _("Webhook added. Its signing secret is below."))
            return redirect("data:webhook", pk=endpoint.pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "api/webhooks.html",
        {"form": form, "endpoints": selectors.webhooks_list(), "events": WebhookEvent.choices},
        status=status,
    )


@org_required(roles=ADMIN)
@require_http_methods(["GET", "POST"])
def webhook_detail(request, pk: int):
    endpoint = _webhook_or_404(pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "is_active": endpoint.is_active,
    }
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_update(
                endpoint=endpoint,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                is_active=form.cleaned_data["is_active"],
                acting_user=request.user,
            )
        except (services.DataError, ValueError) as exc:
            form.add_error(getattr(exc, "field", "url"), getattr(exc, "message", str(exc)))
        else:
            messages.success(request, _("Webhook saved."))
            return redirect("data:webhook", pk=endpoint.pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "api/webhook_detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "deliveries": selectors.deliveries_of(endpoint=endpoint),
        },
        status=status,
    )


@org_required(roles=ADMIN)
@require_POST
def webhook_ping(request, pk: int):
    """Send a `ping` delivery now, to try the endpoint and the signature check."""
    from .webhooks import deliveries_create

    endpoint = _webhook_or_404(pk)
    if not endpoint.is_active:
        messages.error(request, _("Switch the webhook on first."))
        return redirect("data:webhook", pk=pk)
    deliveries_create(
        org_id=endpoint.organization_id,
        event=endpoint.events[0],
        payloads=[{"ping": True, "message": _("A test delivery from csplatform.")}],
        endpoint_ids=[endpoint.pk],
    )
    messages.info(request, _("A test delivery was queued; reload to see how it went."))
    return redirect("data:webhook", pk=pk)


@org_required(roles=ADMIN)
@require_POST
def webhook_delete(request, pk: int):
    endpoint = _webhook_or_404(pk)
    services.webhook_delete(endpoint=endpoint, acting_user=request.user)
    messages.success(request, _("Webhook deleted."))
    return redirect("data:webhooks")
