"""Survey campaigns in the configuration area (/configuration/surveys/): the list with what
each sent and got back, a new campaign, a campaign edited. Admins only (others: 403)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from orgs.models import Role
from orgs.permissions import org_required
from surveys import selectors
from surveys.models import SurveyCampaign
from surveys.services import survey_campaign_save

from .forms import SurveyCampaignForm, message_fields

admins_only = org_required(roles=(Role.ADMIN,))


@admins_only
@require_GET
def survey_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "configuration/survey_list.html",
        {"campaigns": list(selectors.campaigns_with_counts())},
    )


@admins_only
@require_http_methods(["GET", "POST"])
def survey_new(request: HttpRequest) -> HttpResponse:
    return _page(request, SurveyCampaign(organization=request.organization), _("New survey"))


@admins_only
@require_http_methods(["GET", "POST"])
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaigns(campaign_id=pk).first()
    if campaign is None:
        raise Http404(_("No such survey in this organization."))
    return _page(request, campaign, campaign.name)


def _page(request, campaign: SurveyCampaign, title: str) -> HttpResponse:
    form = SurveyCampaignForm(request.POST or None, instance=campaign)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = survey_campaign_save(
                    campaign=form.save(commit=False),
                    messages=form.messages_value(),
                    acting_user=request.user,
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, _("Survey saved. It is sent from tomorrow morning."))
                return redirect("configuration:survey", pk=saved.pk)
        status = 422
    languages = [(form[subject], form[body]) for _c, subject, body in message_fields()]
    return render(
        request,
        "configuration/survey_form.html",
        {"form": form, "campaign": campaign, "title": title, "languages": languages},
        status=status,
    )
