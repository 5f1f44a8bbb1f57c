"""The data pages in a real Chromium under the strict Content-Security-Policy: an admin
creates an API token (shown once, selected to copy), an analyst uploads a Brazilian CSV,
maps it, checks it and imports it; the API docs (Swagger UI from our own static files) load
and render the operations. Screenshots at 1280 and 390 px, with no horizontal scroll on the
phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Subscription
from tests import factories as f
from tests.builders import assert_nothing_refused, log_in, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = "Código;Conta;Produto;Valor mensal;Início\nS1;A1;analytics;R$ 1.234,56;31/12/2024\n"


def watched_page(new_page, width):
    return watch_csp(new_page(width=width))


def no_horizontal_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_creates_a_token_and_reads_the_docs(new_page, org, org_admin, artifacts, width):
    page = watched_page(new_page, width)
    log_in(page, org_admin.username)
    page.goto("/data/")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("Billing sync")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_role("textbox", name="Token", exact=True)
    value = token.input_value()
    assert value.startswith("csp_")
    expect(page.get_by_role("cell", name="Billing sync")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / f"data-tokens-{width}.png"), full_page=True)
    assert_nothing_refused(page, "tokens")

    page.goto("/api/v1/docs/")
    expect(page.get_by_text("/api/v1/usage/bulk/").first).to_be_visible(timeout=20_000)
    page.screenshot(path=str(artifacts / f"api-docs-{width}.png"))
    assert_nothing_refused(page, "api docs")


@pytest.mark.parametrize("width", [1280, 390])
def test_an_analyst_imports_a_brazilian_csv(new_page, org, analyst, artifacts, tmp_path, width):
    f.AccountFactory(organization=org, external_id="A1", name="Padaria")
    f.ProductFactory(organization=org, code="analytics")
    path = tmp_path / "assinaturas.csv"
    path.write_bytes(CSV.encode("cp1252"))
    page = watched_page(new_page, width)
    log_in(page, analyst.username)
    page.goto("/data/imports/")
    page.get_by_label("The file holds").select_option("subscriptions")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_label("Encoding")).to_have_value("cp1252")
    expect(page.get_by_label("Numbers")).to_have_value(",")
    expect(page.get_by_label("Valor mensal")).to_have_value("mrr")
    expect(page.get_by_role("cell", name="R$ 1.234,56")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / f"data-import-map-{width}.png"), full_page=True)
    page.get_by_role("button", name="Check every row").click()
    expect(page.get_by_text("The row is valid.")).to_be_visible()
    page.get_by_role("button", name="Import 1 row").click()
    expect(page.get_by_role("heading", name="Imported")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / f"data-import-done-{width}.png"), full_page=True)
    assert_nothing_refused(page, "import")
    assert str(Subscription.all_objects.get().mrr) == "1234.56"
