"""The configuration area's pages: triggers (drafts edited through the condition builder,
dry run, backtest, publishing) and personas (rules through the builder, the live count and
sample, hand-picked accounts). Admins and analysts open it; analysts save drafts and run
dry runs and backtests; only admins publish a trigger or save a persona. Every other role is
refused (403).

One view serves a form page or, for htmx, its builder alone: a post with `builder_action`
(a structure button) or `builder_refresh` (an input changed) re-renders the builder and
saves nothing, so the page works without JavaScript by posting the whole form."""

from __future__ import annotations

import csv
import datetime as dt
import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Persona
from accounts.personas import ACCOUNT_FIELDS
from conditions import ConditionError
from orgs.models import Role, User
from orgs.permissions import org_required
from orgs.web import is_fragment_request, request_today
from triggers import selectors as trigger_selectors
from triggers.caps import DEFAULT_WEEKLY_CAP, ORG_BUCKET
from triggers.fields import TRIGGER_FIELDS
from triggers.models import Trigger
from triggers.services import weekly_cap_clear, weekly_cap_set

from . import selectors
from .builder import ACTION_NAME, ConditionBuilder
from .evaluation import (
    BACKTEST_DEFAULT_DAYS,
    BACKTEST_MAX_DAYS,
    PAGE_SIZE,
    backtest_max_days,
    dry_run_day,
    dry_run_evidence,
    longest_usage_window,
    trigger_backtest,
    trigger_dry_run,
)
from .forms import (
    PersonaCapForm,
    PersonaCapRemoveForm,
    PersonaDraftForm,
    TriggerDraftForm,
    WeeklyCapForm,
)
from .models import PersonaDraft, TriggerDraft
from .services import (
    draft_discard as trigger_draft_delete,
)
from .services import (
    persona_draft_from_persona,
    persona_draft_save,
    trigger_draft_from_trigger,
    trigger_draft_publish,
    trigger_draft_save,
    trigger_draft_to_trigger,
)

logger = logging.getLogger(__name__)

CONFIG_ROLES = (Role.ADMIN, Role.ANALYST)
PUBLISH_ROLES = (Role.ADMIN,)
configure = org_required(roles=CONFIG_ROLES)
admins_only = org_required(roles=PUBLISH_ROLES)


def _is_admin(request) -> bool:
    return request.membership.role == Role.ADMIN


def _builder_post(request) -> bool:
    return ACTION_NAME in request.POST or "builder_refresh" in request.POST


def _builder(request, *, catalogue, tree=None, bound=False, required=True):
    return ConditionBuilder(
        catalogue=catalogue,
        data=request.POST if bound else None,
        tree=tree,
        choices=selectors.builder_choices(),
        currency=request.organization.currency,
        required=required,
    )


def _get(getter, **kw):
    try:
        return getter(**kw)
    except (
        TriggerDraft.DoesNotExist,
        Trigger.DoesNotExist,
        Persona.DoesNotExist,
        PersonaDraft.DoesNotExist,
    ):
        raise Http404(_("Not found.")) from None


# -- home and lists ---------------------------------------------------------------------


@configure
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "configuration/home.html",
        {
            "triggers_count": Trigger.objects.count(),
            "drafts_count": TriggerDraft.objects.count(),
            "personas_count": Persona.objects.count(),
            "waiting_total": trigger_selectors.firings_queued_count(),
        },
    )


@configure
@require_GET
def trigger_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "configuration/trigger_list.html",
        {
            "triggers": list(selectors.triggers_with_drafts()),
            "drafts": list(selectors.drafts_new()),
        },
    )


@configure
@require_GET
def trigger_detail(request: HttpRequest, pk: int) -> HttpResponse:
    trigger = _get(selectors.trigger_get, pk=pk)
    builder = _builder(request, catalogue=TRIGGER_FIELDS, tree=trigger.condition)
    return render(
        request,
        "configuration/trigger_detail.html",
        {
            "trigger": trigger,
            "builder": builder,
            "draft": selectors.draft_of(trigger=trigger),
            "waiting": trigger_selectors.firings_queued_count(trigger=trigger),
            "switch": next(iter(selectors.trigger_switches(trigger=trigger, limit=1)), None),
            "can_pause": _is_admin(request),
        },
    )


# -- trigger drafts ---------------------------------------------------------------------


