"""Portfolio pages: the portfolio list and the account record. Each view renders the full
page, or, for an htmx request, just the template partial it updates."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from orgs import spreadsheets
from orgs.models import Role
from orgs.permissions import can_reassign, org_required
from orgs.web import EVENT_ACCOUNT_REASSIGNED, is_fragment_request, request_today

from . import selectors
from .forms import AccountReassignForm, PortfolioFilterForm
from .models import Account
from .services import PortfolioError, account_reassign

# Sections of the account page that an htmx request may ask for alone (?section=...).
ACCOUNT_SECTIONS = (
    "account-header",
    "contacts",
    "subscriptions",
    "usage",
    "tickets",
    "invoices",
    "surveys",
    "interactions",
)

# Portfolio columns whose header sorts, with the order a first click gives.
_SORTABLE_COLUMNS = {"name": "name", "mrr": "-mrr", "renewal_date": "renewal_date"}


def _render(
    request: HttpRequest, template: str, context: dict, *, status: int = 200
) -> HttpResponse:
    """Render (the middleware has activated the organization's time zone)."""
    return render(request, template, context, status=status)


def _portfolio_url(params: dict[str, str]) -> str:
    url = reverse("accounts:portfolio")
    return f"{url}?{urlencode(params)}" if params else url


# -- Portfolio ----------------------------------------------------------------------------


def _pagination_links(form: PortfolioFilterForm, page_obj) -> dict:
    """Page links that keep the filters (page 1 has no `page` parameter)."""

    def url(number: int) -> str:
        return _portfolio_url(form.query_params(page=number if number > 1 else None))

    elided = page_obj.paginator.get_elided_page_range(page_obj.number, on_each_side=1, on_ends=1)
    return {
        "page_links": [
            {"number": n, "url": url(n) if isinstance(n, int) else None} for n in elided
        ],
        "previous_url": url(page_obj.previous_page_number()) if page_obj.has_previous() else None,
        "next_url": url(page_obj.next_page_number()) if page_obj.has_next() else None,
    }


def _sort_links(form: PortfolioFilterForm, sort: str) -> dict[str, dict]:
    """Per sortable column: the link a header click follows, and its aria-sort state."""
    links = {}
    for column, first_sort in _SORTABLE_COLUMNS.items():
        if sort == column:
            state, next_sort = "ascending", f"-{column}"
        elif sort == f"-{column}":
            state, next_sort = "descending", column
        else:
            state, next_sort = None, first_sort
        url = _portfolio_url(form.query_params(sort=next_sort, page=None))
        links[column] = {"url": url, "state": state}
    return links


@org_required
@require_GET
@vary_on_headers("HX-Request")
def portfolio(request: HttpRequest) -> HttpResponse:
    form = PortfolioFilterForm(
        request.GET, org=request.organization, user=request.user, today=request_today(request)
    )
    form.is_valid()  # errors are shown beside their fields; the valid filters still apply
    filters = form.filters()
    # One COUNT for the whole result, then one query for the page's rows.
    paginator = Paginator(selectors.portfolio_list(filters=filters), selectors.PORTFOLIO_PAGE_SIZE)
    page_obj = paginator.get_page(form.cleaned_data.get("page"))
    context = {
        "form": form,
        "filters": filters,
        "page_obj": page_obj,
        **_pagination_links(form, page_obj),
        "sort_links": _sort_links(form, filters.sort),
        "show_all_url": _portfolio_url(form.query_params(owner=None, page=None)),
        "clear_url": reverse("accounts:portfolio"),
        "is_mine": form.is_mine,
        # The health issue turns this on and annotates score, colour and 30-day change.
        "show_health": True,
        "spreadsheet_csv": spreadsheets.local_differs(request.organization.locale),
    }
    template = "accounts/portfolio.html"
    if is_fragment_request(request):
        # The filter form swaps only the results (the input keeps focus while typing);
        # links in the results swap the form too, as they may change its fields.
        if request.htmx.target == "portfolio-body":
            template += "#portfolio-body"
        else:
            template += "#portfolio-results"
            context["results_only"] = True
    return _render(request, template, context)


# -- Account page -------------------------------------------------------------------------


def _account_or_404(selector, pk: int) -> Account:
    try:
        return selector(pk=pk)
    except Account.DoesNotExist as exc:
        raise Http404("No such account in your organization.") from exc


def _header_context(request: HttpRequest, account: Account, **extra) -> dict:
    """What the account header partial needs (issue pages that show the header reuse it)."""
    context = {
        "account": account,
        "today": request_today(request),
        "can_reassign": can_reassign(request),
    }
    if context["can_reassign"]:
        context["reassign_form"] = extra.pop("reassign_form", None) or AccountReassignForm(
            org=request.organization, initial={"owner": account.owner_id}
        )
    context.update(extra)
    return context


def _account_page_context(request: HttpRequest, account: Account, **extra) -> dict:
    context = _header_context(request, account, **extra)
    today = context["today"]
    context.update(
        {
            "invoice_rows": selectors.invoice_rows(invoices=account.recent_invoices, today=today),
            "latest_surveys": selectors.account_latest_surveys(account=account),
            "usage": selectors.account_usage(account=account, today=today),
            # The health issue turns this on and fills the health summary in the header.
            "show_health": True,
        }
    )
    return context


@org_required
@require_GET
@vary_on_headers("HX-Request")
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_or_404(selectors.account_detail, pk)
    template = "accounts/account_detail.html"
    section = request.GET.get("section")
    if is_fragment_request(request) and section in ACCOUNT_SECTIONS:
        template += f"#{section}"
    return _render(request, template, _account_page_context(request, account))


@org_required(roles=(Role.ADMIN, Role.MANAGER))
@require_POST
def account_reassign_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Managers and admins give the account to another member; the header is returned to
    htmx (with an `accountReassigned` event), or the page is reloaded with a message."""
    account = _account_or_404(selectors.account_get, pk)
    form = AccountReassignForm(request.POST, org=request.organization)
    if form.is_valid():
        try:
            account_reassign(
                account=account, owner=form.cleaned_data["owner"], acting_user=request.user
            )
        except PortfolioError as exc:
            form.add_error("owner" if exc.field == "owner" else None, str(exc).split(": ", 1)[-1])

    if form.errors:
        if is_fragment_request(request):
            context = _header_context(request, account, reassign_form=form)
            response = _render(
                request, "accounts/account_detail.html#reassign-form", context, status=422
            )
            return reswap(retarget(response, "#reassign-form"), "outerHTML")
        account = _account_or_404(selectors.account_detail, pk)
        context = _account_page_context(request, account, reassign_form=form)
        return _render(request, "accounts/account_detail.html", context, status=422)

    owner_name = str(account.owner)
    if is_fragment_request(request):
        context = _header_context(request, account, reassigned_to=owner_name)
        response = _render(request, "accounts/account_detail.html#account-header", context)
        return trigger_client_event(
            response, EVENT_ACCOUNT_REASSIGNED, {"account": account.pk, "owner": account.owner_id}
        )
    messages.success(request, f"{account.name} now belongs to {owner_name}.")
    return redirect("accounts:detail", pk=account.pk)
