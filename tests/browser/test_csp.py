"""The strict Content-Security-Policy holds in a real Chromium: the main pages (portfolio, an
account page with its health chart drawn, My Work, a playbook) and the Django admin load, run
their scripts and swap their htmx fragments without one refused script, style or image."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orgs.tenancy import org_context
from playbooks.models import Playbook
from tests import factories as f
from tests.builders import DAY, assert_nothing_refused, log_in, trigger_world, watch_csp
from triggers import services as trigger_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def watched(new_page):
    return watch_csp(new_page())


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()}
    page.wait_for_load_state("networkidle")


def test_the_main_pages_break_no_rule_of_the_policy(watched, org, csm, manager):
    with org_context(org):
        world = trigger_world(org, csm, manager)
        trigger_services.triggers_evaluate(org=org, day=DAY)
        account = world["accounts"]["a"]
        playbook = Playbook.objects.get(account=account)
    page = watched
    log_in(page, csm.username)
    assert_nothing_refused(page, "login and My Work")

    visit(page, "/accounts/")
    expect(page.get_by_role("link", name="Alfa")).to_be_visible()
    assert_nothing_refused(page, "portfolio")

    visit(page, f"/accounts/{account.pk}/")
    # The health card arrives by htmx and Chart.js draws it (canvas styles are set from script,
    # which the policy allows; an inline style attribute or <style> element would be refused).
    points = page.wait_for_function(
        "() => { const c = document.getElementById('health-chart');"
        " return c && c._chart && c._chart.data.datasets[0].data.length; }"
    ).json_value()
    assert points >= 1
    page.locator("[data-chart-range][data-days='365']").click()
    assert_nothing_refused(page, "account page")

    visit(page, "/work/")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    expect(page.locator("#nav-notifications")).to_be_attached()  # swapped in by htmx
    assert_nothing_refused(page, "My Work")

    visit(page, f"/playbooks/{playbook.pk}/")
    expect(page.get_by_text("Enterprise growth: offer Analytics")).to_be_visible()
    assert_nothing_refused(page, "playbook page")


def test_the_django_admin_breaks_no_rule_of_the_policy(watched, org, csm):
    root = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    with org_context(org):
        account = f.AccountFactory(organization=org, name="Alfa", owner=csm)
    page = watched
    log_in(page, root.username)
    for url in (
        "/admin/",
        "/admin/accounts/account/",
        f"/admin/accounts/account/{account.pk}/change/",
        f"/admin/orgs/user/{csm.pk}/change/",  # memberships inline, organization autocomplete
        "/admin/orgs/user/add/",
    ):
        visit(page, url)
        assert_nothing_refused(page, url)
    # The admin's own scripts run: the sidebar filter is drawn and works.
    visit(page, "/admin/accounts/account/")
    expect(page.locator("#nav-filter")).to_be_visible()
    assert_nothing_refused(page, "admin list")
