"""The public pages: the answer link accepts one answer, refuses a reused, altered, foreign
or expired link with a page that says so; the email's unsubscribe link records the
withdrawal."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Contact, SurveyResponse
from surveys import links
from surveys.models import SurveyInvitation
from surveys.services import surveys_send
from tests.factories import (
    AccountFactory,
    ContactFactory,
    SurveyCampaignFactory,
    SurveyInvitationFactory,
)

pytestmark = pytest.mark.django_db


def _url(invitation):
    token = links.answer_token(org_id=invitation.organization_id, invitation_id=invitation.pk)
    return reverse("surveys:answer", args=[token])


def test_a_valid_link_takes_one_answer_and_refuses_the_second(client, org):
    invitation = SurveyInvitationFactory(campaign=SurveyCampaignFactory(organization=org))
    url = _url(invitation)
    page = client.get(url)
    assert page.status_code == 200
    assert page.content.decode().count('type="radio"') == 11  # NPS: 0 to 10
    # the scale's ends are read out with the question, not hidden from screen readers
    ends = re.search(
        r'<p class="survey-scale__ends" id="score-ends">(.*?)</p>', page.content.decode()
    )
    assert ends and "0: not at all likely" in ends.group(1)
    assert 'aria-describedby="score-ends"' in page.content.decode()
    done = client.post(url, {"score": "9", "comment": "Great support"})
    assert done.status_code == 200 and b"data-survey-thanks" in done.content
    invitation.refresh_from_db()
    response = SurveyResponse.all_objects.get(pk=invitation.response_id)
    assert (response.score, response.comment, response.contact_id) == (
        9,
        "Great support",
        invitation.contact_id,
    )
    again = client.post(url, {"score": "0"})
    assert again.status_code == 410
    assert b'data-survey-refused="used"' in again.content
    assert client.get(url).status_code == 410
    assert SurveyResponse.all_objects.filter(account=invitation.account).count() == 1


def test_altered_foreign_and_expired_links_get_a_clear_page(client, org, other_org):
    invitation = SurveyInvitationFactory(campaign=SurveyCampaignFactory(organization=org))
    url = _url(invitation)
    tampered = url[:-3] + ("A" if url[-3] != "A" else "B") + url[-2:]
    page = client.get(tampered)
    assert page.status_code == 404 and b'data-survey-refused="invalid"' in page.content
    # a genuine signature, but of an organization the invitation is not in
    foreign = links.answer_token(org_id=other_org.pk, invitation_id=invitation.pk)
    page = client.post(reverse("surveys:answer", args=[foreign]), {"score": "5"})
    assert page.status_code == 404
    SurveyInvitation.all_objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    page = client.post(url, {"score": "5"})
    assert page.status_code == 410 and b'data-survey-refused="expired"' in page.content
    assert not SurveyResponse.all_objects.exists()


def test_a_score_out_of_range_names_the_field(client, org):
    invitation = SurveyInvitationFactory(campaign=SurveyCampaignFactory(organization=org))
    page = client.post(_url(invitation), {"score": "11"})
    assert page.status_code == 422
    assert b"score-errors" in page.content and b"11" in page.content
    assert not SurveyResponse.all_objects.exists()


def test_the_email_carries_links_that_answer_and_unsubscribe(client, org):
    """One consenting contact, one campaign: one email (locmem backend) whose answer link
    opens the page and whose unsubscribe link, posted, records the withdrawal; the next run
    of another campaign then leaves the contact out."""
    contact = ContactFactory(account=AccountFactory(organization=org), name="Dana Reis")
    SurveyCampaignFactory(organization=org)
    result = surveys_send(org=org)
    assert result.sent == 1 and len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [contact.email]
    assert message.subject == "Quick question, Dana Reis"
    answer_path, unsubscribe_path = re.findall(r"https?://[^/\s]+(/survey/\S+/)", message.body)
    assert message.extra_headers["List-Unsubscribe"].endswith(f"{unsubscribe_path}>")
    assert client.get(answer_path).status_code == 200
    page = client.get(unsubscribe_path)
    assert page.status_code == 200 and b"data-unsubscribed" not in page.content
    page = client.post(unsubscribe_path)
    assert page.status_code == 200 and b"data-unsubscribed" in page.content
    contact.refresh_from_db()
    assert contact.consent_withdrawn_at is not None and not contact.has_consent
    SurveyCampaignFactory(organization=org, name="Second")
    assert surveys_send(org=org).sent == 0
    assert len(mail.outbox) == 1
    # running the first again sends nothing twice either
    assert Contact.all_objects.filter(pk=contact.pk, consent_withdrawn_at__isnull=False).exists()
