"""The report pages: the reports home (the manager's home: headline figures and a way into
every report), each report (the filter bar kept in the URL, figures, charts, tables, the
definitions) with the CSV export of any of its tables, and the drill-down behind any number.

Every role may open them; a CSM's reports are limited to their own book (the accounts they
own). One view serves the page or, for htmx, the part of it that changes."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from orgs import spreadsheets
from orgs.models import Role
from orgs.permissions import org_required
from orgs.tenancy import org_context
from orgs.web import is_fragment_request

from . import drill as drills
from .definitions import REPORTS, ParamError
from .definitions.home import headline
from .filters import FILTER_PARAMS, ReportFilterForm, ReportFilters
from .ledger_facts import movements_counted
from .services import report_settings_get
from .tables import DASH, Column, Report, Row, Table, csv_lines, csv_stream, display

logger = logging.getLogger(__name__)

REPORT_ROLES = (Role.ADMIN, Role.MANAGER, Role.ANALYST, Role.CSM)


def _spreadsheet_locale(request: HttpRequest) -> str:
    """`?csv=local`: the export in the organization's spreadsheet conventions (pt-BR: ";" and
    a decimal comma), for a spreadsheet that opens it with a double click."""
    return spreadsheets.requested_locale(request.GET, request.organization.locale)


def spreadsheet_csv_differs(request: HttpRequest) -> bool:
    return spreadsheets.local_differs(request.organization.locale)


def _filters(request: HttpRequest) -> tuple[ReportFilterForm, ReportFilters]:
    form = ReportFilterForm(
        request.GET,
        org=request.organization,
        user=request.user,
        role=request.membership.role,
        today=timezone.localdate(),
    )
    form.is_valid()
    filters = form.filters()
    form.show(filters)
    return form, filters


def _params(request: HttpRequest, spec) -> tuple[dict, dict]:
    """The report's own parameters (a breakdown, the funnel's trigger), and errors by name."""
    values, errors = {}, {}
    for param in spec.params:
        try:
            values[param.name] = param.clean(request.GET.get(param.name))
        except ParamError as exc:
            errors[param.name] = _("%(label)s: %(why)s.") % {
                "label": param.label,
                "why": exc.message,
            }
            values[param.name] = param.clean(None)
    return values, errors


def _spec(name: str):
    spec = REPORTS.get(name)
    if spec is None:
        raise Http404("No such report.")
    return spec


def _build(request, spec, f: ReportFilters, params: dict, *, only: str | None = None) -> Report:
    """The report; for a CSV export (`only` its table) only what that table needs."""
    settings = report_settings_get(org=request.organization)
    with movements_counted():  # the reads checking the ledger share one count
        return spec.build(
            f,
            currency=request.organization.currency,
            goal_pct=settings.reversal_goal_pct,
            settings=settings,
            only=only,
            **params,
        )


# -- presenting tables --------------------------------------------------------------------


def _drill_url(
    name: str, table: str, drill: str, f: ReportFilters, params: dict, keys: dict
) -> str:
    base = reverse("reports:drill", args=[name, table, drill])
    query = {**f.params(), **{k: str(v) for k, v in params.items() if v not in (None, "")}}
    query.update({k: str(v) for k, v in keys.items() if v not in (None, "")})
    return f"{base}?{urlencode(query)}"


def _heat(value) -> int:
    """A retention percentage's band in the cohort heat map (the number is always shown)."""
    if not isinstance(value, int | float):
        return 0
    return (
        5 if value >= 100 else 4 if value >= 90 else 3 if value >= 75 else 2 if value >= 50 else 1
    )


def _cell(value, column: Column, currency: str, url: str | None) -> dict:
    text = display(value, column.kind, currency)
    linked = (
        url if (column.drill and url and value not in (None, 0, 0.0) and text != DASH) else None
    )
    return {
        "text": text,
        "url": linked,
        "numeric": column.numeric,
        "negative": column.numeric and isinstance(value, int | float) and value < 0,
        "label": column.label,
        "heat": _heat(value),
    }