def _draft_page(request, draft: TriggerDraft, *, title: str, action_url: str) -> HttpResponse:
    """The draft form: GET shows it, a builder post re-renders (the builder alone for htmx),
    a save validates both forms and stores the draft."""
    if request.method == "POST":
        form = TriggerDraftForm(request.POST, instance=draft)
        builder = _builder(request, catalogue=TRIGGER_FIELDS, bound=True)
        if _builder_post(request):
            if not builder.structural:
                builder.is_valid()
            context = {"builder": builder, "builder_url": action_url}
            if is_fragment_request(request):
                return render(request, "configuration/_builder.html", context)
            return _render_draft(request, form, builder, draft, title, action_url, status=200)
        form_ok = form.is_valid()
        builder_ok = builder.is_valid()
        if form_ok and builder_ok:
            try:
                saved = trigger_draft_save(
                    draft=form.save(commit=False),
                    condition=builder.tree,
                    acting_user=request.user,
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    if name == "condition":
                        builder.errors.extend(errors)
                    else:
                        form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, _("Draft saved. It fires nothing until it is published."))
                return redirect("configuration:draft", pk=saved.pk)
        return _render_draft(request, form, builder, draft, title, action_url, status=422)
    form = TriggerDraftForm(instance=draft)
    builder = _builder(request, catalogue=TRIGGER_FIELDS, tree=draft.condition or None)
    return _render_draft(request, form, builder, draft, title, action_url)


def _render_draft(request, form, builder, draft, title, action_url, status=200):
    return render(
        request,
        "configuration/draft_form.html",
        {
            "form": form,
            "builder": builder,
            "builder_url": action_url,
            "draft": draft,
            "title": title,
            "can_publish": _is_admin(request),
        },
        status=status,
    )


@configure
@require_http_methods(["GET", "POST"])
def trigger_new(request: HttpRequest) -> HttpResponse:
    draft = TriggerDraft(organization=request.organization)
    return _draft_page(
        request, draft, title=_("New trigger"), action_url=reverse("configuration:trigger_new")
    )


