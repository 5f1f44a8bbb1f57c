"""Health pages: an account's health (chart and breakdown), the models, and their fitness."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Account
from orgs.models import Role
from orgs.permissions import can_configure, org_required
from orgs.web import is_fragment_request, request_today

from . import selectors, services
from .events import chart_events, event_legend
from .forms import DayForm, ExplainForm, JudgementForm, ResolutionForm
from .measures import MEASURES
from .models import Decision

EXPLAIN_DAYS = 30


def _explain_context(request: HttpRequest, account: Account, latest) -> dict:
    """The "why it moved" part: the form (default: 30 days before the latest score, and it)
    and, when the form is valid, the split."""
    today = request_today(request)
    to_day = latest.date if latest else today
    data = request.GET if "date_to" in request.GET else None
    form = ExplainForm(
        data,
        today=today,
        initial={"date_from": to_day - dt.timedelta(days=EXPLAIN_DAYS), "date_to": to_day},
    )
    if data is None:
        first, last = to_day - dt.timedelta(days=EXPLAIN_DAYS), to_day
    elif form.is_valid():
        first, last = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    else:
        return {"explain_form": form, "explanation": None}
    explanation = selectors.score_explanation(account=account, from_day=first, to_day=last)
    quick = [
        (days, (last - dt.timedelta(days=days)).isoformat(), last.isoformat())
        for days in (7, 30, 90)
    ]
    return {"explain_form": form, "explanation": explanation, "explain_quick": quick}


def _account(pk: int) -> Account:
    return get_object_or_404(Account.objects.select_related("persona", "organization"), pk=pk)


@org_required
@require_GET
def account_health(request: HttpRequest, pk: int) -> HttpResponse:
    """The account's score, its 7/30-day change, the 90/365-day chart, the breakdown and why
    it moved. Loaded into the account page by htmx; a plain request gets it as a page of its
    own."""
    account = _account(pk)
    latest = selectors.latest_score(account=account)
    history = selectors.score_history_with_movers(account=account, days=365)
    model = latest.model if latest and latest.model_id else None
    events = chart_events(account=account, points=history)
    chart = {
        "points": history,
        "events": events,
        "bands": {
            "red_max": model.red_max if model else 50,
            "yellow_max": model.yellow_max if model else 75,
        },
        "labels": {
            "score": gettext("Score"),
            "since": gettext("Since"),
            "bands": {
                "red": gettext("red"),
                "yellow": gettext("yellow"),
                "green": gettext("green"),
            },
            "events": event_legend(),
        },
    }
    context = {
        "account": account,
        "latest": latest,
        "day_score": latest,
        "lines": selectors.breakdown_lines(latest) if latest else [],
        "history": history,
        "history_json": json.dumps(chart),
        "event_legend": [v for k, v in event_legend().items() if k in {e["kind"] for e in events}],
        "day_form": DayForm(initial={"day": latest.date if latest else None}),
        **_explain_context(request, account, latest),
        **_judgement_context(request, account),
    }
    fragment = is_fragment_request(request)
    template = "health/_account_health.html" if fragment else "health/account_health.html"
    return render(request, template, context)


@org_required
@require_GET
def account_health_explain(request: HttpRequest, pk: int) -> HttpResponse:
    """Why the score moved between two days (?date_from=&date_to=), the card's fragment or a
    page of its own; a bad day is a message on its field, never an error page."""
    account = _account(pk)
    latest = selectors.latest_score(account=account)
    context = {"account": account, "latest": latest, **_explain_context(request, account, latest)}
    template = (
        "health/_explain.html" if is_fragment_request(request) else "health/explain_page.html"
    )
    return render(request, template, context)


@org_required
@require_GET
def account_health_day(request: HttpRequest, pk: int) -> HttpResponse:
    """One day's breakdown (?day=, the latest score on or before it): what clicking a day of
    the chart shows."""
    account = _account(pk)
    form = DayForm(request.GET)
    day_score = None
    if form.is_valid():
        day_score = selectors.score_on_or_before(account=account, day=form.cleaned_data["day"])
    context = {
        "account": account,
        "latest": selectors.latest_score(account=account),
        "day_score": day_score,
        "day_form": form,
        "lines": selectors.breakdown_lines(day_score) if day_score else [],
    }
    template = "health/_breakdown.html" if is_fragment_request(request) else "health/day_page.html"
    return render(request, template, context)


@org_required
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    return render(request, "health/model_list.html", {"models": selectors.health_models()})


SUGGEST_LEADS = (30, 60, 90)


def _fitness_context(request: HttpRequest, model) -> dict:
    """The model's fitness as of today, read from its snapshot (computed in the background;
    asked for here if the night has not made it yet), and the latest weight suggestion."""
    today = request_today(request)
    snapshot = selectors.fitness_snapshot(model=model, day=today)
    if snapshot is None:
        snapshot = services.fitness_snapshot_request(model=model, day=today)
    fitness = snapshot.payload if snapshot.state == "done" else None
    chart = None
    indicator_rows = []
    if fitness:
        leads = fitness["leads"]
        chart = {
            "leads": [f"{lead} days" for lead in leads],
            "auc": [entry["auc"] for entry in leads.values()],
            "bands": {
                colour: [entry["bands"][colour]["churn_rate"] for entry in leads.values()]
                for colour in ("red", "yellow", "green")
            },
        }
        labels = {line.key: line for line in _indicator_labels(model)}
        for key in fitness.get("keys", []):
            indicator_rows.append(
                {
                    "key": key,
                    "label": labels[key].label if key in labels else key,
                    "leads": [(lead, entry["indicators"][key]) for lead, entry in leads.items()],
                }
            )
    suggestion = selectors.latest_suggestion(model=model)
    resolved = selectors.resolution_counts(model=model)
    current_weights = {line.key: line.weight for line in _indicator_labels(model)}
    suggestion_rows = []
    if suggestion is not None and suggestion.state == "done" and "suggested" in suggestion.payload:
        labels = {line.key: line.label for line in _indicator_labels(model)}
        for key, weight in suggestion.payload["suggested"].items():
            suggestion_rows.append(
                {
                    "label": labels.get(key, key),
                    "current": current_weights.get(key),
                    "suggested": weight,
                }
            )
    return {
        "model": model,
        "snapshot": snapshot,
        "fitness": fitness,
        "chart": chart,
        "chart_json": json.dumps(chart) if chart else "",
        "indicator_rows": indicator_rows,
        "suggestion": suggestion,
        "suggestion_rows": suggestion_rows,
        "suggest_leads": SUGGEST_LEADS,
        # admins and analysts draft models (the configuration area's health model editor)
        "can_draft": request.membership.role in (Role.ADMIN, Role.ANALYST),
        # who may queue a suggestion (model_suggest's roles): the button is not offered to others
        "can_suggest": request.membership.role in SUGGEST_ROLES,
        "resolutions": [(label, resolved.get(value, 0)) for value, label in Decision.choices],
        "polling": snapshot.state == "running"
        or (suggestion is not None and suggestion.state == "running"),
    }


# Who may ask for a weight suggestion (a CSM reads the model page, and its suggestion)
SUGGEST_ROLES = (Role.ADMIN, Role.MANAGER, Role.ANALYST)


@dataclass
class _IndicatorLabel:
    key: str
    label: str
    weight: float


def _indicator_labels(model) -> list[_IndicatorLabel]:
    out = []
    for ind in model.indicators.all():
        key = services.indicator_key(ind.measure, ind.window_days, ind.metric)
        measure = MEASURES.get(ind.measure)
        label = str(measure.label) if measure else ind.measure
        if ind.window_days:
            label = f"{label} ({ind.window_days} d)"
        out.append(_IndicatorLabel(key, label, ind.weight))
    return out


@org_required
@require_GET
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The model, its fitness per lead and per indicator (from the background snapshot) and
    the weight suggestion; while a snapshot is being computed the fitness part polls."""
    model = get_object_or_404(selectors.health_models(), pk=pk)
    context = _fitness_context(request, model)
    if is_fragment_request(request):
        return render(request, "health/_model_fitness.html", context)
    context.update(
        indicators=model.indicators.all(),
        can_configure=can_configure(request),
    )
    return render(request, "health/model_detail.html", context)


