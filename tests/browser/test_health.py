"""The account's health card in a real headless Chromium: the chart reads like time (a date
axis, the colour bands behind the line), hovering a day shows its score and top movers,
clicking a day loads its breakdown, and two picked days show the change split by indicator.
Screenshots at 1280 and 390 px go to test-artifacts/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from health.models import HealthScore
from tests.builders import DAY, assert_nothing_refused, log_in, two_scored_days, watch_csp

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
            breakdown=latest.breakdown_dict,
            missing=latest.missing_keys,
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
    expect(page.locator("#health-breakdown")).to_contain_text("Breakdown on 05/31/2024")
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


def test_a_csm_sets_a_judgement_beside_the_score_and_a_manager_resolves_it(
    new_page, org, csm, manager, account, artifacts
):
    """The CSM says green while the model says red; shown beside the score. With the model
    red for 21 days since a judgement set 20 days ago, the manager's queue lists it."""
    from health import services
    from health.models import CsmJudgement
    from orgs.tenancy import org_context
    from orgs.timezones import org_today

    page = new_page()
    log_in(page, csm.username)
    page.goto(f"/accounts/{account.pk}/")
    judgement = page.locator("#health-judgement")
    judgement.get_by_text("Give your judgement").click()
    judgement.get_by_label("Colour you would give").select_option("green")
    judgement.get_by_label("Reason").fill("Sponsor confirmed the renewal on the phone")
    judgement.get_by_role("button", name="Save the judgement").click()
    expect(judgement).to_contain_text("The CSM says:")
    expect(judgement).to_contain_text("Sponsor confirmed the renewal on the phone")
    expect(page.locator(".health-card__top")).to_contain_text("35")  # the model's score stays
    page.screenshot(path=artifacts / "health-judgement-desktop.png", full_page=True)

    today = org_today(org)
    with org_context(org):
        CsmJudgement.objects.update(set_on=today - dt.timedelta(days=20))
        for back in range(21):
            HealthScore.objects.update_or_create(
                account=account,
                date=today - dt.timedelta(days=back),
                defaults={"organization": org, "score": 30, "colour": "red", "breakdown": {}},
            )
    for width in (1280, 390):
        boss = new_page(width=width)
        log_in(boss, manager.username)
        boss.goto("/health/disagreements/")
        expect(boss.locator(".disagreements__item")).to_contain_text("21 days")
        overflow = boss.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        boss.screenshot(path=artifacts / f"health-disagreements-{width}.png", full_page=True)
        assert overflow <= 0
    boss.get_by_label("Resolution").select_option("model_change")
    boss.get_by_role("button", name="Resolve").click()
    expect(boss.get_by_text("No disagreement to review.")).to_be_visible()
    expect(boss.locator("body")).to_contain_text("Ask for a model change")
    assert services is not None


def test_the_model_page_shows_fitness_per_indicator_and_suggests_weights(
    new_page, org, analyst, artifacts
):
    """The page asks the background for the day's snapshot and polls until it is there; the
    worker's part is done here by calling its service (no worker in this test)."""
    from health import services
    from health.models import FitnessSnapshot
    from orgs.timezones import org_today
    from tests.builders import churn_history

    def work_off_the_queue():
        for snapshot in FitnessSnapshot.all_objects.filter(state="running"):
            services.fitness_snapshot_compute(snapshot_id=snapshot.pk)

    model = churn_history(org, org_today(org))
    for width in (1280, 390):
        page = watch_csp(new_page(width=width))
        log_in(page, analyst.username)
        page.goto(f"/health/models/{model.pk}/")
        work_off_the_queue()
        # the polling fragment picks the snapshot up by itself, without a reload
        expect(page.get_by_text("Each indicator on its own")).to_be_visible(timeout=10_000)
        if width == 1280:
            page.get_by_label("Lead time").select_option("30")
            page.get_by_role("button", name="Suggest weights").click()
            # the POST has been answered (queued, or fitted already by in-process tasks)
            expect(page.locator("#suggest")).to_contain_text(
                re.compile("Fitting in the background|Held-out AUC")
            )
            work_off_the_queue()
            expect(page.get_by_text("Held-out AUC")).to_be_visible(timeout=10_000)
            # htmx settles the swapped fragment: copying the drawn chart's inline canvas
            # style onto the new canvas would be a refused style attribute
            page.wait_for_timeout(500)
            assert_nothing_refused(page, "after Suggest weights")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        page.screenshot(path=artifacts / f"health-model-{width}.png", full_page=True)
        assert overflow <= 0
        assert page.js_errors == []
