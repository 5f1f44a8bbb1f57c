"""The demo organization's survey: a quarterly NPS campaign with its follow-up template, and
the demo's NPS answers (drawn by accounts/demo in quarterly waves) made to have come through
it: one answered invitation per answer, written in one INSERT. Fast and re-runnable."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import Contact, SurveyKind, SurveyResponse
from orgs.languages import supported_language
from orgs.models import Organization
from orgs.tenancy import org_context
from playbooks.models import Assignee, PlaybookKind, PlaybookTemplate, TemplateStep

from .models import Cadence, SurveyCampaign, SurveyInvitation


def survey_demo_create(*, org: Organization) -> dict:
    """Create the campaign and the invitations behind the past answers; nothing when the
    campaign exists already. Returns what it wrote."""
    language = supported_language(org.locale) or "en"
    with org_context(org), translation.override(language), transaction.atomic():
        name = gettext("Quarterly NPS")
        if SurveyCampaign.objects.filter(name=name).exists():
            return {"campaign": None, "invitations": 0}
        template_name = gettext("Survey follow-up: call the detractor back")
        template = PlaybookTemplate.objects.filter(name=template_name).first()
        if template is None:
            template = PlaybookTemplate.objects.create(
                organization=org,
                name=template_name,
                kind=PlaybookKind.RETENTION,
                description=gettext("Opened when a contact answers the NPS survey with 0 to 6."),
            )
            TemplateStep.objects.create(
                organization=org,
                template=template,
                order=1,
                title=gettext("Call the contact back about their answer"),
                instructions=gettext(
                    "Thank them, ask what would have made it a 9 or 10, and agree one change."
                ),
                due_offset_days=2,
                assignee=Assignee.OWNER,
            )
        campaign = SurveyCampaign.objects.create(
            organization=org,
            name=name,
            kind=SurveyKind.NPS,
            cadence=Cadence.EVERY,
            days=90,
            link_days=30,
            followup_template=template,
            messages={
                language: {
                    "subject": gettext("{name}, how likely are you to recommend us?"),
                    "body": gettext(
                        "Hello {name},\n\nOnce a quarter we ask {account}'s team one question: "
                        "how likely are you to recommend us to a friend or colleague?"
                    ),
                }
            },
        )
        answers = SurveyResponse.objects.filter(
            kind=SurveyKind.NPS, contact__isnull=False, invitation__isnull=True
        ).values_list("pk", "account_id", "contact_id", "answered_at")
        rows, seen = [], set()
        for pk, account_id, contact_id, answered_at in answers.iterator(chunk_size=5000):
            # sent the morning of the wave's day, answered hours or days later
            sent = (answered_at - dt.timedelta(hours=2 + pk % 70)).replace(
                hour=8, minute=0, second=0, microsecond=0
            )
            if sent > answered_at:  # answered before eight: sent the morning before
                sent -= dt.timedelta(days=1)
            key = (contact_id, sent.date())
            if key in seen:
                continue
            seen.add(key)
            rows.append(
                _invitation(
                    org,
                    campaign,
                    language,
                    contact_id,
                    account_id,
                    sent,
                    answered_at=answered_at,
                    response_id=pk,
                )
            )
        unanswered = _unanswered(org, campaign, language, rows, seen)
        SurveyInvitation.objects.bulk_create(rows + unanswered, batch_size=2000)
    return {"campaign": campaign.pk, "invitations": len(rows), "unanswered": len(unanswered)}


def _unanswered(org, campaign, language, answered, seen) -> list[SurveyInvitation]:
    """The rest of each wave: every other contact of the account who had consented by the
    morning it went out, and had not withdrawn, was asked too and did not answer (so the
    demo's response rate is a survey's, not 100%). Their links expired 30 days later."""
    waves = {(i.account_id, i.sent_at) for i in answered}
    contacts: dict[int, list[tuple[int, dt.datetime]]] = {}
    for pk, account_id, consented in Contact.objects.filter(
        consent_given_at__isnull=False, consent_withdrawn_at__isnull=True
    ).values_list("pk", "account_id", "consent_given_at"):
        contacts.setdefault(account_id, []).append((pk, consented))
    rows = []
    for account_id, sent in sorted(waves):
        for contact_id, consented in contacts.get(account_id, ()):
            if consented > sent or (contact_id, sent.date()) in seen:
                continue
            seen.add((contact_id, sent.date()))
            rows.append(_invitation(org, campaign, language, contact_id, account_id, sent))
    return rows


def _invitation(org, campaign, language, contact_id, account_id, sent, **answer):
    """One wave's invitation to a contact, sent that morning, its link good for 30 days."""
    return SurveyInvitation(
        organization=org,
        campaign=campaign,
        contact_id=contact_id,
        account_id=account_id,
        period=sent.date().isoformat(),
        language=language,
        sent_at=sent,
        expires_at=sent + dt.timedelta(days=30),
        **answer,
    )
