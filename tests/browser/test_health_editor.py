"""The health model editor in a real headless Chromium: an admin opens the default model's
editor from the configuration area, changes a weight in place, sees the preview move (htmx
posts the unsaved form; the hand-computed world of tests/configuration/health_world.py: one
account, B, goes from red to yellow), saves the draft, publishes it as version 2 and sees the
versions side by side. The editor, its preview and the history fit a 390-pixel-wide screen,
and nothing is refused by the Content-Security-Policy. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from health.models import HealthModel, Indicator
from orgs.tenancy import org_context
from orgs.timezones import org_today
from tests.browser.test_configuration import settle, sideways, watch
from tests.builders import log_in
from tests.configuration.health_world import world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def w(org):
    with org_context(org):
        return world(org, day=org_today(org))


def test_an_admin_edits_a_weight_sees_the_preview_move_and_publishes(
    new_page, org_admin, w, artifacts
):
    page = watch(new_page())
    log_in(page, org_admin.username)
    page.get_by_role("link", name="Configuration").click()
    page.locator(".config-tabs").get_by_role("link", name="Health models").click()
    page.get_by_role("link", name="Default health").click()
    settle(page)
    expect(page.locator("#preview-accounts")).to_have_text("3")
    expect(page.locator("#preview-changed")).to_have_text("0")

    weight = page.locator("#id_ind-0-weight")  # CSM sentiment: equal weights, by measure
    expect(page.locator("#id_ind-0-measure")).to_have_value("csm_sentiment")
    with page.expect_response(lambda r: r.request.method == "POST" and "preview" in r.url):
        weight.fill("3")
        weight.press("Tab")
    expect(page.locator("#preview-changed")).to_have_text("1")
    expect(page.locator("#preview-mean-after")).to_have_text("85.3")
    expect(page.locator("#preview-shares")).to_contain_text("75%")
    expect(page.locator("#share-0")).to_have_text("75% of the score")  # the row's own share
    expect(page.locator("#share-1")).to_have_text("25% of the score")
    # the distribution chart is drawn by charts.js on the swapped fragment
    page.wait_for_function("() => !!document.querySelector('#health-preview canvas')._chart")
    page.screenshot(path=artifacts / "health-editor-desktop.png", full_page=True)

    page.get_by_role("button", name="Save draft").click()
    settle(page)
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    assert Indicator.all_objects.get(pk=w["sentiment"].pk).weight == 1
    page.get_by_role("button", name="Publish", exact=True).click()
    settle(page)
    expect(page.get_by_text(re.compile("Published “Default health”, version 2"))).to_be_visible()
    assert HealthModel.all_objects.get(pk=w["model"].pk).version == 2
    assert Indicator.all_objects.get(pk=w["sentiment"].pk).weight == 3
    expect(page.locator("#version-compare")).to_contain_text("weight 3")
    page.screenshot(path=artifacts / "health-versions-desktop.png", full_page=True)
    assert page.csp_console == [] and page.evaluate("window.__cspViolations") == []
    assert page.js_errors == []

    phone = watch(new_page(width=390, height=844))
    log_in(phone, org_admin.username)
    pk = w["model"].pk
    for name, url in (
        ("editor", f"/configuration/health-models/{pk}/"),
        ("versions", f"/configuration/health-models/{pk}/history/"),
        ("models", "/configuration/health-models/"),
        ("cell", f"/configuration/health-models/{pk}/preview/accounts/?from=green&to=green"),
    ):
        phone.goto(url)
        settle(phone)
        phone.screenshot(path=artifacts / f"health-{name}-phone.png", full_page=True)
        assert sideways(phone) <= 0, name
    assert phone.csp_console == [] and phone.evaluate("window.__cspViolations") == []
    assert phone.js_errors == []
