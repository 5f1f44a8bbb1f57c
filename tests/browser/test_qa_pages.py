"""The pages the QA findings and the new drill-downs touched, in a real headless Chromium at
1280 and 390 px: each loads without a refused script or style, nothing scrolls sideways on a
phone, and the screenshots go to test-artifacts/ to be looked at: the drill-downs behind the
% of the reversal goal and a "without a playbook" baseline, the 403 page, the health model
editor's band hints, a health model's history and a trigger's history with zoned times."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orgs.tenancy import org_context
from tests.browser.test_configuration import settle, sideways
from tests.builders import assert_nothing_refused, log_in, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Q2 = "period=quarter&at=2024-Q2"


def shoot(new_page, username: str, pages: list[tuple[str, str]], artifacts, expect_text=None):
    for width, height in ((1280, 900), (390, 844)):
        page = watch_csp(new_page(width=width, height=height))
        log_in(page, username)
        for name, url in pages:
            page.goto(url)
            settle(page)
            if expect_text and name in expect_text:
                expect(page.locator("main")).to_contain_text(expect_text[name])
            page.screenshot(path=artifacts / f"qa-{name}-{width}.png", full_page=True)
            assert sideways(page) <= 0, (name, width, sideways(page))
            assert_nothing_refused(page, f"{name} at {width}")


def test_the_new_drill_downs_on_a_desktop_and_a_phone(new_page, org, csm, manager, artifacts):
    from tests.reports.fixtures import build

    with org_context(org):
        build(org, csm)
    goal = f"/reports/retention/monthly/goal_share/?{Q2}"
    shoot(
        new_page,
        manager.username,
        [("drill-goal", goal), ("retention", f"/reports/retention/?{Q2}")],
        artifacts,
        {"drill-goal": "1 reverted of 2 decided"},
    )


def test_the_403_and_the_configuration_pages_touched(
    new_page, org, csm, org_admin, manager, artifacts
):
    from tests.builders import trigger_world
    from tests.configuration.health_world import world as health_world

    with org_context(org):
        w = health_world(org)
        t = trigger_world(org, csm, manager)
    model = w["model"].pk
    trigger = t["triggers"]["retention"].pk
    shoot(
        new_page,
        org_admin.username,
        [
            ("health-draft", f"/configuration/health-models/{model}/"),
            ("health-history", f"/configuration/health-models/{model}/history/"),
            ("trigger-history", f"/configuration/triggers/{trigger}/history/"),
            ("alert-volume", "/configuration/alert-volume/"),
        ],
        artifacts,
        {"health-draft": "On its own"},
    )
    for width, height in ((1280, 900), (390, 844)):
        page = watch_csp(new_page(width=width, height=height))
        log_in(page, csm.username)
        response = page.goto("/configuration/")
        assert response.status == 403
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        page.screenshot(path=artifacts / f"qa-403-{width}.png", full_page=True)
        assert sideways(page) <= 0
        assert_nothing_refused(page, f"403 at {width}")
