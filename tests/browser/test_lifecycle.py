"""The journey in a real headless Chromium: the account page loads its journey card (stage,
activation, time to activation), the CSM records the goal of the purchase with the keyboard
and labels only (htmx swaps the card), the stage move is on the timeline; an admin changes
the lifecycle's days and opens a rule in the builder. Every page fits a 390-pixel screen and
nothing is refused by the Content-Security-Policy. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from accounts.models import LifecycleChange
from lifecycle.models import LifecycleSettings, PurchaseGoal
from tests import factories as f
from tests.browser.test_configuration import settle, sideways, watch
from tests.builders import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def account(org, csm):
    acc = f.AccountFactory(
        organization=org,
        name="Ana Logística",
        owner=csm,
        lifecycle_stage="ongoing",
        customer_since=dt.date(2024, 3, 1),
        activated_on=dt.date(2024, 4, 5),
    )
    f.SubscriptionFactory(account=acc, start_date=dt.date(2024, 3, 1))
    for frm, to, on in (
        ("", "onboarding", dt.date(2024, 3, 1)),
        ("onboarding", "adoption", dt.date(2024, 3, 31)),
        ("adoption", "ongoing", dt.date(2024, 4, 5)),
    ):
        LifecycleChange.all_objects.create(
            organization=org, account=acc, from_stage=frm, to_stage=to, changed_on=on
        )
    return acc


def test_a_csm_reads_the_journey_and_records_the_goal(new_page, csm, account, artifacts):
    page = watch(new_page())
    log_in(page, csm.username)
    page.goto(f"/accounts/{account.pk}/")
    settle(page)
    card = page.locator("#journey")
    expect(card).to_contain_text("35 days")  # 1 March -> 5 April
    expect(card).to_contain_text("Activated")
    page.get_by_text("Record the goal").click()
    goal = page.get_by_label("Goal of the purchase")
    goal.fill("Cut the time to ship an order by half")
    goal.press("Tab")
    page.keyboard.press("Enter")  # the focused "Save the goal" button
    expect(page.locator("#journey")).to_contain_text("Goal saved.")
    expect(page.locator("#journey")).to_contain_text("Cut the time to ship an order by half")
    assert PurchaseGoal.all_objects.get(account=account).recorded_by == csm
    expect(page.locator("#account-timeline")).to_contain_text("Entered the Ongoing stage")
    page.screenshot(path=artifacts / "lifecycle-account-desktop.png", full_page=True)
    assert page.csp_console == [] and page.evaluate("window.__cspViolations") == []
    assert page.js_errors == []

    phone = watch(new_page(width=390, height=844))
    log_in(phone, csm.username)
    phone.goto(f"/accounts/{account.pk}/")
    settle(phone)
    expect(phone.locator("#journey")).to_contain_text("Time to activation")
    phone.screenshot(path=artifacts / "lifecycle-account-phone.png", full_page=True)
    assert sideways(phone) <= 0
    assert phone.csp_console == [] and phone.evaluate("window.__cspViolations") == []


def test_an_admin_changes_the_days_and_opens_a_rule(new_page, org, org_admin, artifacts):
    page = watch(new_page())
    log_in(page, org_admin.username)
    page.goto("/configuration/")
    page.get_by_role("link", name="Lifecycle").first.click()
    settle(page)
    expect(page.locator("#lifecycle-rules")).to_contain_text(
        "Days since the first subscription is less than 30"
    )
    field = page.get_by_label("onboarding lasts (days after the first subscription)")
    field.fill("45")
    field.press("Enter")
    settle(page)
    expect(page.get_by_text("Saved: the next night moves the stages")).to_be_visible()
    expect(page.locator("#lifecycle-rules")).to_contain_text("is less than 45")
    assert LifecycleSettings.all_objects.get(organization=org).onboarding_days == 45
    page.screenshot(path=artifacts / "configuration-lifecycle-desktop.png", full_page=True)
    page.locator("#lifecycle-rules a[href$='/lifecycle/activation/']").click()
    settle(page)
    expect(page.locator("#builder-sentence")).to_contain_text("Logins: active days over 30 days")
    page.screenshot(path=artifacts / "configuration-lifecycle-rule-desktop.png", full_page=True)
    assert page.csp_console == [] and page.evaluate("window.__cspViolations") == []

    phone = watch(new_page(width=390, height=844))
    log_in(phone, org_admin.username)
    for name, url in (
        ("lifecycle", "/configuration/lifecycle/"),
        ("lifecycle-rule", "/configuration/lifecycle/activation/"),
    ):
        phone.goto(url)
        settle(phone)
        phone.screenshot(path=artifacts / f"configuration-{name}-phone.png", full_page=True)
        assert sideways(phone) <= 0, name
    assert phone.csp_console == [] and phone.evaluate("window.__cspViolations") == []