@configure
@require_http_methods(["GET", "POST"])
def trigger_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Editing a published trigger edits its draft (made on the first save)."""
    trigger = _get(selectors.trigger_get, pk=pk)
    existing = selectors.draft_of(trigger=trigger)
    if existing is not None:
        return redirect("configuration:draft", pk=existing.pk)
    draft = trigger_draft_from_trigger(trigger=trigger)
    return _draft_page(
        request,
        draft,
        title=_("Change “%(name)s”") % {"name": trigger.name},
        action_url=reverse("configuration:trigger_edit", args=[pk]),
    )


@configure
@require_http_methods(["GET", "POST"])
def draft_edit(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get(selectors.draft_get, pk=pk)
    title = (
        _("Draft of “%(name)s”") % {"name": draft.trigger.name}
        if draft.trigger_id
        else _("New trigger (draft)")
    )
    return _draft_page(
        request, draft, title=title, action_url=reverse("configuration:draft", args=[pk])
    )


@admins_only
@require_POST
def draft_publish(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get(selectors.draft_get, pk=pk)
    try:
        trigger = trigger_draft_publish(draft=draft, acting_user=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, _("Not published: %(error)s") % {"error": error})
        return redirect("configuration:draft", pk=pk)
    messages.success(
        request,
        _("Published “%(name)s”, version %(version)s: it runs from tonight.")
        % {"name": trigger.name, "version": trigger.version},
    )
    return redirect("configuration:trigger", pk=trigger.pk)


@configure
@require_POST
def draft_discard(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get(selectors.draft_get, pk=pk)
    trigger_id = draft.trigger_id
    trigger_draft_delete(draft=draft, acting_user=request.user)
    messages.success(request, _("Draft discarded."))
    if trigger_id:
        return redirect("configuration:trigger", pk=trigger_id)
    return redirect("configuration:triggers")


# -- dry run and backtest ---------------------------------------------------------------


def _subject(kind: str, pk: int) -> tuple[Trigger, TriggerDraft | None, Trigger | None]:
    """The trigger to evaluate (unsaved, from a draft), the draft, the published trigger."""
    if kind == "draft":
        draft = _get(selectors.draft_get, pk=pk)
        return trigger_draft_to_trigger(draft=draft), draft, draft.trigger
    trigger = _get(selectors.trigger_get, pk=pk)
    return trigger, None, trigger


def _dry_run_csv(run, name: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dry-run-{run.day}.csv"'
    writer = csv.writer(response)
    writer.writerow([_("Account id"), _("Account"), _("Owner id"), _("MRR"), _("Evidence")])
    evidence = dry_run_evidence(run, run.accounts.index.tolist())
    for account_id, row in run.accounts.iterrows():
        writer.writerow(
            [
                account_id,
                _csv_safe(row["name"]),
                ""
                if row["owner_id"] != row["owner_id"] or row["owner_id"] is None
                else int(row["owner_id"]),
                row["mrr"],
                _csv_safe(evidence.get(account_id, "")),
            ]
        )
    return response


def _csv_safe(text) -> str:
    text = "" if text is None else str(text)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@configure
@require_GET
def dry_run(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    trigger, draft, published = _subject(kind, pk)
    today = request_today(request)
    day = dry_run_day(today)
    try:
        run = trigger_dry_run(trigger=trigger, day=day, week_of=today)
    except ConditionError as exc:
        return render(
            request,
            "configuration/dry_run.html",
            {"error": str(exc), "trigger": trigger, "draft": draft, "published": published},
            status=422,
        )
    if request.GET.get("format") == "csv":
        return _dry_run_csv(run, trigger.name)
    page = Paginator(run.accounts.index.tolist(), PAGE_SIZE).get_page(request.GET.get("page"))
    evidence = dry_run_evidence(run, list(page.object_list))
    owners = {r["owner_id"]: r["owner"] for r in run.per_owner}
    rows = [
        {
            "id": account_id,
            "name": run.accounts.at[account_id, "name"],
            "owner": owners.get(_int_or_none(run.accounts.at[account_id, "owner_id"]), ""),
            "evidence": evidence.get(account_id, ""),
        }
        for account_id in page.object_list
    ]
    return render(
        request,
        "configuration/dry_run.html",
        {
            "run": run,
            "rows": rows,
            "page_obj": page,
            "trigger": trigger,
            "draft": draft,
            "published": published,
            "csv_url": f"{request.path}?format=csv",
        },
    )


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@configure
@require_GET
def backtest(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    trigger, draft, published = _subject(kind, pk)
    error = ""
    try:
        days = int(request.GET.get("days") or BACKTEST_DEFAULT_DAYS)
    except ValueError:
        days, error = BACKTEST_DEFAULT_DAYS, _("Days: give a whole number.")
    longest = backtest_max_days()
    if not 7 <= days <= longest:
        error = _("Days: between 7 and %(max)d.") % {"max": longest}
        if longest < BACKTEST_MAX_DAYS:
            error = _(
                "Days: between 7 and %(max)d: raw daily usage is kept for %(kept)d days, and "
                "the usage fields read up to %(window)d days before the oldest replayed day."
            ) % {
                "max": longest,
                "kept": settings.USAGE_RAW_RETENTION_DAYS,
                "window": longest_usage_window(),
            }
        days = min(max(days, 7), longest)
    try:
        result = trigger_backtest(trigger=trigger, today=request_today(request), days=days)
    except ConditionError as exc:
        result, error = None, str(exc)
    peak = max(result.firings, default=0) if result else 0
    weeks = (
        [
            {"day": d, "firings": n, "pct": round(100 * n / peak) if peak else 0}
            for d, n in zip(result.days, result.firings, strict=True)
        ]
        if result
        else []
    )
    return render(
        request,
        "configuration/backtest.html",
        {
            "result": result,
            "weeks": weeks,
            "days": days,
            "error": error,
            "trigger": trigger,
            "draft": draft,
            "published": published,
        },
        status=422 if error and result is None else 200,
    )


# -- personas ---------------------------------------------------------------------------


@configure
@require_GET
def persona_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "configuration/persona_list.html",
        {
            "personas": list(selectors.personas_with_counts()),
            "drafts": list(selectors.persona_drafts_new()),
            "can_save": _is_admin(request),
        },
    )


def _persona_page(request, draft: PersonaDraft, *, title: str, action_url: str) -> HttpResponse:
    """The persona form over its draft: a builder post re-renders (the builder and the live
    count alone for htmx); a save (analysts and admins) stores the draft, which changes no
    membership until an admin publishes it."""
    if request.method == "POST":
        form = PersonaDraftForm(request.POST, instance=draft)
        builder = _builder(request, catalogue=ACCOUNT_FIELDS, bound=True, required=False)
        if _builder_post(request):
            if not builder.structural:
                builder.is_valid()
            context = _persona_context(request, form, builder, draft, title, action_url)
            if is_fragment_request(request):
                return render(request, "configuration/_persona_live.html", context)
            return render(request, "configuration/persona_form.html", context)
        form_ok, builder_ok = form.is_valid(), builder.is_valid()
        if form_ok and builder_ok:
            try:
                saved = persona_draft_save(
                    draft=form.save(commit=False),
                    rules=builder.tree or {},
                    hand_picked=form.picked(),
                    acting_user=request.user,
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    if name == "rules":
                        builder.errors.extend(errors)
                    else:
                        form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(
                    request,
                    _("Draft saved. Nobody's persona changes until an admin publishes it."),
                )
                return redirect("configuration:persona_draft", pk=saved.pk)
        context = _persona_context(request, form, builder, draft, title, action_url)
        return render(request, "configuration/persona_form.html", context, status=422)
    form = PersonaDraftForm(instance=draft)
    builder = _builder(request, catalogue=ACCOUNT_FIELDS, tree=draft.rules or None, required=False)
    return render(
        request,
        "configuration/persona_form.html",
        _persona_context(request, form, builder, draft, title, action_url),
    )


def _persona_context(request, form, builder, draft, title, action_url) -> dict:
    picked_ids: list[int] = []
    if form.is_bound:
        picked_ids = [int(v) for v in form.data.getlist("hand_picked") if str(v).isdigit()]
    elif draft.pk:
        picked_ids = list(draft.hand_picked.values_list("pk", flat=True))
    elif draft.persona_id:
        picked_ids = list(draft.persona.hand_picked.values_list("pk", flat=True))
    live_count, sample, live_error = None, [], ""
    if builder.json_error or (builder.tree is not None and not builder.is_valid()):
        live_error = _("Fix the rules to see who matches.")
    else:
        try:
            live_count, sample = selectors.persona_live(
                rules=builder.tree, hand_picked_ids=picked_ids
            )
        except (ConditionError, ValueError, TypeError) as exc:
            live_error = str(exc)
    return {
        "form": form,
        "builder": builder,
        "builder_url": action_url,
        "draft": draft,
        "persona": draft.persona,
        "title": title,
        "picked": selectors.accounts_by_ids(ids=picked_ids),
        "live_count": live_count,
        "sample": sample,
        "live_error": live_error,
        "can_save": _is_admin(request),
    }


@configure
@require_http_methods(["GET", "POST"])
def persona_new(request: HttpRequest) -> HttpResponse:
    draft = PersonaDraft(organization=request.organization)
    return _persona_page(
        request, draft, title=_("New persona"), action_url=reverse("configuration:persona_new")
    )


@configure
@require_http_methods(["GET", "POST"])
def persona_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Editing a published persona edits its draft (made on the first save)."""
    persona = _get(selectors.persona_get, pk=pk)
    existing = selectors.persona_draft_of(persona=persona)
    if existing is not None:
        return redirect("configuration:persona_draft", pk=existing.pk)
    return _persona_page(
        request,
        persona_draft_from_persona(persona=persona),
        title=persona.name,
        action_url=reverse("configuration:persona", args=[pk]),
    )


