"""Every model is in the Django admin, and an organization's admin sees it scoped."""

import pytest
from django.apps import apps
from django.contrib import admin

pytestmark = pytest.mark.django_db

APPS = ("orgs", "accounts", "health", "playbooks", "triggers", "reports", "surveys")


def test_every_model_is_registered():
    missing = [
        f"{m._meta.app_label}.{m.__name__}"
        for label in APPS
        for m in apps.get_app_config(label).get_models()
        if m not in admin.site._registry and not m._meta.auto_created
    ]
    assert missing == []


@pytest.mark.parametrize(
    "url",
    [
        "/admin/health/indicator/",
        "/admin/health/healthrunchunk/",
        "/admin/playbooks/templatestep/",
        "/admin/playbooks/playbookstep/",
        "/admin/playbooks/playbookcontact/",
        "/admin/triggers/firing/",
    ],
)
def test_org_admin_opens_the_lists_and_a_csm_cannot(client, org_admin, csm, url):
    client.force_login(org_admin)
    assert client.get(url).status_code == 200
    client.force_login(csm)
    assert client.get(url).status_code == 302  # to the admin login: no configuration for CSMs
