"""An organization's time zone: only IANA names are saved (the error names the field), and a
zone stored wrong anyway makes the organization's days UTC with a warning, so every page,
the admin's among them, still renders and the admin can put it right."""

import datetime as dt
import logging
import zoneinfo

import pytest
from django.core import management
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from orgs.models import Organization
from orgs.timezones import org_today, org_zone, timezone_names, validate_timezone
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

INVALID = ["Mars/Olympus", "", "America/Sao Paulo", "../../etc/passwd", "utc", "+03:00", "x" * 64]


@pytest.mark.parametrize("name", ["America/Sao_Paulo", "Europe/Lisbon", "UTC", "Asia/Kolkata"])
def test_iana_names_are_valid(name):
    validate_timezone(name)
    assert name in timezone_names()


@pytest.mark.parametrize("name", INVALID)
def test_other_names_are_refused_on_the_field(org, name):
    org.timezone = name
    with pytest.raises(ValidationError) as info:
        org.full_clean()
    words = "cannot be blank" if name == "" else "is not a time zone name of the IANA list"
    assert words in info.value.message_dict["timezone"][-1]


def test_the_admin_form_refuses_an_invalid_zone_and_keeps_the_old_one(client, org, org_admin):
    client.force_login(org_admin)
    url = reverse("admin:orgs_organization_change", args=[org.pk])
    data = {"name": org.name, "slug": org.slug, "currency": "BRL", "locale": "pt-br"}
    response = client.post(url, {**data, "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["timezone"] == [
        "'Mars/Olympus' is not a time zone name of the IANA list; use one such as "
        "America/Sao_Paulo, Europe/Lisbon or UTC"
    ]
    org.refresh_from_db()
    assert org.timezone == "America/Sao_Paulo"


def break_zone(org, name="Mars/Olympus"):
    """What a row written before the validator (or by a script) holds."""
    Organization.objects.filter(pk=org.pk).update(timezone=name)
    org.refresh_from_db()


@pytest.mark.parametrize("name", INVALID)
def test_an_invalid_stored_zone_reads_as_utc_with_a_warning(org, name, caplog):
    break_zone(org, name)
    with caplog.at_level(logging.WARNING, logger="orgs.timezones"):
        assert org_zone(org) == zoneinfo.ZoneInfo("UTC")
    assert f"organization {org.pk} (acme) has an invalid time zone {name!r}" in caplog.text
    assert org_today(org) == timezone.now().astimezone(dt.UTC).date()


def test_a_valid_zone_is_used(org):
    org.timezone = "Pacific/Kiritimati"  # UTC+14: its today is often not UTC's
    expected = timezone.now().astimezone(zoneinfo.ZoneInfo("Pacific/Kiritimati")).date()
    assert org_zone(org).key == "Pacific/Kiritimati" and org_today(org) == expected


@pytest.mark.parametrize(
    "page",
    [
        "workspace:my_work",
        "accounts:portfolio",
        "admin:index",
        "admin:orgs_organization_changelist",
    ],
)
def test_pages_render_with_an_invalid_stored_zone(client, org, org_admin, page, caplog):
    AccountFactory(organization=org)
    break_zone(org)
    client.force_login(org_admin)
    with caplog.at_level(logging.WARNING, logger="orgs.timezones"):
        response = client.get(reverse(page), follow=True)
    assert response.status_code == 200
    assert "has an invalid time zone 'Mars/Olympus'" in caplog.text


def test_the_account_page_and_timeline_render_with_an_invalid_stored_zone(client, org, csm):
    account = AccountFactory(organization=org, owner=csm)
    break_zone(org)
    client.force_login(csm)
    assert client.get(reverse("accounts:detail", args=[account.pk])).status_code == 200
    timeline = reverse("workspace:account_timeline", args=[account.pk])
    assert client.get(timeline).status_code == 200


def test_the_admin_can_put_the_zone_right(client, org, org_admin):
    break_zone(org)
    client.force_login(org_admin)
    url = reverse("admin:orgs_organization_change", args=[org.pk])
    assert client.get(url).status_code == 200
    data = {"name": org.name, "slug": org.slug, "currency": "BRL", "locale": "pt-br"}
    response = client.post(url, {**data, "timezone": "Europe/Lisbon"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.timezone == "Europe/Lisbon"


def test_the_nightly_scoring_runs_with_an_invalid_stored_zone(org, capsys):
    from tests.builders import simple_model

    AccountFactory(organization=org, customer_since=dt.date(2023, 1, 1))
    simple_model(org)
    break_zone(org)
    management.call_command("score_health", "--org", "acme", "--date", "2024-06-30")
    assert "acme 2024-06-30: done, 1 accounts" in capsys.readouterr().out
