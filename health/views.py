"""Health pages: an account's health (chart and breakdown), the models, and their fitness."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.models import Account
from orgs.permissions import can_configure, org_required
from orgs.web import is_fragment_request

from . import selectors


@org_required
@require_GET
def account_health(request: HttpRequest, pk: int) -> HttpResponse:
    """The account's score, its 7/30-day change, the 90/365-day chart and the breakdown.
    Loaded into the account page by htmx; a plain request gets it as a page of its own."""
    account = get_object_or_404(Account.objects.select_related("persona"), pk=pk)
    latest = selectors.latest_score(account=account)
    history = selectors.score_history(account=account, days=365)
    context = {
        "account": account,
        "latest": latest,
        "lines": selectors.breakdown_lines(latest) if latest else [],
        "history": history,
        "history_json": json.dumps(history),
    }
    fragment = is_fragment_request(request)
    template = "health/_account_health.html" if fragment else "health/account_health.html"
    return render(request, template, context)


@org_required
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    return render(request, "health/model_list.html", {"models": selectors.health_models()})


@org_required
@require_GET
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    model = get_object_or_404(selectors.health_models(), pk=pk)
    fitness = selectors.model_fitness(org=request.organization, model=model)
    chart = {
        "leads": [f"{lead} days" for lead in fitness["leads"]],
        "auc": [entry["auc"] for entry in fitness["leads"].values()],
        "bands": {
            colour: [entry["bands"][colour]["churn_rate"] for entry in fitness["leads"].values()]
            for colour in ("red", "yellow", "green")
        },
    }
    return render(
        request,
        "health/model_detail.html",
        {
            "model": model,
            "fitness": fitness,
            "chart": chart,
            "indicators": model.indicators.all(),
            "can_configure": can_configure(request),
        },
    )
