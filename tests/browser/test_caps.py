"""Alert volume in a real headless Chromium: an admin changes the weekly cap with the keyboard
and labels only, sees the queue of night 1 (tests/triggers/test_caps.py) per CSM and the dry
run's per-CSM split; both pages fit a 390-pixel-wide screen, nothing is refused by the
Content-Security-Policy. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_configuration import settle, sideways, watch
from tests.builders import log_in
from tests.conftest import _member
from tests.triggers.test_caps import NIGHT1, _world
from triggers import services
from triggers.models import WeeklyCap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_sets_the_cap_and_sees_the_queue_and_the_dry_run(
    new_page, org, org_admin, csm, artifacts
):
    bruno = _member(org, "csm", "bruno.csm")
    accounts, retention, expansion = _world(org, csm, bruno)
    services.triggers_evaluate(org=org, day=NIGHT1)
    page = watch(new_page())
    log_in(page, org_admin.username)
    page.goto("/configuration/")
    page.get_by_role("link", name="Alert volume").first.click()
    settle(page)
    expect(page.locator("#org-cap-now")).to_contain_text("At most 2 new playbooks and alerts")
    expect(page.get_by_role("heading", name="5 firings wait in the queue")).to_be_visible()
    field = page.get_by_label("New playbooks and alerts per CSM per week")
    field.fill("1")
    field.press("Enter")  # the keyboard submits the form
    settle(page)
    expect(page.get_by_text("The weekly cap is saved.")).to_be_visible()
    expect(page.locator("#org-cap-now")).to_contain_text("At most 1 new playbook or alert")
    assert WeeklyCap.all_objects.get(organization=org, persona=None).per_csm == 1
    page.screenshot(path=artifacts / "configuration-caps-desktop.png", full_page=True)
    page.goto(f"/configuration/triggers/{retention.pk}/dry-run/")
    settle(page)
    # the page's week is today's (night 1 was in 2024: nothing delivered this week); after
    # night 1 the queued A2 and A8 (Carla) and U2 (no owner) would fire: with the cap now 1,
    # Carla receives 1 and 1 is held, the unowned pile receives its 1: 3, 1 held, 2 alerts
    expect(page.locator("#dry-run-fire")).to_have_text("3")
    expect(page.locator("#dry-run-held-cap")).to_have_text("1")
    expect(page.locator("#dry-run-create")).to_have_text("2")
    page.screenshot(path=artifacts / "configuration-caps-dry-run-desktop.png", full_page=True)
    assert page.csp_console == [] and page.evaluate("window.__cspViolations") == []
    assert page.js_errors == []

    phone = watch(new_page(width=390, height=844))
    log_in(phone, org_admin.username)
    for name, url in (
        ("caps", "/configuration/alert-volume/"),
        ("caps-dry-run", f"/configuration/triggers/{retention.pk}/dry-run/"),
    ):
        phone.goto(url)
        settle(phone)
        phone.screenshot(path=artifacts / f"configuration-{name}-phone.png", full_page=True)
        assert sideways(phone) <= 0, name
    assert phone.csp_console == [] and phone.evaluate("window.__cspViolations") == []