def present_table(
    table: Table, *, name: str, f: ReportFilters, params: dict, currency: str, links: bool = True
) -> dict:
    def cells(row: Row):
        return [
            _cell(
                row.values.get(c.key),
                c,
                currency,
                _drill_url(name, table.key, c.drill, f, params, row.keys)
                if links and c.drill
                else None,
            )
            for c in table.columns
        ]

    return {
        "key": table.key,
        "title": table.title,
        "note": table.note,
        "empty": table.empty,
        "columns": table.columns,
        "rows": [cells(r) for r in table.rows],
        "totals": [cells(r) for r in table.totals],
        "export_url": "?" + urlencode({**f.params(), **_nondefault(params), "export": table.key}),
        "count": len(table.rows),
        "heat": table.key == "cohorts",
    }


def _nondefault(params: dict) -> dict:
    return {k: str(v) for k, v in params.items() if v not in (None, "")}


def present_figures(report: Report, *, name: str, f, params, currency) -> list[dict]:
    out = []
    for fig in report.figures:
        column = Column(fig.key, fig.label, fig.kind, fig.drill)
        url = (
            _drill_url(name, fig.table, fig.drill, f, params, fig.keys)
            if fig.drill and fig.table
            else None
        )
        cell = _cell(fig.value, column, currency, url)
        out.append({**cell, "label": fig.label, "note": fig.note, "tone": fig.tone})
    return out


# -- the pages ------------------------------------------------------------------------------


@org_required(roles=REPORT_ROLES)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The reports home, and a manager's home page: the quarter so far at a glance."""
    form, f = _filters(request)
    settings = report_settings_get(org=request.organization)
    currency = request.organization.currency
    figures = []
    for name, fig in headline(f, goal_pct=settings.reversal_goal_pct):
        column = Column(fig.key, fig.label, fig.kind, fig.drill)
        cell = _cell(fig.value, column, currency, None)
        figures.append(
            {
                **cell,
                "label": fig.label,
                "note": fig.note,
                "tone": fig.tone,
                "url": reverse("reports:report", args=[name]) + "?" + f.querystring(),
            }
        )
    reports = [
        {
            "name": spec.name,
            "title": spec.title(),
            "summary": spec.summary(),
            "url": reverse("reports:report", args=[spec.name]) + "?" + f.querystring(),
        }
        for spec in REPORTS.values()
    ]
    return render(
        request,
        "reports/home.html",
        {"form": form, "filters": f, "figures": figures, "reports": reports},
    )


@org_required(roles=REPORT_ROLES)
@require_GET
@vary_on_headers("HX-Request")
def report(request: HttpRequest, name: str) -> HttpResponse:
    spec = _spec(name)
    form, f = _filters(request)
    params, param_errors = _params(request, spec)
    export = request.GET.get("export")
    if export is not None and export not in spec.tables:
        return _bad_request(
            request,
            _("export=%(value)s: this report has no such table (it has %(names)s).")
            % {"value": export[:40], "names": ", ".join(spec.tables)},
        )
    rep = _build(request, spec, f, params, only=export)
    currency = request.organization.currency
    if export is not None:
        table = rep.table(export)
        if table is None:  # a table the report leaves out for these filters
            raise Http404("That table is not shown for these filters.")
        return _csv_response(
            csv_lines(
                table,
                currency=currency,
                preamble=_preamble(request, rep.title, table.title, f),
                spreadsheet_locale=_spreadsheet_locale(request),
            ),
            filename=f"{name}-{table.key}-{f.date_from}-{f.date_to}.csv",
        )
    context = {
        "report": rep,
        "spec": spec,
        "form": form,
        "filters": f,
        "params": params,
        "param_errors": param_errors,
        "param_fields": _param_fields(spec, params, rep),
        "figures": present_figures(rep, name=name, f=f, params=params, currency=currency),
        "tables": [
            present_table(t, name=name, f=f, params=params, currency=currency) for t in rep.tables
        ],
        "charts": rep.charts,
        "spreadsheet_csv": spreadsheet_csv_differs(request),
        "action": reverse("reports:report", args=[name]),
        "report_tabs": [(s.name, s.title()) for s in REPORTS.values()],
    }
    template = "reports/report.html"
    if is_fragment_request(request):
        template += "#report-page"
    return render(request, template, context)