@org_required(roles=SUGGEST_ROLES)
@require_POST
def model_suggest(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a weight suggestion at the chosen lead (a background job; the page shows its
    progress). Nothing about the model changes."""
    model = get_object_or_404(selectors.health_models(), pk=pk)
    try:
        lead = int(request.POST.get("lead", "90"))
    except ValueError:
        lead = 0
    if lead not in SUGGEST_LEADS:
        return HttpResponseBadRequest(gettext("lead: choose 30, 60 or 90 days"))
    services.fitness_snapshot_request(
        model=model, day=request_today(request), kind="suggestion", lead=lead
    )
    if is_fragment_request(request):
        return render(request, "health/_model_fitness.html", _fitness_context(request, model))
    return redirect(reverse("health:model", args=[model.pk]) + "#suggest")


def _judgement_context(request: HttpRequest, account: Account, form=None) -> dict:
    today = request_today(request)
    judgement = selectors.current_judgement(account=account)
    may_judge = services.can_judge(account=account, user=request.user, role=request.membership.role)
    if form is None and may_judge:
        initial = {"expires_on": today + dt.timedelta(days=services.JUDGEMENT_DAYS)}
        if judgement is not None:
            initial.update(
                sentiment=judgement.sentiment, colour=judgement.colour, reason=judgement.reason
            )
        form = JudgementForm(initial=initial)
    return {
        "account": account,
        "judgement": judgement,
        "judgement_live": judgement is not None and judgement.is_live(today),
        "judgement_form": form,
        "may_judge": may_judge,
    }


@org_required
@require_POST
def account_judgement(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner CSM or a manager sets (or renews) the account's judgement; the fragment comes
    back with the new one shown beside the model's score."""
    account = _account(pk)
    if not services.can_judge(account=account, user=request.user, role=request.membership.role):
        raise PermissionDenied(gettext("Only the account's CSM or a manager sets its judgement."))
    form = JudgementForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            services.csm_judgement_set(
                account=account,
                acting_user=request.user,
                role=request.membership.role,
                today=request_today(request),
                **form.cleaned_data,
            )
            form = None
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            status = 422
    else:
        status = 422
    if not is_fragment_request(request) and form is None:
        return redirect(f"{reverse('accounts:detail', args=[account.pk])}#health")
    context = _judgement_context(request, account, form)
    if is_fragment_request(request):
        return render(request, "health/_judgement.html", context, status=status)
    return render(request, "health/judgement_page.html", context, status=status)


@org_required(roles=(Role.ADMIN, Role.MANAGER, Role.ANALYST))
@require_GET
def disagreements(request: HttpRequest) -> HttpResponse:
    """The accounts whose CSM and model have disagreed for more than N days, for managers to
    resolve, and the latest resolutions."""
    today = request_today(request)
    queue = selectors.disagreement_queue(today=today)
    return render(
        request,
        "health/disagreements.html",
        {
            "queue": queue,
            "min_days": selectors.DISAGREEMENT_DAYS,
            "resolutions": selectors.disagreement_resolutions(),
            "form": ResolutionForm(),
            "may_resolve": request.membership.role in (Role.ADMIN, Role.MANAGER),
        },
    )


@org_required(roles=(Role.ADMIN, Role.MANAGER))
@require_POST
def disagreement_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    today = request_today(request)
    entry = next(
        (e for e in selectors.disagreement_queue(today=today) if e["judgement"].pk == pk), None
    )
    if entry is None:
        raise Http404(gettext("That disagreement is no longer in the queue."))
    form = ResolutionForm(request.POST)
    if form.is_valid():
        services.disagreement_resolve(
            judgement=entry["judgement"],
            acting_user=request.user,
            role=request.membership.role,
            decision=form.cleaned_data["decision"],
            note=form.cleaned_data["note"],
            model_colour=entry["model_colour"],
            days=entry["days"],
        )
    return redirect(reverse("health:disagreements"))
