"""Writes of surveys: sending what is due (invitations, then their emails), an answer taken
from the public page (a SurveyResponse, the follow-up playbook of a detractor, the account
re-scored), and a contact's withdrawal from the unsubscribe link."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass, field

from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import Account, Contact, SurveyKind, SurveyResponse
from csplatform.celery import enqueue_on_commit
from health.services import compute_scores, health_scores_write
from orgs.languages import supported_language
from orgs.models import Organization
from orgs.tenancy import org_context
from orgs.timezones import org_zone
from playbooks.services import PlaybookSpec, playbooks_create_bulk

from . import links, selectors
from .models import SurveyCampaign, SurveyInvitation

logger = logging.getLogger(__name__)

MAIL_ERRORS = (smtplib.SMTPException, OSError)
SCORE_RANGE = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5)}


class SurveyAnswerRefused(Exception):
    """Why an answer is not taken: "used", "expired", or "score" (out of range)."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


def needs_followup(*, kind: str, score: int) -> bool:
    """A detractor (NPS 0-6) or a low CSAT (1-2)."""
    return score <= 6 if kind == SurveyKind.NPS else score <= 2


def nps_category(score: int) -> str:
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


# -- the words of an email ------------------------------------------------------------------


def campaign_language(*, org: Organization, campaign: SurveyCampaign) -> str:
    """The organization's language when the campaign has words for it, else the first the
    campaign has, else the organization's (the default words, translated)."""
    wanted = supported_language(org.locale) or "en"
    written = [lang for lang, m in (campaign.messages or {}).items() if m.get("body")]
    if wanted in written or not written:
        return wanted
    return written[0]


def default_message(*, kind: str) -> dict:
    """The words a campaign sends when it has none of its own, in the active language."""
    if kind == SurveyKind.NPS:
        return {
            "subject": gettext("How likely are you to recommend us?"),
            "body": gettext(
                "Hello {name},\n\nOn a scale from 0 to 10, how likely are you to recommend "
                "us to a friend or colleague? It takes one click."
            ),
        }
    return {
        "subject": gettext("How satisfied are you with us?"),
        "body": gettext(
            "Hello {name},\n\nOn a scale from 1 to 5, how satisfied are you with our "
            "service? It takes one click."
        ),
    }


def render_message(*, campaign: SurveyCampaign, language: str, name: str, account: str) -> dict:
    """Subject and body with {name} and {account} filled in (plain replacement: a message is
    text an admin wrote, never a format string)."""
    with translation.override(language):
        message = (campaign.messages or {}).get(language) or default_message(kind=campaign.kind)
        if not message.get("body"):
            message = default_message(kind=campaign.kind)
        out = {}
        for key in ("subject", "body"):
            text = message.get(key) or default_message(kind=campaign.kind)[key]
            out[key] = text.replace("{name}", name).replace("{account}", account)
        return out


def _email(*, invitation: SurveyInvitation, org_id: int, name: str, account: str, to: str):
    campaign = invitation.campaign
    words = render_message(
        campaign=campaign, language=invitation.language, name=name, account=account
    )
    answer = links.answer_url(org_id=org_id, invitation_id=invitation.pk)
    unsubscribe = links.unsubscribe_url(org_id=org_id, contact_id=invitation.contact_id)
    with translation.override(invitation.language):
        answer_label = gettext("Answer here")
        unsubscribe_label = gettext("To receive no more surveys from us")
    body = f"{words['body']}\n\n{answer_label}: {answer}\n\n{unsubscribe_label}: {unsubscribe}\n"
    message = EmailMessage(subject=words["subject"], body=body, to=[to])
    # Mail clients offer their own unsubscribe button from this header (RFC 2369).
    message.extra_headers["List-Unsubscribe"] = f"<{unsubscribe}>"
    return message


# -- sending --------------------------------------------------------------------------------


@dataclass
class SendResult:
    """Per campaign, who was due (and, when not a dry run, how many emails went out)."""

    dry_run: bool
    campaigns: list[dict] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(c["sent"] for c in self.campaigns)

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "sent": self.sent, "campaigns": self.campaigns}


