"""The reports in a real headless Chromium: a manager lands on the headline figures, changes
the period in the filter bar (the report swaps in place and the URL follows), sees the charts
drawn, follows a number to the accounts behind it; every report fits a 390-pixel-wide screen
without the page scrolling sideways; nothing is refused by the Content-Security-Policy; the
retention forecast draws risk in the danger colour. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orgs.tenancy import org_context
from tests.builders import WATCH_VIOLATIONS, log_in
from tests.reports.fixtures import build
from triggers.models import RetentionForecast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Q2 = "period=quarter&at=2024-Q2"
REPORTS = ("trigger_performance", "retention", "portfolio", "effectiveness")


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


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


def assert_clean(page, where):
    assert page.csp_console == [], (where, page.csp_console)
    assert page.evaluate("window.__cspViolations || []") == [], where
    assert page.js_errors == [], (where, page.js_errors)


def test_a_manager_reads_the_reports(new_page, manager, world, artifacts):
    page = watch(new_page())
    log_in(page, manager.username)
    expect(page).to_have_url(re.compile(r"/reports/$"))  # a manager's home
    expect(page.get_by_role("heading", name="Your team at a glance")).to_be_visible()
    expect(page.get_by_role("link", name="Go to My work")).to_be_visible()
    page.screenshot(path=artifacts / "reports-home-desktop.png", full_page=True)

    page.goto(f"/reports/trigger_performance/?{Q2}")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name="Trigger performance", level=1)).to_be_visible()
    # both charts are drawn (by static/js/charts.js, from their json_script data)
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => !!c._chart)"
    )
    assert drawn and all(drawn), drawn
    page.screenshot(path=artifacts / "reports-triggers-desktop.png", full_page=True)
    page.evaluate("window.__marker = 'no reload'")

    # the period changes in place; the URL says what is shown
    page.get_by_label("Period").select_option("year")
    expect(page).to_have_url(re.compile(r"period=year"))
    expect(page.locator(".report-page__scope")).to_contain_text("(to date)")
    assert page.evaluate("window.__marker") == "no reload"
    page.get_by_label("Which").select_option("2024")
    expect(page).to_have_url(re.compile(r"at=2024"))
    expect(page.locator(".report-page__scope")).to_contain_text("2024-01-01")

    # a number leads to the accounts behind it
    page.locator("#table-expansion a.drill-link").filter(has_text="1").first.click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", level=1)).to_contain_text("2024")
    expect(page.locator("#drill-list")).to_contain_text("Alfa")
    page.screenshot(path=artifacts / "reports-drill-desktop.png", full_page=True)
    assert_clean(page, "reports")


@pytest.mark.parametrize("name", REPORTS)
def test_each_report_fits_a_phone(new_page, manager, world, artifacts, name):
    page = watch(new_page(width=390, height=844))
    log_in(page, manager.username)
    page.goto(f"/reports/{name}/?{Q2}")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("button", name="Show")).to_be_visible()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px"
    # a table wider than the screen (the cohort triangle) scrolls in its box, by keyboard too
    unreachable = page.evaluate(
        """Array.from(document.querySelectorAll('.table-wrap'))
             .filter(w => w.scrollWidth > w.clientWidth && w.tabIndex < 0).length"""
    )
    assert unreachable == 0, f"{name}: {unreachable} scrolling tables cannot take the focus"
    details = page.locator("#definitions")
    details.locator("summary").click()
    expect(details.locator("dt").first).to_be_visible()
    page.screenshot(path=artifacts / f"reports-{name}-phone.png", full_page=True)
    assert_clean(page, name)


def test_the_forecast_draws_risk_in_the_danger_colour(new_page, org, manager, world, artifacts):
    with org_context(org):
        RetentionForecast.all_objects.create(
            organization=org,
            month=dt.date(2024, 6, 1),
            alerts_raised=5,
            expected_actions=5,
            accounts_at_risk=5,
            mrr_at_risk=Decimal("900"),
        )
    page = watch(new_page(width=390, height=844))
    log_in(page, manager.username)
    page.goto("/work/forecast/")
    page.wait_for_load_state("networkidle")
    fill = page.evaluate("getComputedStyle(document.querySelector('.risk-bar__value')).fill")
    assert fill == "rgb(163, 25, 28)", fill  # --danger, not a meter's green
    page.screenshot(path=artifacts / "forecast-phone.png", full_page=True)
    assert_clean(page, "forecast")
