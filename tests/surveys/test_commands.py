"""`survey_send`: the dry run prints who would get what and writes nothing; bad arguments
are one line naming the option."""

import io
import json

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from surveys.models import SurveyInvitation
from tests.factories import AccountFactory, ContactFactory, SurveyCampaignFactory

pytestmark = pytest.mark.django_db


def test_the_dry_run_prints_who_would_get_what_and_writes_nothing(org):
    """Two consenting contacts and one without consent: two due."""
    account = AccountFactory(organization=org, name="Alfa")
    a = ContactFactory(account=account, name="Ana")
    b = ContactFactory(account=account, name="Bruno")
    ContactFactory(account=account, consent_given_at=None)
    campaign = SurveyCampaignFactory(organization=org, name="NPS")
    out = io.StringIO()
    call_command("survey_send", "--org", "acme", "--dry-run", stdout=out)
    data = json.loads(out.getvalue())
    assert data["dry_run"] is True and data["sent"] == 0
    (entry,) = data["campaigns"]
    assert entry["campaign_id"] == campaign.pk and entry["due"] == 2
    assert sorted((c["contact_id"], c["subject"]) for c in entry["contacts"]) == sorted(
        [(a.pk, "Quick question, Ana"), (b.pk, "Quick question, Bruno")]
    )
    assert not SurveyInvitation.all_objects.exists() and not mail.outbox
    out = io.StringIO()
    call_command("survey_send", "--org", "acme", "--campaign", str(campaign.pk), stdout=out)
    assert json.loads(out.getvalue())["sent"] == 2 and len(mail.outbox) == 2


def test_bad_arguments_name_the_option(org, other_org):
    foreign = SurveyCampaignFactory(organization=other_org)
    with pytest.raises(CommandError, match="--org: no organization with slug 'nope'"):
        call_command("survey_send", "--org", "nope")
    with pytest.raises(CommandError, match="--campaign: 'x' is not a campaign id"):
        call_command("survey_send", "--org", "acme", "--campaign", "x")
    with pytest.raises(CommandError, match=f"--campaign: no campaign {foreign.pk} in acme"):
        call_command("survey_send", "--org", "acme", "--campaign", str(foreign.pk))