def surveys_send(
    *,
    org: Organization,
    campaign_id: int | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> SendResult:
    """Send every active campaign's (or the one campaign's) invitations due now. A dry run
    computes the same set and writes nothing. Invitations are created in one transaction
    (the unique campaign × contact × period makes a concurrent or repeated run create none
    twice), then mailed with no transaction open; a mail that fails deletes its invitation,
    so the next run asks again."""
    now = now or timezone.now()
    zone = org_zone(org)
    today = now.astimezone(zone).date()
    result = SendResult(dry_run=dry_run)
    with org_context(org):
        for campaign in selectors.campaigns(campaign_id=campaign_id, active_only=True):
            language = campaign_language(org=org, campaign=campaign)
            due = selectors.campaign_due(campaign=campaign, today=today, now=now, zone=zone)
            entry = {
                "campaign_id": campaign.pk,
                "campaign": campaign.name,
                "kind": campaign.kind,
                "language": language,
                "due": len(due),
                "sent": 0,
            }
            if dry_run:
                entry["contacts"] = [
                    {
                        **d.as_dict(),
                        "subject": render_message(
                            campaign=campaign, language=language, name=d.contact, account=d.account
                        )["subject"],
                    }
                    for d in due
                ]
                result.campaigns.append(entry)
                continue
            entry["sent"] = _send_campaign(
                org=org, campaign=campaign, due=due, language=language, now=now
            )
            result.campaigns.append(entry)
    logger.info(
        "surveys sent org=%s campaigns=%s sent=%s dry_run=%s",
        org.slug,
        len(result.campaigns),
        result.sent,
        dry_run,
    )
    return result


def _send_campaign(
    *, org: Organization, campaign: SurveyCampaign, due: list, language: str, now: dt.datetime
) -> int:
    if not due:
        return 0
    expires = now + dt.timedelta(days=campaign.link_days)
    with transaction.atomic():
        SurveyInvitation.objects.bulk_create(
            [
                SurveyInvitation(
                    organization=org,
                    campaign=campaign,
                    contact_id=d.contact_id,
                    account_id=d.account_id,
                    period=d.period,
                    language=language,
                    sent_at=now,
                    expires_at=expires,
                )
                for d in due
            ],
            batch_size=2000,
            ignore_conflicts=True,
        )
        # Those this run created: its instant (another run's rows carry their own).
        mine = {
            inv.contact_id: inv
            for inv in SurveyInvitation.objects.filter(
                campaign=campaign, sent_at=now, period__in={d.period for d in due}
            ).select_related("campaign")
        }
    sent, failed = 0, []
    with get_connection() as connection:
        for d in due:
            invitation = mine.get(d.contact_id)
            if invitation is None:
                continue
            message = _email(
                invitation=invitation, org_id=org.pk, name=d.contact, account=d.account, to=d.email
            )
            message.connection = connection
            try:
                message.send()
            except MAIL_ERRORS:
                logger.exception("survey mail failed org=%s invitation=%s", org.slug, invitation.pk)
                failed.append(invitation.pk)
                continue
            sent += 1
    if failed:
        SurveyInvitation.objects.filter(pk__in=failed).delete()
    return sent


# -- answering ------------------------------------------------------------------------------


def survey_answer(
    *, invitation_id: int, score: int, comment: str = "", now: dt.datetime | None = None
) -> SurveyResponse:
    """Take the one answer an invitation accepts (the organization in context): a
    SurveyResponse on the account, linked to the invitation; for a detractor or a low CSAT,
    one follow-up playbook for the account's owner; the account re-scored once this commits
    (surveys.rescore_account), so its health shows the answer today, not tomorrow."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .get(pk=invitation_id)
        )
        if invitation.answered_at is not None:
            raise SurveyAnswerRefused("used")
        if invitation.expires_at <= now:
            raise SurveyAnswerRefused("expired")
        campaign = invitation.campaign
        low, high = SCORE_RANGE[SurveyKind(campaign.kind)]
        if not isinstance(score, int) or not low <= score <= high:
            raise SurveyAnswerRefused(
                "score",
                gettext("score: choose a number from %(low)s to %(high)s")
                % {"low": low, "high": high},
            )
        comment = (comment or "").strip()[:2000]
        response = SurveyResponse.objects.create(
            organization_id=invitation.organization_id,
            account_id=invitation.account_id,
            contact_id=invitation.contact_id,
            kind=campaign.kind,
            score=score,
            comment=comment,
            answered_at=now,
        )
        invitation.answered_at = now
        invitation.response = response
        invitation.save(update_fields=["answered_at", "response"])
        if needs_followup(kind=campaign.kind, score=score):
            survey_followup_open(invitation=invitation, response=response)
        enqueue_on_commit(
            "surveys.rescore_account", invitation.organization_id, invitation.account_id
        )
    logger.info(
        "survey answered org=%s invitation=%s kind=%s score=%s",
        invitation.organization_id,
        invitation.pk,
        campaign.kind,
        score,
    )
    return response


def survey_followup_open(*, invitation: SurveyInvitation, response: SurveyResponse):
    """Closing the loop: the campaign's follow-up template opened for the account's owner,
    with the score and the comment as its evidence (playbooks joins an open one from the same
    template instead of opening a second). None when the campaign names no template."""
    campaign = invitation.campaign
    if campaign.followup_template_id is None:
        logger.warning("survey follow-up skipped: campaign %s has no template", campaign.pk)
        return None
    org = Organization.objects.get(pk=invitation.organization_id)
    owner_id = (
        Account.objects.filter(pk=invitation.account_id).values_list("owner_id", flat=True).get()
    )
    label = SurveyKind(campaign.kind).label
    evidence = {
        "survey": campaign.kind,
        "score": response.score,
        "comment": response.comment,
        "campaign": campaign.name,
        "invitation": invitation.pk,
    }
    with translation.override(supported_language(org.locale) or "en"):
        text = gettext("%(kind)s answer %(score)s") % {"kind": label, "score": response.score}
        if response.comment:
            text += f": “{response.comment}”"
    created = playbooks_create_bulk(
        org=org,
        specs=[
            PlaybookSpec(
                account_id=invitation.account_id,
                owner_id=owner_id,
                template=campaign.followup_template,
                opened_on=response.answered_at.astimezone(org_zone(org)).date(),
                origin="survey",
                origin_label=campaign.name,
                origin_ref=invitation.pk,
                evidence=evidence,
                evidence_text=text,
            )
        ],
    )
    return created.by_spec[0]


def contact_unsubscribe(*, contact_id: int, now: dt.datetime | None = None) -> bool:
    """Record that the contact withdrew consent (the organization in context); True when this
    withdrew it, False when it was withdrawn already. No campaign asks them again
    (selectors.targeted_contacts)."""
    now = now or timezone.now()
    done = Contact.objects.filter(pk=contact_id, consent_withdrawn_at__isnull=True).update(
        consent_withdrawn_at=now, updated_at=now
    )
    if done:
        logger.info("contact unsubscribed from surveys contact=%s", contact_id)
    return bool(done)


def account_rescore(*, org_id: int, account_id: int) -> int:
    """Score one account for today again (the health pipeline's own maths and writer), so an
    answer moves its health at once; tonight's run scores the next day as usual. Returns the
    number of accounts scored (0 for a churned or vanished account)."""
    org = Organization.objects.get(pk=org_id)
    zone = org_zone(org)
    today = timezone.now().astimezone(zone).date()
    with org_context(org), transaction.atomic():
        scores = compute_scores(day=today, first_id=account_id, last_id=account_id, tz=zone.key)
        health_scores_write(org_id=org.pk, day=today, scores=scores)
    return len(scores)


# -- configuration --------------------------------------------------------------------------


def survey_campaign_save(
    *, campaign: SurveyCampaign, messages: dict, acting_user=None
) -> SurveyCampaign:
    """Save a campaign an admin defined (new or changed) with its words per language. The
    next morning's sending reads it; invitations already sent keep their links."""
    campaign.messages = messages
    campaign.full_clean()
    with transaction.atomic():
        campaign.save()
    logger.info(
        "survey campaign saved org=%s campaign=%s by=%s",
        campaign.organization_id,
        campaign.pk,
        getattr(acting_user, "pk", None),
    )
    return campaign
