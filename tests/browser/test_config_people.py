"""Users and roles and playbook templates in a real headless Chromium: an admin adds a member
(the invitation leaves), and reorders a template's steps with the keyboard only (htmx swaps
the steps in place and the focus stays on the moved step's button), then saves; the pages fit
a 390-pixel-wide screen without scrolling sideways, and nothing is refused by the
Content-Security-Policy. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from orgs.models import Membership
from orgs.tenancy import org_context
from playbooks.models import PlaybookTemplate
from tests.builders import log_in, template, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def swapped(page, act):
    """Do `act` and wait until htmx has swapped what it posted."""
    with page.expect_response(lambda r: r.request.method == "POST"):
        act()
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


def sideways(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def nothing_refused(page) -> bool:
    return page.csp_console == [] and page.evaluate("window.__cspViolations") == []


def titles(page) -> list[str]:
    return page.locator(".template-step input[name$='-title']").evaluate_all(
        "els => els.map(e => e.value)"
    )


def test_an_admin_adds_a_member(new_page, org, org_admin, csm, artifacts):
    page = watch_csp(new_page())
    log_in(page, org_admin.username)
    page.get_by_role("link", name="Configuration").click()
    page.get_by_role("navigation", name="Configuration").get_by_role(
        "link", name="Users and roles"
    ).click()
    page.get_by_label("Email").fill("nina.new@example.com")
    page.get_by_label("Name").fill("Nina New")
    page.get_by_label("Role").select_option("manager")
    page.get_by_label("Name").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nina New")
    expect(page.get_by_text("was added and sent an invitation")).to_be_visible()
    assert Membership.objects.get(user__email="nina.new@example.com").role == "manager"
    assert [m.to for m in mail.outbox] == [["nina.new@example.com"]]
    page.screenshot(path=artifacts / "members-detail-desktop.png", full_page=True)
    page.get_by_role("link", name="Users and roles").first.click()
    expect(page.locator("tr[data-member='nina.new@example.com']")).to_contain_text("Never")
    page.screenshot(path=artifacts / "members-list-desktop.png", full_page=True)
    assert nothing_refused(page) and page.js_errors == []

    phone = watch_csp(new_page(width=390, height=844))
    log_in(phone, org_admin.username)
    carla = Membership.objects.get(user=csm)
    for name, url in [
        ("list", "/configuration/members/"),
        ("detail", f"/configuration/members/{carla.pk}/"),
    ]:
        phone.goto(url)
        assert sideways(phone) == 0, name
        phone.screenshot(path=artifacts / f"members-{name}-phone.png", full_page=True)
    assert nothing_refused(phone)


def test_an_admin_reorders_a_templates_steps_with_the_keyboard(new_page, org, org_admin, artifacts):
    with org_context(org):
        t = template(
            org,
            "Rescue",
            "retention",
            steps=(("Call", 1, "owner"), ("Email", 3, "owner"), ("Review", 7, "manager")),
        )
    page = watch_csp(new_page())
    log_in(page, org_admin.username)
    page.goto(f"/configuration/templates/{t.pk}/")
    assert titles(page) == ["Call", "Email", "Review"]

    page.get_by_role("button", name="Down (step 1)").focus()
    swapped(page, lambda: page.keyboard.press("Enter"))
    assert titles(page) == ["Email", "Call", "Review"]
    # the focus stays with the step that moved, now second: Enter again moves it on
    expect(page.get_by_role("button", name="Down (step 2)")).to_be_focused()
    swapped(page, lambda: page.keyboard.press("Enter"))
    assert titles(page) == ["Email", "Review", "Call"]
    expect(page.get_by_role("button", name="Up (step 3)")).to_be_focused()
    page.screenshot(path=artifacts / "template-steps-desktop.png", full_page=True)

    page.get_by_role("button", name="Save template").last.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text("Template saved.")).to_be_visible()
    with org_context(org):
        saved = list(
            PlaybookTemplate.objects.get(pk=t.pk)
            .steps.order_by("order")
            .values_list("title", flat=True)
        )
    assert saved == ["Email", "Review", "Call"]
    assert nothing_refused(page) and page.js_errors == []

    phone = watch_csp(new_page(width=390, height=844))
    log_in(phone, org_admin.username)
    for name, url in [
        ("list", "/configuration/templates/"),
        ("form", f"/configuration/templates/{t.pk}/"),
    ]:
        phone.goto(url)
        assert sideways(phone) == 0, name
        phone.screenshot(path=artifacts / f"template-{name}-phone.png", full_page=True)
    assert nothing_refused(phone)