# -- alert volume: the weekly cap per CSM -------------------------------------------------


@configure
@require_http_methods(["GET", "POST"])
def caps(request: HttpRequest) -> HttpResponse:
    """The weekly cap of new playbooks and alerts per CSM (the organization's, and personas'
    own budgets) and how many firings wait in its queue. Analysts read; admins change it."""
    org_form = WeeklyCapForm(prefix="org")
    persona_form = PersonaCapForm(prefix="persona")
    if request.method == "POST":
        if not _is_admin(request):
            raise PermissionDenied(_("Only an admin changes the weekly cap."))
        which = request.POST.get("form")
        if which == "org":
            org_form = WeeklyCapForm(request.POST, prefix="org")
            if org_form.is_valid():
                weekly_cap_set(
                    org=request.organization,
                    per_csm=org_form.cleaned_data["per_csm"],
                    acting_user=request.user,
                )
                messages.success(request, _("The weekly cap is saved."))
                return redirect("configuration:caps")
        elif which == "persona":
            persona_form = PersonaCapForm(request.POST, prefix="persona")
            if persona_form.is_valid():
                weekly_cap_set(
                    org=request.organization,
                    persona=persona_form.cleaned_data["persona"],
                    per_csm=persona_form.cleaned_data["per_csm"],
                    acting_user=request.user,
                )
                messages.success(request, _("The persona's weekly cap is saved."))
                return redirect("configuration:caps")
        elif which == "remove":
            remove = PersonaCapRemoveForm(request.POST)
            if not remove.is_valid():
                return HttpResponse(_("Choose a persona of this organization."), status=400)
            weekly_cap_clear(org=request.organization, persona=remove.cleaned_data["persona"])
            messages.success(request, _("The persona shares the organization's cap again."))
            return redirect("configuration:caps")
        else:
            return HttpResponse(_("Unknown form."), status=400)
    own, personas = trigger_selectors.weekly_caps()
    caps_now = trigger_selectors.caps_in_force()
    if request.method == "GET":
        org_form = WeeklyCapForm(prefix="org", initial={"per_csm": caps_now.organization})
    today = request_today(request)
    waiting = _queue_rows(caps_now, today=today)
    expired = trigger_selectors.firings_expired_count(
        since=today - dt.timedelta(days=EXPIRED_SHOWN_DAYS)
    )
    return render(
        request,
        "configuration/caps.html",
        {
            "section": "caps",
            "org_cap": caps_now.organization,
            "org_cap_row": own,
            "default_cap": DEFAULT_WEEKLY_CAP,
            "persona_caps": personas,
            "org_form": org_form,
            "persona_form": persona_form,
            "waiting": waiting,
            "waiting_total": sum(r["n"] for r in waiting),
            "waiting_uncapped": sum(r["n"] for r in waiting if r["cap"] is None),
            "expiry_days": settings.TRIGGER_QUEUE_EXPIRY_DAYS,
            "expired": expired,
            "expired_shown_days": EXPIRED_SHOWN_DAYS,
            "can_edit": _is_admin(request),
        },
        status=422 if request.method == "POST" else 200,
    )


