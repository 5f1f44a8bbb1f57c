"""Bad input to the admin and the organization switch: a clear error on the field, a 404 or a
message, never a 500, and nothing saved."""

import json

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.urls import reverse

from accounts.models import Persona
from health.models import HealthModel
from orgs.selectors import SESSION_ORG_KEY
from orgs.tenancy import TenantModel
from tests.builders import template
from tests.factories import MembershipFactory, OrganizationFactory, PersonaFactory, UserFactory
from triggers.models import Trigger

pytestmark = pytest.mark.django_db


def trigger_form(template_pk, **extra):
    data = {
        "name": "Low score",
        "kind": "retention",
        "persona": "",
        "product": "",
        "condition": json.dumps({"field": "health_score", "op": "<", "value": 51}),
        "schedule": "nightly",
        "cooldown_days": "30",
        "action": "alert",
        "template": str(template_pk),
        "is_active": "on",
    }
    return {**data, **extra}


def test_a_duplicate_trigger_name_is_an_error_on_the_name(client, org, other_org, org_admin):
    t = template(org, "Save", "retention")
    client.force_login(org_admin)
    assert client.post("/admin/triggers/trigger/add/", trigger_form(t.pk)).status_code == 302
    response = client.post("/admin/triggers/trigger/add/", trigger_form(t.pk))
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors
    assert "already exists in this organization" in response.content.decode()
    assert Trigger.all_objects.filter(organization=org).count() == 1
    # The same name in another organization is no conflict.
    other_template = template(other_org, "Save", "retention")
    Trigger.all_objects.create(
        organization=other_org,
        name="Other",
        kind="retention",
        condition={"field": "health_score", "op": "<", "value": 51},
        template=other_template,
    )
    Trigger.all_objects.filter(organization=other_org).update(name="Low score 2")
    second = client.post("/admin/triggers/trigger/add/", trigger_form(t.pk, name="Low score 2"))
    assert second.status_code == 302


def test_renaming_a_trigger_onto_another_is_refused(client, org, org_admin):
    t = template(org, "Save", "retention")
    client.force_login(org_admin)
    client.post("/admin/triggers/trigger/add/", trigger_form(t.pk, name="First"))
    client.post("/admin/triggers/trigger/add/", trigger_form(t.pk, name="Second"))
    second = Trigger.all_objects.get(name="Second")
    url = f"/admin/triggers/trigger/{second.pk}/change/"
    response = client.post(url, trigger_form(t.pk, name="First"))
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors
    second.refresh_from_db()
    assert second.name == "Second"


def test_a_duplicate_persona_slug_is_an_error_on_the_slug(client, org, org_admin):
    PersonaFactory(organization=org, name="Enterprise", slug="enterprise")
    client.force_login(org_admin)
    response = client.post(
        "/admin/accounts/persona/add/",
        {"name": "Enterprise 2", "slug": "enterprise", "priority": "5", "rules": "{}"},
    )
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert Persona.all_objects.filter(organization=org).count() == 1


def test_a_second_default_health_model_is_refused(client, org, org_admin):
    HealthModel.all_objects.create(organization=org, name="Default")
    client.force_login(org_admin)
    response = client.post(
        "/admin/health/healthmodel/add/",
        {
            "name": "Another default",
            "persona": "",
            "red_max": "50",
            "yellow_max": "75",
            "indicators-TOTAL_FORMS": "0",
            "indicators-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "already has a health model" in response.content.decode()
    assert HealthModel.all_objects.filter(organization=org).count() == 1


@pytest.mark.parametrize(
    "model", [m for m in admin.site._registry if issubclass(m, TenantModel)], ids=str
)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
@pytest.mark.parametrize("bad_id", ["abc", "9" * 30])
def test_a_non_numeric_id_in_an_admin_url_is_a_404(client, org_admin, model, view, bad_id):
    client.force_login(org_admin)
    url = reverse(admin_urlname(model._meta, view), args=["0"]).replace("/0/", f"/{bad_id}/")
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "9" * 30])
def test_a_non_numeric_id_is_a_404_for_a_superuser_too(client, bad_id):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    assert client.get(f"/admin/accounts/account/{bad_id}/change/").status_code == 404


@pytest.mark.parametrize("value", ["abc", "", "1; DROP TABLE orgs_organization", "-1", "１"])
def test_switching_to_a_non_id_is_refused_with_a_message(client, csm, org, value):
    client.force_login(csm)
    response = client.post(reverse("switch_organization"), {"organization": value}, follow=True)
    assert response.status_code == 200
    assert "is not one of your organizations" in response.content.decode()
    assert SESSION_ORG_KEY not in client.session


def test_switching_to_another_organization_one_is_not_a_member_of_is_refused(client, csm):
    stranger_org = OrganizationFactory(name="Stranger", slug="stranger")
    MembershipFactory(user=UserFactory(username="someone"), organization=stranger_org)
    client.force_login(csm)
    response = client.post(
        reverse("switch_organization"), {"organization": stranger_org.pk}, follow=True
    )
    assert "is not one of your organizations" in response.content.decode()
    assert client.session.get(SESSION_ORG_KEY) is None


@pytest.mark.parametrize("offset", ["731", "999999999999", "-1"])
def test_a_template_steps_offset_is_bounded(client, org, org_admin, offset):
    from playbooks.models import PlaybookTemplate, TemplateStep

    client.force_login(org_admin)
    response = client.post(
        "/admin/playbooks/playbooktemplate/add/",
        {
            "name": "Far away",
            "kind": "retention",
            "is_active": "on",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-order": "1",
            "steps-0-title": "Call",
            "steps-0-due_offset_days": offset,
            "steps-0-assignee": "owner",
        },
    )
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert "due_offset_days" in formset.forms[0].errors
    assert not PlaybookTemplate.all_objects.filter(name="Far away").exists()
    assert not TemplateStep.all_objects.exists()


def test_the_database_refuses_an_offset_beyond_two_years(org):
    from django.db import IntegrityError, transaction

    from playbooks.models import PlaybookTemplate, TemplateStep

    template = PlaybookTemplate.all_objects.create(organization=org, name="T", kind="custom")
    with pytest.raises(IntegrityError), transaction.atomic():
        TemplateStep.all_objects.create(
            organization=org, template=template, order=1, title="x", due_offset_days=731
        )


@pytest.mark.parametrize("condition", ["{not json", "[" * 20 + "]" * 20, "9" * 5000])
def test_a_refused_condition_says_one_thing(client, org, org_admin, condition):
    t = template(org, "Save", "retention")
    client.force_login(org_admin)
    response = client.post("/admin/triggers/trigger/add/", trigger_form(t.pk, condition=condition))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["condition"]
    assert len(errors) == 1, errors
    assert "empty" not in errors[0]


@pytest.mark.parametrize("role", ["csm", "manager", "analyst"])
def test_members_who_are_not_admins_are_told_the_admin_is_for_admins(client, org, role):
    user = UserFactory(username=f"just.{role}")
    MembershipFactory(user=user, organization=org, role=role)
    client.force_login(user)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert "for your organization's admins" in response.content.decode()
    assert 'name="password"' not in response.content.decode()


def test_org_admins_read_the_nightly_record_and_the_ledger_but_do_not_edit_them(
    client, org, org_admin
):
    client.force_login(org_admin)
    for model in (
        "health/healthrun",
        "triggers/alert",
        "triggers/retentionforecast",
        "accounts/mrrmovement",
        "health/healthscore",
        "triggers/firing",
    ):
        assert client.get(f"/admin/{model}/").status_code == 200, model
        assert client.get(f"/admin/{model}/add/").status_code == 403, model
