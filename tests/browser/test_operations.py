"""The nightly status page in a real headless Chromium, as an admin: a failed night with what
the sweeper did, at 1280 and 390 pixels (no sideways scroll), and the banner on the home page.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from health.models import HealthRun
from tests.builders import log_in
from tests.operations.test_views import night

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_reads_a_failed_night_on_a_desktop_and_a_phone(
    new_page, org, org_admin, artifacts
):
    today = timezone.localdate()
    run = night(
        org,
        today,
        state="failed",
        chunks=(("done", 1), ("done", 2), ("failed", 3)),
        error="chunk 2: its worker was lost 3 times (lease expired at 02:14:05): given up",
    )
    HealthRun.all_objects.filter(pk=run.pk).update(
        repairs=[
            {
                "at": timezone.now().isoformat(),
                "action": "chunk_requeued",
                "detail": "chunk 1: its worker was lost (lease expired at 02:11:40, attempt 1):"
                " queued again",
            }
        ]
    )
    night(org, today - dt.timedelta(days=1), state="done")
    for width, height in ((1280, 900), (390, 844)):
        page = new_page(width=width, height=height)
        log_in(page, org_admin.username)
        banner = page.get_by_role("alert").filter(has_text="failed")
        expect(banner).to_contain_text(f"The night of {today.isoformat()} failed.")
        banner.get_by_role("link", name="See the nightly status").click()
        expect(page.get_by_role("heading", name="Nightly status")).to_be_visible()
        expect(page.locator(".night--failed")).to_contain_text("given up")
        expect(page.locator(".night--failed")).to_contain_text("queued again")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=artifacts / f"operations-nightly-{width}.png", full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"the page scrolls sideways ({scroll}px at {width}px)"
        assert page.js_errors == []
