"""Versions in a real headless Chromium: an admin opens a trigger's history (version 2 beside
version 1, the change named "Changed"), restores version 1 as a draft, publishes it and sees
version 3 in the history with version 1's cool-down; pauses the trigger and sees it say so; a
persona's history side by side. The pages fit a 390-pixel-wide screen without scrolling
sideways, and nothing is refused by the Content-Security-Policy. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orgs.tenancy import org_context
from tests.browser.test_configuration import settle, sideways, watch
from tests.builders import log_in, trigger_world
from triggers import services
from triggers.models import Trigger, TriggerVersion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(org, csm, manager, org_admin):
    world = trigger_world(org, csm, manager)
    retention = world["triggers"]["retention"]
    with org_context(org):
        services.trigger_versions_record_initial(triggers=[retention])  # version 1: 30 days
        services.trigger_update(
            trigger=retention, data={"cooldown_days": 7}, acting_user=org_admin
        )  # version 2
    return world


def test_an_admin_restores_an_old_version_publishes_it_and_sees_the_next_one(
    new_page, org_admin, world, artifacts
):
    retention = world["triggers"]["retention"]
    page = watch(new_page())
    log_in(page, org_admin.username)
    page.goto(f"/configuration/triggers/{retention.pk}/")
    page.get_by_role("link", name="History").click()
    expect(page.locator("#compare-summary")).to_have_text("1 field changed, marked “Changed”.")
    expect(page.locator(".version-diff__row--changed th")).to_contain_text("Cool-down")
    expect(page.locator("#version-2")).to_contain_text("Current")
    page.screenshot(path=artifacts / "configuration-trigger-history-desktop.png", full_page=True)

    page.get_by_role("button", name="Restore version 1 as a draft").click()
    settle(page)
    expect(page.get_by_text(re.compile("Version 1 restored as a draft"))).to_be_visible()
    expect(page.locator('[name="cooldown_days"]')).to_have_value("30")
    page.get_by_role("button", name="Publish", exact=True).click()
    settle(page)
    expect(page.get_by_text(re.compile("Published “Retention risk”, version 3"))).to_be_visible()
    page.get_by_role("link", name="History").click()
    expect(page.locator("#version-3")).to_contain_text("Current")
    expect(page.locator("#version-3")).to_contain_text("Changed: Cool-down")
    expect(page.locator(".versions__item")).to_have_count(3)
    # version 3 beside version 2: 7 days then, 30 days now
    changed = page.locator(".version-diff__row--changed")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text("7 days")
    expect(changed).to_contain_text("30 days")
    rows = list(
        TriggerVersion.all_objects.filter(trigger=retention)
        .order_by("version")
        .values_list("version", "fields__cooldown_days")
    )
    assert rows == [(1, 30), (2, 7), (3, 30)]

    # pause it from its page: it says so
    page.goto(f"/configuration/triggers/{retention.pk}/")
    page.get_by_role("button", name="Pause").click()
    settle(page)
    expect(page.locator("#trigger-paused")).to_contain_text("fires nothing until it is resumed")
    assert not Trigger.all_objects.get(pk=retention.pk).is_active
    page.screenshot(path=artifacts / "configuration-trigger-paused-desktop.png", full_page=True)
    assert page.csp_console == [] and page.evaluate("window.__cspViolations") == []
    assert page.js_errors == []

    phone = watch(new_page(width=390, height=844))
    log_in(phone, org_admin.username)
    persona = world["accounts"]["a"].persona
    for name, url in (
        ("trigger-history", f"/configuration/triggers/{retention.pk}/history/"),
        ("trigger-paused", f"/configuration/triggers/{retention.pk}/"),
        ("persona-history", f"/configuration/personas/{persona.pk}/history/"),
        ("persona-draft", f"/configuration/personas/{persona.pk}/"),
    ):
        phone.goto(url)
        settle(phone)
        assert sideways(phone) <= 0, name
        phone.screenshot(path=artifacts / f"configuration-{name}-phone.png", full_page=True)
    assert phone.csp_console == [] and phone.evaluate("window.__cspViolations") == []
    assert phone.js_errors == []


def test_a_persona_history_shows_versions_side_by_side(new_page, org_admin, world, artifacts):
    persona = world["accounts"]["a"].persona
    page = watch(new_page())
    log_in(page, org_admin.username)
    page.goto(f"/configuration/personas/{persona.pk}/")
    page.get_by_label("Priority").fill("3")
    page.get_by_role("button", name="Save draft").click()
    settle(page)
    expect(page.get_by_text(re.compile("Draft saved"))).to_be_visible()
    page.get_by_role("button", name="Publish and refresh membership").click()
    settle(page)
    expect(page.get_by_text(re.compile("Published “Enterprise”, version 2"))).to_be_visible()
    page.get_by_role("link", name="History").click()
    expect(page.locator(".version-diff__row--changed th")).to_contain_text("Priority")
    expect(page.locator("#version-2")).to_contain_text("2 accounts in it then")
    page.screenshot(path=artifacts / "configuration-persona-history-desktop.png", full_page=True)
    assert page.csp_console == [] and page.evaluate("window.__cspViolations") == []
