"""The pages a surveyed contact meets, without logging in: the answer page behind the
email's signed link (one answer per invitation; a reused, altered or expired link gets a page
that says so), and the unsubscribe page (a button that records the withdrawal)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from accounts.models import Contact, SurveyKind
from orgs.languages import supported_language
from orgs.models import Organization
from orgs.tenancy import org_context

from . import links, selectors
from .forms import AnswerForm
from .services import SurveyAnswerRefused, contact_unsubscribe, survey_answer

# Why a link is refused, and the status its page answers with.
REFUSED_STATUS = {"invalid": 404, "used": 410, "expired": 410}


def _refused(request, reason: str, language: str | None = None) -> HttpResponse:
    with translation.override(language or translation.get_language()):
        return render(
            request,
            "surveys/refused.html",
            {"reason": reason},
            status=REFUSED_STATUS[reason],
        )


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    signed = links.answer_read(token)
    org = Organization.objects.filter(pk=signed.org_id).first() if signed else None
    if org is None:
        return _refused(request, "invalid")
    with org_context(org):
        invitation = selectors.invitation_for_link(invitation_id=signed.ref)
        if invitation is None:
            return _refused(request, "invalid")
        language = supported_language(invitation.language) or supported_language(org.locale)
        if invitation.answered_at is not None:
            return _refused(request, "used", language)
        if invitation.expires_at <= timezone.now():
            return _refused(request, "expired", language)
        kind = invitation.campaign.kind
        with translation.override(language):
            form = AnswerForm(request.POST or None, kind=kind)
            status = 200
            if request.method == "POST":
                if form.is_valid():
                    try:
                        survey_answer(
                            invitation_id=invitation.pk,
                            score=form.cleaned_data["score"],
                            comment=form.cleaned_data["comment"],
                        )
                    except SurveyAnswerRefused as exc:
                        if exc.reason in REFUSED_STATUS:
                            return _refused(request, exc.reason, language)
                        form.add_error("score", str(exc))
                    else:
                        return render(request, "surveys/thanks.html", {"org": org})
                status = 422
            return render(
                request,
                "surveys/answer.html",
                {
                    "form": form,
                    "org": org,
                    "invitation": invitation,
                    "is_nps": kind == SurveyKind.NPS,
                },
                status=status,
            )


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    signed = links.unsubscribe_read(token)
    org = Organization.objects.filter(pk=signed.org_id).first() if signed else None
    if org is None:
        return _refused(request, "invalid")
    with org_context(org), translation.override(supported_language(org.locale)):
        contact = Contact.objects.filter(pk=signed.ref).only("pk", "consent_withdrawn_at").first()
        if contact is None:
            return _refused(request, "invalid")
        done = contact.consent_withdrawn_at is not None
        if request.method == "POST" and not done:
            contact_unsubscribe(contact_id=contact.pk)
            done = True
        return render(request, "surveys/unsubscribe.html", {"org": org, "done": done})
