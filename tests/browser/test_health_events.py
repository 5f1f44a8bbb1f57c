"""The health chart's event markers in a real headless Chromium: a playbook opened, a contact
logged and the colour change are drawn as markers of distinct shapes, named in a legend, and
hovering the playbook's marker says what it is in the tooltip."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from playbooks.models import Playbook
from tests import factories as f
from tests.browser.test_health import account, chart_state  # noqa: F401 the fixture
from tests.builders import DAY, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_events_are_markers_with_a_legend_and_a_tooltip(new_page, csm, account, org, artifacts):  # noqa: F811
    Playbook.all_objects.create(
        organization=org,
        account=account,
        kind="retention",
        title="Save Acme",
        opened_on=DAY - dt.timedelta(days=2),
    )
    f.InteractionFactory(
        account=account,
        summary="Called the sponsor",
        occurred_at=dt.datetime(2024, 6, 29, 15, tzinfo=dt.UTC),
    )
    page = new_page()
    log_in(page, csm.username)
    page.goto(f"/accounts/{account.pk}/")
    expect(page.locator("#health-chart")).to_be_visible()
    page.wait_for_function("() => document.getElementById('health-chart')._chart")
    legend = page.locator("#health-chart-legend")
    expect(legend).to_contain_text("Playbook opened")
    expect(legend).to_contain_text("Contact logged")
    expect(legend).to_contain_text("Colour changed")
    shapes = chart_state(
        page, "return c.data.datasets.slice(1).map(d => [d.label, d.pointStyle, d.data.length]);"
    )
    # the colour change is DAY − 3 (yellow on DAY − 30, red from DAY − 3)
    assert sorted(shapes) == [
        ["Colour changed", "star", 1],
        ["Contact logged", "circle", 1],
        ["Playbook opened", "triangle", 1],
    ]
    index = next(i for i, s in enumerate(shapes) if s[0] == "Playbook opened") + 1
    box = page.locator("#health-chart").bounding_box()
    x, y = chart_state(page, f"const p = c.getDatasetMeta({index}).data[0]; return [p.x, p.y];")
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.wait_for_function(
        "() => document.getElementById('health-chart')._chart.tooltip.opacity > 0"
    )
    lines = chart_state(page, "return c.tooltip.body.map(b => b.lines.join(' ')).join(' | ');")
    assert "Playbook opened: Save Acme" in lines
    page.screenshot(path=artifacts / "health-chart-events-desktop.png", full_page=True)
    phone = new_page(width=390, height=844)
    log_in(phone, csm.username)
    phone.goto(f"/accounts/{account.pk}/")
    expect(phone.locator("#health-chart")).to_be_visible()
    phone.wait_for_function("() => document.getElementById('health-chart')._chart")
    expect(phone.locator("#health-chart-legend")).to_be_visible()
    phone.screenshot(path=artifacts / "health-chart-events-phone.png", full_page=True)
    assert page.js_errors == [] and phone.js_errors == []
