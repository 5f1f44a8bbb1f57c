"""Switching the language in a real headless Chromium: the user menu's switcher (a plain POST
form) turns the page Portuguese and back; the scripts' catalogue loads under the strict CSP;
the main pages in pt-BR fit a 390-pixel screen (Portuguese words are longer). Screenshots of
them at 1280 and 390 px go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Account
from orgs.tenancy import org_context
from playbooks.models import Playbook
from tests.builders import DAY, log_in, trigger_world
from triggers import services as trigger_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(org, csm, manager):
    with org_context(org):
        w = trigger_world(org, csm, manager)
        trigger_services.triggers_evaluate(org=org, day=DAY)
        Account.objects.filter(pk=w["accounts"]["c"].pk).update(
            health_score=43, health_colour="red"
        )
        w["expansion"] = Playbook.objects.get(account=w["accounts"]["a"])
    return w


def _switch(page, label: str) -> None:
    page.locator(".usermenu__toggle").click()
    page.get_by_label({"Português (Brasil)": "Language", "English": "Idioma"}[label]).select_option(
        label=label
    )
    page.wait_for_load_state("load")


def test_a_csm_switches_to_portuguese_and_back(new_page, org, csm, world):
    page = new_page()
    log_in(page, csm.username)
    expect(page).to_have_url(re.compile(r"/work/$"))
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"

    _switch(page, "Português (Brasil)")
    expect(page.get_by_role("heading", name="Meu trabalho")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "pt-br"
    expect(page.get_by_role("link", name="Carteira")).to_be_visible()
    # the alert's evidence, recorded in English at night, reads in Portuguese
    # (which alert comes first depends on the weekly cap's release order, so look at them all)
    expect(page.locator(".work-alert__why", has_text="A nota de saúde é 43")).to_have_count(1)
    # the scripts' strings come from the JavaScript catalogue, loaded under the CSP (a
    # deferred script: wait for the page's load, not only for its heading)
    page.wait_for_load_state("load")
    assert page.evaluate("window.gettext('Health score')") == "Nota de saúde"
    assert page.evaluate("document.body.dataset.locale") == "en-US"  # the organization's formats
    assert page.js_errors == []

    _switch(page, "English")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()


def _walk_in_portuguese(new_page, user, pages: dict[str, str], artifacts) -> None:
    """Each page at 1280 and 390 px as `user`: Portuguese, the organization's formats, no
    sideways scroll, no script error; a screenshot of each in test-artifacts/."""
    for width in (1280, 390):
        page = new_page(width=width)
        log_in(page, user.username)
        for name, url in pages.items():
            page.goto(url)
            page.wait_for_load_state("networkidle")
            assert page.locator("html").get_attribute("lang") == "pt-br", url
            assert page.evaluate("document.body.dataset.locale") == "pt-BR"
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{url} scrolls sideways by {overflow} px at {width} px"
            page.screenshot(path=str(artifacts / f"pt-br-{name}-{width}.png"), full_page=True)
        assert page.js_errors == []


def test_the_main_pages_in_portuguese_fit_a_phone(new_page, org, csm, world, artifacts):
    org.locale = "pt-br"
    org.save(update_fields=["locale"])
    pages = {
        "my-work": "/work/",
        "portfolio": "/accounts/",
        "account": f"/accounts/{world['accounts']['a'].pk}/",
        "playbook": f"/playbooks/{world['expansion'].pk}/",
    }
    _walk_in_portuguese(new_page, csm, pages, artifacts)


def test_the_configuration_pages_in_portuguese_fit_a_phone(
    new_page, org, org_admin, world, artifacts
):
    """The configuration area in pt-BR (longer words, field labels such as "Dias de atraso da
    fatura em aberto mais antiga") fits 390 px; screenshots at 1280 and 390 px."""
    org.locale = "pt-br"
    org.save(update_fields=["locale"])
    retention = world["triggers"]["retention"]
    pages = {
        "config-home": "/configuration/",
        "config-triggers": "/configuration/triggers/",
        "config-trigger": f"/configuration/triggers/{retention.pk}/",
        "config-trigger-edit": f"/configuration/triggers/{retention.pk}/edit/",
        "config-members": "/configuration/members/",
        "config-templates": "/configuration/templates/",
    }
    _walk_in_portuguese(new_page, org_admin, pages, artifacts)
