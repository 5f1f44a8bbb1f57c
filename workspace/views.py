"""The CSM workspace: My Work (alerts to decide, open steps by kind and due date), alert
decisions, the team board, notifications, the retention forecast, and the account page's
work panel and timeline. Pages that combine layers (accounts, health, playbooks, triggers)
live here, at the top, so none of those apps imports another above it.

Each view renders its page or, for htmx, the partial it updates; mutations answer with the
updated fragment and HX-Trigger events (orgs.web names them) so counts refresh."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from accounts.models import Account
from accounts.selectors import account_contacts_qs, account_get
from accounts.services import PortfolioError
from orgs.models import WORKER_ROLES, Role, User
from orgs.permissions import can_reassign, can_work, org_required
from orgs.selectors import org_csms
from orgs.web import (
    EVENT_CONTACT,
    EVENT_NOTIFICATIONS,
    EVENT_STEPS,
    EVENT_TIMELINE,
    EVENT_WORK,
    is_fragment_request,
    request_today,
)
from playbooks import selectors as playbook_selectors
from playbooks.models import PlaybookKind, PlaybookStatus
from playbooks.services import (
    PlaybookError,
    notifications_mark_read,
    playbook_start,
)
from triggers import selectors as trigger_selectors

from . import selectors
from .forms import AccountContactForm, AccountPlaybookStartForm
from .services import account_contact_log

logger = logging.getLogger(__name__)

MY_WORK_SECTIONS = ("work-counts", "work-alerts", "work-outcomes", "work-steps", "work-kinds")


# -- My Work ------------------------------------------------------------------------------


def _team(request: HttpRequest) -> list[User]:
    return list(
        org_csms(org=request.organization).only("id", "username", "first_name", "last_name")
    )


def _subject(request: HttpRequest) -> tuple[User, list[User] | None]:
    """Whose work the page shows: the user's own, or for managers and admins any member of
    the team named by ?user=<id> (404 for someone outside the organization)."""
    user_id = request.GET.get("user", "")
    if not can_reassign(request):
        if user_id and user_id != str(request.user.pk):
            raise PermissionDenied("Only managers see another person's work.")
        return request.user, None
    team = _team(request)
    if not user_id or user_id == str(request.user.pk):
        return request.user, team
    subject = next((m for m in team if str(m.pk) == user_id), None)
    if subject is None:
        raise Http404("No such member of your team.")
    return subject, team


def _kind(request: HttpRequest) -> str:
    kind = request.GET.get("kind", "")
    return kind if kind in PlaybookKind.values else ""


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


class _WorkUrls:
    """Links of My Work that keep whose work it is (and the kind), with overrides."""

    def __init__(self, subject: User, me: User, kind: str):
        self.base = reverse("workspace:my_work")
        self.params = {}
        if subject.pk != me.pk:
            self.params["user"] = str(subject.pk)
        if kind:
            self.params["kind"] = kind

    def __call__(self, **overrides) -> str:
        params = {**self.params, **{k: str(v) for k, v in overrides.items() if v not in (None, "")}}
        for key, value in overrides.items():
            if value in (None, ""):
                params.pop(key, None)
        return f"{self.base}?{urlencode(params)}" if params else self.base


def _steps_page(subject: User, kind: str, page: int, total: int, today: dt.date) -> dict:
    size = playbook_selectors.WORK_STEPS_PAGE_SIZE
    pages = max(1, -(-total // size))
    page = min(page, pages)
    offset = (page - 1) * size
    steps = playbook_selectors.work_steps(user=subject, kind=kind, today=today)
    steps = list(steps[offset : offset + size])
    return {"steps": steps, "page": page, "pages": pages, "has_next": page < pages}


def _with_section(url: str, section: str) -> str:
    """The URL asking for one section (the caller appends the section's name)."""
    return url + ("&" if "?" in url else "?") + "section=" + section


def _kind_tabs(counts, kind: str, urls: _WorkUrls) -> list[dict]:
    """The kind filter: All, then each kind with open steps (retention first)."""
    tabs = [
        {
            "label": gettext("All"),
            "kind": "",
            "open": counts.open,
            "overdue": counts.overdue,
            "url": urls(kind=None, page=None),
            "current": not kind,
        }
    ]
    for kc in counts.kinds:
        tabs.append(
            {
                "label": kc.label,
                "kind": kc.kind,
                "open": kc.open,
                "overdue": kc.overdue,
                "url": urls(kind=kc.kind, page=None),
                "current": kc.kind == kind,
            }
        )
    if kind and not counts.of(kind):
        label = dict(PlaybookKind.choices)[kind]
        tabs.append(
            {"label": label, "kind": kind, "open": 0, "overdue": 0, "url": urls(), "current": True}
        )
    for tab in tabs:
        tab["fragment_url"] = _with_section(tab["url"], "work-steps")
    return tabs


@org_required
@require_GET
@vary_on_headers("HX-Request")
def my_work(request: HttpRequest) -> HttpResponse:
    subject, team = _subject(request)
    kind = _kind(request)
    today = request_today(request)
    section = request.GET.get("section") if is_fragment_request(request) else None
    if section not in MY_WORK_SECTIONS:
        section = None
    urls = _WorkUrls(subject, request.user, kind)
    context = {
        "subject": subject,
        "is_me": subject.pk == request.user.pk,
        "team": team,
        "kind": kind,
        "today": today,
        "tomorrow": today + dt.timedelta(days=1),
        "can_work": can_work(request),
        "where": "mywork",
    }
    # Each section reads only what it shows, so a refresh of the counts is two queries.
    if section in (None, "work-counts", "work-steps", "work-kinds"):
        counts = playbook_selectors.work_counts(user=subject, today=today)
        context["counts"] = counts
        total = counts.of(kind).open if kind and counts.of(kind) else (0 if kind else counts.open)
        context["kind_total"] = total
    if section in (None, "work-alerts"):
        context["alerts"], context["alerts_total"] = trigger_selectors.pending_alerts(user=subject)
    elif section == "work-counts":
        context["alerts_total"] = trigger_selectors.pending_alerts_count(user=subject)
    if section in (None, "work-outcomes"):
        context["outcome_due"] = playbook_selectors.outcome_due(user=subject)
    if section in (None, "work-steps"):
        page = _steps_page(subject, kind, _page_number(request), context["kind_total"], today)
        context.update(page)
        for name, number, exists in (
            ("previous", page["page"] - 1, page["page"] > 1),
            ("next", page["page"] + 1, page["has_next"]),
        ):
            url = urls(page=number if number > 1 else None) if exists else None
            context[f"{name}_url"] = url
            context[f"{name}_fragment_url"] = _with_section(url, "work-steps") if url else None
    if "counts" in context:
        context["kind_tabs"] = _kind_tabs(context["counts"], kind, urls)
    page_param = context.get("page") if context.get("page", 1) > 1 else None
    context["refresh_url"] = _with_section(urls(page=page_param), "")
    template = "workspace/my_work.html"
    if section:
        template += f"#{section}"
        context["oob"] = section in ("work-counts", "work-kinds")
    return render(request, template, context)


# -- Team board ---------------------------------------------------------------------------


@org_required(roles=(Role.ADMIN, Role.MANAGER))
@require_GET
def team_board(request: HttpRequest) -> HttpResponse:
    """Per CSM: open, overdue and completed-this-month steps (one aggregate query), the
    alerts waiting for them, and a link to their My Work."""
    today = request_today(request)
    month_start = timezone.make_aware(dt.datetime.combine(today.replace(day=1), dt.time(0)))
    team = _team(request)
    rows = playbook_selectors.team_board(members=team, today=today, month_start=month_start)
    alerts = trigger_selectors.pending_alerts_by_owner(owner_ids=[m.pk for m in team])
    for row in rows:
        row.alerts = alerts.get(row.user.pk, 0)
    totals = {
        "open": sum(r.open for r in rows),
        "overdue": sum(r.overdue for r in rows),
        "completed": sum(r.completed_this_month for r in rows),
        "alerts": sum(r.alerts for r in rows),
    }
    return render(
        request,
        "workspace/team_board.html",
        {"rows": rows, "totals": totals, "today": today, "month_start": month_start},
    )


# -- Notifications ------------------------------------------------------------------------


@org_required
@require_GET
@vary_on_headers("HX-Request")
def notifications(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(
        playbook_selectors.notifications_of(user=request.user),
        playbook_selectors.NOTIFICATIONS_PAGE_SIZE,
    )
    page_obj = paginator.get_page(request.GET.get("page"))
    context = {"page_obj": page_obj, "unread": any(n.read_at is None for n in page_obj)}
    template = "workspace/notifications.html"
    if is_fragment_request(request) and request.GET.get("section") == "notification-list":
        template += "#notification-list"
    return render(request, template, context)


@org_required
@require_GET
def notification_badge(request: HttpRequest) -> HttpResponse:
    """The unread count in the navigation (loaded by htmx, so pages pay no query for it)."""
    count = playbook_selectors.notifications_unread_count(user=request.user)
    return render(request, "workspace/_notification_badge.html", {"count": count})


@org_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    if not playbook_selectors.notification_is_users(user=request.user, pk=pk):
        raise Http404("No such notification of yours.")
    notifications_mark_read(user=request.user, ids=[pk])
    return _notifications_changed(request)


@org_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(user=request.user)
    return _notifications_changed(request)


def _notifications_changed(request: HttpRequest) -> HttpResponse:
    if not is_fragment_request(request):
        return redirect("workspace:notifications")
    paginator = Paginator(
        playbook_selectors.notifications_of(user=request.user),
        playbook_selectors.NOTIFICATIONS_PAGE_SIZE,
    )
    page_obj = paginator.get_page(request.POST.get("page"))
    context = {"page_obj": page_obj, "unread": any(n.read_at is None for n in page_obj)}
    response = render(request, "workspace/notifications.html#notification-list", context)
    return trigger_client_event(response, EVENT_NOTIFICATIONS, {})


# -- Forecast -----------------------------------------------------------------------------


@org_required(roles=(Role.ADMIN, Role.MANAGER, Role.ANALYST))
@require_GET
def forecast(request: HttpRequest) -> HttpResponse:
    """The monthly retention forecast: expected retention actions per persona and product
    (the latest month, or ?month=YYYY-MM-DD among the stored ones)."""
    months = trigger_selectors.forecast_months()
    month = months[0] if months else None
    wanted = request.GET.get("month", "")
    for m in months:
        if m.isoformat() == wanted:
            month = m
    rows = trigger_selectors.forecast_rows(month=month) if month else []
    totals = {
        "alerts": sum(r.alerts_raised for r in rows),
        "actions": sum(r.expected_actions for r in rows),
        "accounts": sum(r.accounts_at_risk for r in rows),
        "mrr": sum((r.mrr_at_risk for r in rows), start=0),
    }
    return render(
        request,
        "workspace/forecast.html",
        {
            "months": months,
            "month": month,
            "rows": rows,
            "totals": totals,
            "max_actions": max([r.expected_actions for r in rows] or [1]) or 1,
        },
    )


# -- The account page's work panel and timeline -------------------------------------------


def _account_or_404(pk: int) -> Account:
    try:
        return account_get(pk=pk)
    except Account.DoesNotExist as exc:
        raise Http404("No such account in your organization.") from exc


def _panel_context(request: HttpRequest, account: Account, **extra) -> dict:
    today = request_today(request)
    playbooks = playbook_selectors.account_playbooks(account_id=account.pk, today=today)
    open_playbooks = [p for p in playbooks if p.status == PlaybookStatus.OPEN]
    context = {
        "account": account,
        "today": today,
        "open_playbooks": open_playbooks,
        "closed_playbooks": [p for p in playbooks if p.status != PlaybookStatus.OPEN],
        "can_work": can_work(request),
    }
    if context["can_work"]:
        context["start_form"] = extra.pop("start_form", None) or AccountPlaybookStartForm(
            account=account, id_prefix="start"
        )
        contacts = list(account_contacts_qs().filter(account=account).only("id", "name", "role"))
        context["contact_form"] = extra.pop("contact_form", None) or AccountContactForm(
            account_id=account.pk,
            contacts=contacts,
            open_playbooks=open_playbooks,
            id_prefix="account-contact",
            initial={"playbook": open_playbooks[0].pk if len(open_playbooks) == 1 else None},
        )
    context.update(extra)
    return context


@org_required
@require_GET
def account_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """Open playbooks, start one from a template, log a contact: loaded into the account
    page by htmx; a plain request gets it as a page of its own."""
    account = _account_or_404(pk)
    context = _panel_context(request, account)
    if is_fragment_request(request):
        return render(request, "workspace/_account_panel.html", context)
    return render(request, "workspace/account_panel.html", context)


@org_required(roles=WORKER_ROLES)
@require_POST
def account_start_playbook(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_or_404(pk)
    form = AccountPlaybookStartForm(request.POST, account=account, id_prefix="start")
    playbook = None
    if form.is_valid():
        try:
            playbook = playbook_start(
                account=account,
                template=form.cleaned_data["template"],
                acting_user=request.user,
                today=request_today(request),
                confirm_churned=form.cleaned_data.get("confirm_churned", False),
            )
        except PlaybookError as exc:
            if exc.field == "confirm_churned" and exc.field not in form.fields:
                # churned since the page was loaded: ask now
                form = AccountPlaybookStartForm(
                    request.POST, account=_account_or_404(pk), id_prefix="start"
                )
                form.is_valid()
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message[:1].upper() + exc.message[1:])
    if playbook is None:
        if not is_fragment_request(request):
            account = _account_or_404(pk)
            return render(
                request,
                "workspace/account_panel.html",
                _panel_context(request, account, start_form=form),
                status=422,
            )
        return render(
            request,
            "workspace/_account_panel.html",
            _panel_context(request, account, start_form=form),
            status=422,
        )
    if not is_fragment_request(request):
        messages.success(request, f"Playbook “{playbook.title}” started.")
        return redirect("playbooks:detail", pk=playbook.pk)
    context = _panel_context(request, account, started=playbook)
    response = render(request, "workspace/_account_panel.html", context)
    trigger_client_event(response, EVENT_WORK, {"playbook": playbook.pk})
    trigger_client_event(response, EVENT_STEPS, {"playbook": playbook.pk})
    trigger_client_event(response, EVENT_NOTIFICATIONS, {})
    return trigger_client_event(response, EVENT_TIMELINE, {"account": account.pk})


@org_required(roles=WORKER_ROLES)
@require_POST
def account_log_contact(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_or_404(pk)
    form = AccountContactForm(request.POST, account_id=account.pk, id_prefix="account-contact")
    interaction = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            interaction = account_contact_log(
                account=account,
                user=request.user,
                kind=data["kind"],
                summary=data["summary"],
                contact=data["contact"],
                notes=data["notes"],
                playbook=data["playbook"],
            )
        except PortfolioError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    template = "workspace/_account_panel.html"
    if not is_fragment_request(request):
        template = "workspace/account_panel.html"
    if interaction is None:
        return render(
            request, template, _panel_context(request, account, contact_form=form), status=422
        )
    logged = f"{interaction.get_kind_display()} logged: {interaction.summary}"
    if not is_fragment_request(request):
        messages.success(request, logged)
        return redirect(reverse("accounts:detail", args=[pk]) + "#account-work")
    response = render(request, template, _panel_context(request, account, logged=logged))
    trigger_client_event(response, EVENT_CONTACT, {"account": pk})
    return trigger_client_event(response, EVENT_TIMELINE, {"account": pk})


@org_required
@require_GET
@vary_on_headers("HX-Request")
def account_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """The account's timeline, newest first. htmx asks for the first page (the section) or,
    with ?before=<cursor>, the next items, loaded as the last one scrolls into view."""
    account = _account_or_404(pk)
    try:
        cursor = selectors.Cursor.decode(request.GET.get("before"))
    except selectors.CursorError as exc:
        return _timeline_bad_cursor(request, account, str(exc))
    page = selectors.account_timeline(
        account=account,
        today=request_today(request),
        tz=timezone.get_current_timezone(),
        cursor=cursor,
    )
    base = reverse("workspace:account_timeline", args=[pk])
    context = {
        "account": account,
        "page": page,
        "more_url": f"{base}?before={page.next_cursor}" if page.next_cursor else None,
        "is_continuation": cursor is not None,
    }
    if is_fragment_request(request):
        template = "workspace/_timeline_items.html" if cursor else "workspace/_timeline.html"
        return render(request, template, context)
    return render(request, "workspace/account_timeline.html", context)


def _timeline_bad_cursor(request: HttpRequest, account: Account, reason: str) -> HttpResponse:
    """A `before=` the timeline did not hand out (an edited or truncated link): a 400 that
    says so and links back to the newest events, as a page or as the item htmx asked for."""
    value = request.GET.get("before", "")
    logger.info("timeline of account %s: bad cursor before=%.60r: %s", account.pk, value, reason)
    context = {
        "account": account,
        "cursor_error": gettext("before=%(value)s is not a position in this timeline: %(reason)s.")
        % {"value": value[:40] + ("…" if len(value) > 40 else ""), "reason": reason},
        "first_url": reverse("workspace:account_timeline", args=[account.pk]),
    }
    template = (
        "workspace/_timeline_error.html"
        if is_fragment_request(request)
        else "workspace/account_timeline.html"
    )
    return render(request, template, context, status=400)