# The alert-volume page counts the firings that expired in the queue among this many days'.
EXPIRED_SHOWN_DAYS = 90


def _queue_rows(caps, *, today) -> list[dict]:
    """The queue per CSM and budget, with the cap that holds it now: how many wait, what the
    week (Monday to `today`'s Sunday) has delivered to that CSM from that budget, and what
    the cap leaves (None: no cap now, the next release lets them all through)."""
    waiting = trigger_selectors.firings_queued_by_owner_and_bucket(caps=caps)
    if not waiting:
        return []
    names = _member_names([r["owner_id"] for r in waiting])
    delivered = trigger_selectors.firings_delivered_in_week(day=today, caps=caps)
    used = {
        (None if owner != owner else owner, int(bucket)): int(n)  # NaN: no owner
        for owner, bucket, n in delivered.itertuples(index=False)
    }
    personas = dict(
        Persona.objects.filter(pk__in=[r["bucket"] for r in waiting]).values_list("pk", "name")
    )
    rows = []
    for r in waiting:
        cap = caps.cap(r["bucket"])
        n_used = used.get((r["owner_id"], r["bucket"]), 0)
        rows.append(
            {
                **r,
                "owner": names.get(r["owner_id"], ""),
                "budget": personas.get(r["bucket"], "")
                if r["bucket"] != ORG_BUCKET
                else _("The organization's cap"),
                "cap": cap,
                "delivered": n_used,
                "left": None if cap is None else max(0, cap - n_used),
            }
        )
    return rows


def _member_names(ids) -> dict[int, str]:
    users = User.objects.filter(pk__in=[i for i in ids if i is not None])
    return {u.pk: u.get_full_name() or u.username for u in users}


@configure
@require_http_methods(["GET", "POST"])
def persona_draft_edit(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get(selectors.persona_draft_get, pk=pk)
    title = (
        _("Draft of “%(name)s”") % {"name": draft.persona.name}
        if draft.persona_id
        else _("New persona (draft)")
    )
    return _persona_page(
        request, draft, title=title, action_url=reverse("configuration:persona_draft", args=[pk])
    )
