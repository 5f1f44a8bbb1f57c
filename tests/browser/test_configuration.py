"""The configuration area in a real headless Chromium: an admin builds a trigger whose
condition has an any-group inside the all-group (through the builder's buttons and pickers,
htmx swapping the builder in place), saves the draft, dry-runs it and sees the count,
publishes it; the builder and the dry run fit a 390-pixel-wide screen without scrolling
sideways, and nothing is refused by the Content-Security-Policy. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.builders import WATCH_VIOLATIONS, log_in, trigger_world
from triggers.models import Trigger

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(org, csm, manager):
    return trigger_world(org, csm, manager)


def watch(page):
    page.csp_console = []
    page.on(
        "console",
        lambda msg: (
            page.csp_console.append(msg.text)
            if "Content Security Policy" in msg.text or msg.text.startswith("Refused to")
            else None
        ),
    )
    page.add_init_script(WATCH_VIOLATIONS)
    return page


def settle(page):
    page.wait_for_load_state("networkidle")


def swap(page, act):
    """Do `act` and wait until htmx has swapped the builder it posted."""
    with page.expect_response(lambda r: r.request.method == "POST"):
        act()
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


def sideways(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_an_admin_builds_dry_runs_and_publishes_a_trigger(new_page, org_admin, world, artifacts):
    page = watch(new_page())
    log_in(page, org_admin.username)
    page.get_by_role("link", name="Configuration").click()
    page.get_by_role("link", name="Triggers", exact=True).first.click()
    page.get_by_role("link", name="New trigger").click()
    page.get_by_label("Name").fill("Gold at risk")
    page.get_by_label("Kind").select_option("retention")
    page.get_by_label("When it fires").select_option("alert")
    page.get_by_label("Playbook template").select_option(label="Retention call")

    swap(page, lambda: page.get_by_role("button", name="Add a condition").click())
    expect(page.locator("#c-0-field")).to_be_focused()  # the keyboard goes to the new row
    swap(page, lambda: page.locator("#c-0-field").select_option(label="Tier"))
    swap(page, lambda: page.locator("#c-0-value").select_option("gold"))
    swap(page, lambda: page.get_by_role("button", name="+ Any-of group").first.click())
    swap(page, lambda: page.locator("#c-1-0-field").select_option(label="Health score"))
    swap(page, lambda: page.locator("#c-1-0-op").select_option("<"))
    page.locator("#c-1-0-value").fill("65")
    swap(page, lambda: page.locator("#c-1-0-value").press("Tab"))
    swap(page, lambda: page.locator("#c-1").get_by_role("button", name="+ Condition").click())
    swap(
        page,
        lambda: page.locator("#c-1-1-field").select_option(
            label="Days the oldest unpaid invoice is overdue"
        ),
    )
    swap(page, lambda: page.locator("#c-1-1-op").select_option(">"))
    page.locator("#c-1-1-value").fill("30")
    swap(page, lambda: page.locator("#c-1-1-value").press("Tab"))
    expect(page.locator("#builder-sentence")).to_contain_text(
        "Tier is gold and (Health score is less than 65 points or "
        "Days the oldest unpaid invoice is overdue is more than 30 days)"
    )
    page.screenshot(path=artifacts / "configuration-builder-desktop.png", full_page=True)

    page.get_by_role("button", name="Save draft").click()
    settle(page)
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    assert not Trigger.all_objects.filter(name="Gold at risk").exists()
    page.get_by_role("link", name="Dry run").click()
    # Delta (gold, score 60) and Echo (gold, an invoice 41 days overdue)
    expect(page.locator("#dry-run-fire")).to_have_text("2")
    expect(page.get_by_role("link", name="Delta")).to_be_visible()
    expect(page.get_by_role("link", name="Echo")).to_be_visible()
    page.screenshot(path=artifacts / "configuration-dry-run-desktop.png", full_page=True)
    page.get_by_role("link", name="Back to the draft").click()
    page.get_by_role("button", name="Publish", exact=True).click()
    settle(page)
    expect(page.get_by_text(re.compile("Published “Gold at risk”, version 1"))).to_be_visible()
    trigger = Trigger.all_objects.get(name="Gold at risk")
    assert trigger.condition["all"][1] == {
        "any": [
            {"field": "health_score", "op": "<", "value": 65},
            {"field": "overdue_invoice_max_days", "op": ">", "value": 30},
        ]
    }
    assert page.csp_console == [] and page.evaluate("window.__cspViolations") == []
    assert page.js_errors == []

    # The same pages on a phone
    phone = watch(new_page(width=390, height=844))
    log_in(phone, org_admin.username)
    for name, url in (
        ("builder", f"/configuration/triggers/{trigger.pk}/edit/"),
        ("dry-run", f"/configuration/triggers/{trigger.pk}/dry-run/"),
        ("backtest", f"/configuration/triggers/{trigger.pk}/backtest/"),
        ("triggers", "/configuration/triggers/"),
        ("personas", f"/configuration/personas/{world['accounts']['a'].persona_id}/"),
    ):
        phone.goto(url)
        settle(phone)
        phone.screenshot(path=artifacts / f"configuration-{name}-phone.png", full_page=True)
        assert sideways(phone) <= 0, name
    assert phone.csp_console == [] and phone.evaluate("window.__cspViolations") == []