def _param_fields(spec, params: dict, rep: Report) -> list[dict]:
    fields = []
    for param in spec.params:
        if param.choices:
            choices = [(value, str(label)) for value, label in param.choices]
        elif param.name == "funnel":
            choices = [(str(pk), label) for pk, label in rep.extra.get("funnel_choices", [])]
        else:
            continue
        current = params.get(param.name)
        if param.name == "funnel":
            current = rep.extra.get("funnel_trigger")
        fields.append(
            {
                "name": param.name,
                "id": f"param-{param.name}",
                "label": param.label,
                "choices": choices,
                "current": "" if current is None else str(current),
            }
        )
    return fields


@org_required(roles=REPORT_ROLES)
@require_GET
@vary_on_headers("HX-Request")
def drill(request: HttpRequest, name: str, table: str, column: str) -> HttpResponse:
    """The accounts, playbooks or firings behind one number, paged; ?export=csv streams all."""
    spec = _spec(name)
    if table not in spec.tables:
        raise Http404("No such table in this report.")
    form, f = _filters(request)
    params, _errors = _params(request, spec)
    reserved = {*FILTER_PARAMS, *(p.name for p in spec.params), "page", "export"}
    keys = {k: request.GET.get(k, "")[:240] for k in request.GET if k not in reserved}
    settings = report_settings_get(org=request.organization)
    try:
        result = spec.drill(f, table=table, column=column, keys=keys, settings=settings, **params)
    except drills.DrillError as exc:
        return _bad_request(request, _("This list cannot be shown: %(why)s.") % {"why": exc})
    currency = request.organization.currency
    back = (
        reverse("reports:report", args=[name])
        + "?"
        + urlencode({**f.params(), **_nondefault(params)})
    )
    if request.GET.get("export") == "csv":
        lines = csv_stream(
            drills.columns(result.kind),
            drills.all_rows(result),
            currency=currency,
            preamble=_preamble(request, spec.title(), result.title, f),
            spreadsheet_locale=_spreadsheet_locale(request),
        )
        return _csv_response(
            _in_organization(request, lines),
            filename=f"{name}-{slugify(result.title)[:60]}.csv",
        )
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    listing, page, total = drills.page_table(result, page=page)
    query = {k: v for k, v in request.GET.items() if k != "page"}
    pages = max(1, -(-total // drills.PAGE_SIZE))
    rows = []
    for row in listing.rows:
        cells = []
        for c in listing.columns:
            value = row.values.get(c.key)
            cells.append(
                {
                    "text": ""
                    if value in (None, "") and c.kind in ("text",)
                    else display(value, c.kind, currency),
                    "url": row.keys.get(c.key),
                    "numeric": c.numeric,
                    "label": c.label,
                }
            )
        rows.append(cells)
    context = {
        "spec": spec,
        "filters": f,
        "title": result.title,
        "note": result.note,
        "kind": result.kind,
        "columns": listing.columns,
        "rows": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "previous_url": "?" + urlencode({**query, "page": page - 1}) if page > 1 else None,
        "next_url": "?" + urlencode({**query, "page": page + 1}) if page < pages else None,
        "export_url": "?" + urlencode({**query, "export": "csv"}),
        "spreadsheet_csv": spreadsheet_csv_differs(request),
        "back_url": back,
    }
    template = "reports/drill.html"
    if is_fragment_request(request):
        template += "#drill-list"
    return render(request, template, context)


def _preamble(request, report_title: str, table_title: str, f: ReportFilters) -> list[str]:
    return [
        f"{request.organization.name} · {report_title} · {table_title}",
        " · ".join(f.describe()),
    ]


def _in_organization(request: HttpRequest, lines, *, zone=None):
    """Rows read while the response streams, after the view has returned: in the request's
    organization and time zone, as the view was (`zone` is taken when called)."""
    zone = zone or timezone.get_current_timezone()

    def stream():
        with org_context(request.organization), timezone.override(zone):
            yield from lines

    return stream()


def _csv_response(lines, *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    logger.info("report request refused: %s", message)
    return render(request, "reports/bad_request.html", {"message": message}, status=400)
