"""The top navigation in a real headless Chromium: an admin's bar (ten destinations) keeps
one line at 1280 px, the less daily ones under a "More" menu that the keyboard opens (Enter),
walks (Tab) and closes (Escape); at 390 px nothing scrolls sideways and the menu's links are
on screen. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.builders import assert_nothing_refused, log_in, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ONE_LINE = """() => {
  const bar = document.querySelector('.topbar__inner');
  const tops = [...bar.children].filter(e => e.offsetParent !== null)
    .map(e => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2));
  const height = bar.getBoundingClientRect().height;
  return {spread: Math.max(...tops) - Math.min(...tops), height: height};
}"""


def test_an_admins_bar_fits_one_line_and_more_opens_from_the_keyboard(
    new_page, org, org_admin, artifacts
):
    page = watch_csp(new_page(width=1280))
    log_in(page, org_admin.username)
    page.goto("/accounts/")
    page.wait_for_load_state("networkidle")
    line = page.evaluate(ONE_LINE)
    # every piece of the bar (brand, organization, links, bell, user menu) centred on one
    # line, and the bar one line high (3.5rem plus its padding)
    assert line["spread"] <= 4 and line["height"] <= 72, line
    nav = page.get_by_role("navigation", name="Main")
    for name in ("My work", "Portfolio", "Team", "Reports", "Configuration"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    more = nav.locator("summary", has_text="More")
    expect(nav.get_by_role("link", name="Operations")).to_be_hidden()
    more.focus()
    page.keyboard.press("Enter")
    for name in ("Forecast", "Health models", "Data", "Operations", "Admin"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "nav-admin-more-1280.png")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Forecast"
    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Forecast")).to_be_hidden()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    for _ in range(4):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Operations"
    page.keyboard.press("Enter")
    page.wait_for_url("**/operations/nightly/")
    # on a page inside the menu, its toggle says so (in words for a screen reader too)
    expect(page.locator(".mainnav__more-toggle.is-current")).to_contain_text(
        "the current page is in it"
    )
    assert page.evaluate(ONE_LINE)["spread"] <= 4
    page.screenshot(path=artifacts / "nav-admin-1280.png")
    assert_nothing_refused(page, "navigation at 1280")

    phone = watch_csp(new_page(width=390, height=844))
    log_in(phone, org_admin.username)
    phone.goto("/accounts/")
    phone.wait_for_load_state("networkidle")
    pnav = phone.get_by_role("navigation", name="Main")
    pnav.locator("summary", has_text="More").click()
    link = pnav.get_by_role("link", name="Operations")
    expect(link).to_be_visible()
    box = link.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    scroll = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll <= 390, f"the page scrolls sideways ({scroll}px at 390px)"
    phone.screenshot(path=artifacts / "nav-admin-390.png")
    assert_nothing_refused(phone, "navigation at 390")
