"""Survey campaigns in the configuration area: admins only, saved with their words per
language, bad input named on its field."""

import pytest
from django.urls import reverse

from orgs.tenancy import org_context
from surveys.models import SurveyCampaign
from tests import factories as f
from tests.builders import template

pytestmark = pytest.mark.django_db


def _post(**extra):
    data = {
        "name": "Quarterly NPS",
        "kind": "nps",
        "cadence": "every",
        "days": "90",
        "link_days": "30",
        "lifecycle_stages": ["ongoing", "renewal"],
        "contact_roles": ["champion"],
        "is_active": "on",
        "subject_en": "A question, {name}",
        "body_en": "Hello {name}, how are we doing for {account}?",
    }
    data.update(extra)
    return data


@pytest.mark.parametrize("role", ["csm", "manager", "analyst"])
def test_only_admins_open_or_change_surveys(client, org, role):
    user = f.UserFactory(username=f"who.{role}")
    f.MembershipFactory(user=user, organization=org, role=role)
    client.force_login(user)
    assert client.get(reverse("configuration:surveys")).status_code == 403
    assert client.post(reverse("configuration:survey_new"), _post()).status_code == 403
    assert not SurveyCampaign.all_objects.exists()


def test_a_campaign_is_saved_with_its_targeting_and_words(client, org, org_admin):
    with org_context(org):
        followup = template(org, "Call back", "retention")
    client.force_login(org_admin)
    response = client.post(
        reverse("configuration:survey_new"), _post(followup_template=str(followup.pk))
    )
    assert response.status_code == 302
    c = SurveyCampaign.all_objects.get(organization=org)
    assert (c.lifecycle_stages, c.contact_roles, c.days, c.followup_template_id) == (
        ["ongoing", "renewal"],
        ["champion"],
        90,
        followup.pk,
    )
    assert c.messages == {
        "en": {
            "subject": "A question, {name}",
            "body": "Hello {name}, how are we doing for {account}?",
        }
    }
    page = client.get(reverse("configuration:surveys"))
    assert page.status_code == 200 and "Quarterly NPS" in page.content.decode()
    assert client.get(response.url).status_code == 200


def test_bad_input_is_named_on_its_field(client, org, org_admin):
    client.force_login(org_admin)
    response = client.post(
        reverse("configuration:survey_new"),
        _post(days="0", body_en="", lifecycle_stages=["nowhere"]),
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert {"days", "body_en", "lifecycle_stages"} <= set(form.errors)
    assert not SurveyCampaign.all_objects.exists()
