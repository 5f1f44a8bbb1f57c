"""The account's health card in a real headless Chromium: the chart reads like time (a date
axis, the colour bands behind the line), hovering a day shows its score and top movers,
clicking a day loads its breakdown, and two picked days show the change split by indicator.
Screenshots at 1280 and 390 px go to test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from health.models import HealthScore
from tests.builders import DAY, log_in, two_scored_days

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def account(org, csm):
    """The builder's two days (DAY − 30: 74 yellow, DAY: 35 red) and three more, DAY − 3 to
    DAY − 1, with DAY's breakdown (35, red): a gap of 27 days, then daily scores."""
    account, model = two_scored_days(org)
    account.owner = csm
    type(account).all_objects.filter(pk=account.pk).update(owner=csm)
    latest = HealthScore.all_objects.get(account=account, date=DAY)
    for back in (3, 2, 1):
        HealthScore.all_objects.create(
            organization=org,
            account=account,
            date=DAY - dt.timedelta(days=back),
            model=model,
            model_version=2,
            score=35,
            colour="red",
            breakdown=latest.breakdown,
            missing=latest.missing,
        )
    return account


def chart_state(page, script: str):
    return page.evaluate(
        "() => { const c = document.getElementById('health-chart')._chart; " + script + " }"
    )


def test_the_chart_has_a_date_axis_a_tooltip_with_movers_and_clicks_to_a_day(
    new_page, csm, account, artifacts
):
    page = new_page()
    log_in(page, csm.username)
    page.goto(f"/accounts/{account.pk}/")
    expect(page.locator("#health-chart")).to_be_visible()
    page.wait_for_function("() => document.getElementById('health-chart')._chart")
    # a real date axis: x is days, DAY − 30 .. DAY spans 30 of them, and the gap breaks the line
    span = chart_state(page, "const d = c.data.datasets[0].data; return d[d.length-1].x - d[0].x;")
    assert span == 30
    assert (
        chart_state(page, "return c.data.datasets[0].data.filter(p => p.y === null).length;") == 1
    )
    ticks = chart_state(page, "return c.scales.x.ticks.map(t => t.label);")
    assert any("May" in t or "Jun" in t for t in ticks), ticks

    # hover DAY − 30's point: its score, and no movers (nothing before it)
    box = page.locator("#health-chart").bounding_box()
    x, y = chart_state(page, "const p = c.getDatasetMeta(0).data[0]; return [p.x, p.y];")
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.wait_for_function(
        "() => document.getElementById('health-chart')._chart.tooltip.opacity > 0"
    )
    assert "Score 74 (yellow)" in chart_state(page, "return c.tooltip.body[0].lines.join(' ');")

    # hover DAY − 3: it moved from 74 to 35 since DAY − 30; NPS moved most (−18)
    x, y = chart_state(page, "const p = c.getDatasetMeta(0).data[2]; return [p.x, p.y];")
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.wait_for_function(
        "() => (document.getElementById('health-chart')._chart.tooltip.afterBody || []).length > 0"
    )
    after = chart_state(page, "return c.tooltip.afterBody.join('|');")
    assert "Latest NPS -18.0" in after and "Usage frequency -13.5" in after
    page.screenshot(path=artifacts / "health-card-tooltip-desktop.png", full_page=True)

    # clicking the first day loads its breakdown
    x, y = chart_state(page, "const p = c.getDatasetMeta(0).data[0]; return [p.x, p.y];")
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator("#health-breakdown")).to_contain_text("Breakdown on 31 May 2024")
    assert page.js_errors == []


def test_two_picked_days_show_the_split_and_it_fits_a_phone(new_page, csm, account, artifacts):
    for width in (1280, 390):
        page = new_page(width=width)
        log_in(page, csm.username)
        page.goto(f"/accounts/{account.pk}/")
        explain = page.locator("#health-explain")
        expect(explain).to_contain_text("-39")  # the default: 30 days before the latest
        explain.get_by_label("From", exact=True).fill((DAY - dt.timedelta(days=3)).isoformat())
        explain.get_by_label("To", exact=True).fill(DAY.isoformat())
        explain.get_by_role("button", name="Compare").click()
        # DAY − 3 to DAY: both 35, nothing moved
        expect(explain).to_contain_text("from 35 on 2024-06-27 to 35 on 2024-06-30")
        explain.get_by_role("link", name="last 30 days").click()
        expect(explain).to_contain_text("active 18 → 9 of the last 30 days (logins)")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        page.screenshot(path=artifacts / f"health-card-explain-{width}.png", full_page=True)
        assert overflow <= 0, f"the account page scrolls sideways by {overflow}px at {width}"
        assert page.js_errors == []
