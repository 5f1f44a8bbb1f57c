"""The CSM workspace in a real headless Chromium: a CSM works alerts and steps in place (no
full reload), logs a contact and closes playbooks with outcomes; every main page fits a
390-pixel-wide screen. Screenshots of the main pages go to test-artifacts/."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Account, Subscription
from orgs.tenancy import org_context
from playbooks.models import Playbook, PlaybookContact, PlaybookStep
from tests import factories as f
from tests.builders import DAY, log_in, trigger_world
from triggers import services as trigger_services
from triggers.models import Alert, RetentionForecast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKER = "window.__csplatform_marker"


@pytest.fixture
def world(org, csm, manager):
    """The trigger fixture after one night: an expansion playbook on Alfa (a step for the CSM,
    one for the manager) and three retention alerts (Charlie, Delta, Echo) for the CSM."""
    with org_context(org):
        w = trigger_world(org, csm, manager)
        trigger_services.triggers_evaluate(org=org, day=DAY)
        for key, score, colour in (("a", 82, "green"), ("c", 43, "red"), ("d", 60, "yellow")):
            Account.objects.filter(pk=w["accounts"][key].pk).update(
                health_score=score, health_colour=colour, health_change_30d=-6
            )
        w["sponsor"] = f.ContactFactory(
            account=w["accounts"]["c"], name="Paula Sponsor", role="executive_sponsor"
        )
        f.ChurnReasonFactory(organization=org, name="Price")
        w["expansion"] = Playbook.objects.get(account=w["accounts"]["a"])
        w["alerts"] = {a.account.name: a for a in Alert.objects.select_related("account")}
    return w


def set_marker(page) -> None:
    page.evaluate(f"{MARKER} = 'no reload'")


def assert_no_reload(page) -> None:
    assert page.evaluate(MARKER) == "no reload", "the page was reloaded"


def test_csm_confirms_an_alert_completes_steps_logs_a_contact_and_retains(
    new_page, org, csm, world, artifacts
):
    page = new_page()
    log_in(page, csm.username)
    expect(page).to_have_url(re.compile(r"/work/$"))  # My Work is home
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    expect(page.locator("#count-alerts")).to_have_text("3")
    set_marker(page)

    # Confirm Charlie's alert: the playbook starts and its step joins the list, in place.
    charlie = world["alerts"]["Charlie"]
    alert = page.locator(f"#alert-{charlie.pk}")
    expect(alert).to_contain_text("The health score is 43")
    alert.get_by_role("button", name="Confirm and start the playbook").click()
    expect(alert).to_contain_text("Confirmed")
    expect(page.locator("#count-alerts")).to_have_text("2")
    expect(page.locator("#work-alerts-count")).to_have_text("2")
    with org_context(org):
        retention = Playbook.objects.get(account=world["accounts"]["c"])
        retention_step = PlaybookStep.objects.get(playbook=retention, assignee=csm)
        expansion_step = PlaybookStep.objects.get(playbook=world["expansion"], assignee=csm)
    step = page.locator(f"#step-{retention_step.pk}")
    expect(step).to_be_visible()
    expect(page.locator("#count-open")).to_have_text("2")
    page.screenshot(path=artifacts / "my-work-desktop.png", full_page=True)

    # Log a contact against the retention playbook, from its step.
    step.get_by_role("link", name="Log a contact").click()
    form = step.locator("form.contact-form")
    form.get_by_label("Who").select_option(label="Paula Sponsor (executive sponsor)")
    form.get_by_label("Channel").select_option("call")
    form.get_by_label("Summary").fill("Agreed a recovery plan")
    form.get_by_role("button", name="Log contact").click()
    expect(step).to_contain_text("Call logged: Agreed a recovery plan")

    # Complete two steps in place; the counts follow.
    step.get_by_role("button", name="Mark done").click()
    expect(step).to_contain_text("Marked as done.")
    other = page.locator(f"#step-{expansion_step.pk}")
    other.get_by_role("button", name="Mark done").click()
    expect(other).to_contain_text("Marked as done.")
    expect(page.locator("#count-open")).to_have_text("0")
    expect(page.locator("#work-steps-count")).to_have_text("0")
    expect(page.locator("#work-kinds")).to_contain_text("All 0")
    assert_no_reload(page)
    page.screenshot(path=artifacts / "my-work-after-desktop.png", full_page=True)

    with org_context(org):
        assert PlaybookStep.objects.get(pk=retention_step.pk).status == "done"
        assert PlaybookStep.objects.get(pk=expansion_step.pk).completed_by_id == csm.pk
        link = PlaybookContact.objects.select_related("interaction__contact").get(
            playbook=retention
        )
        assert link.interaction.contact_id == world["sponsor"].pk

    # Close the retention playbook as retained, on its page.
    page.goto(f"/playbooks/{retention.pk}/")
    expect(page.get_by_role("heading", name="Retention call")).to_be_visible()
    expect(page.locator("#playbook-contacts-list")).to_contain_text("Agreed a recovery plan")
    page.screenshot(path=artifacts / "playbook-retention-desktop.png", full_page=True)
    set_marker(page)
    page.get_by_role("radio", name="Retained (reverted)").check()
    expect(page.get_by_label("Churn reason")).to_be_hidden()  # only for a churn
    page.get_by_role("button", name="Close playbook").click()
    expect(page.locator("#playbook-body")).to_contain_text("Playbook closed: Retained (reverted).")
    expect(page.get_by_role("button", name="Close playbook")).to_have_count(0)
    assert_no_reload(page)
    assert not page.js_errors, page.js_errors
    with org_context(org):
        retention.refresh_from_db()
        assert (retention.status, retention.outcome) == ("completed", "retained")


def test_dismiss_needs_a_reason_shown_beside_the_field(new_page, csm, world):
    page = new_page()
    log_in(page, csm.username)
    set_marker(page)
    echo = page.locator(f"#alert-{world['alerts']['Echo'].pk}")
    echo.get_by_text("Dismiss…").click()
    echo.get_by_role("button", name="Dismiss alert").click()
    expect(echo.locator(".field__error")).to_contain_text("Say why the alert is dismissed.")
    expect(echo.get_by_label("Why dismiss it")).to_be_focused()
    echo.get_by_label("Why dismiss it").fill("Paid this morning")
    echo.get_by_role("button", name="Dismiss alert").click()
    expect(echo).to_contain_text("Dismissed.")
    expect(page.locator("#count-alerts")).to_have_text("2")
    assert_no_reload(page)


def test_csm_closes_an_expansion_as_won_and_sees_the_subscription(
    new_page, org, csm, world, artifacts
):
    page = new_page()
    log_in(page, csm.username)
    playbook = world["expansion"]
    page.goto(f"/playbooks/{playbook.pk}/")
    expect(page.get_by_text("Enterprise growth: offer Analytics")).to_be_visible()
    page.get_by_role("radio", name="Won", exact=True).check()
    page.get_by_label("Product offered").select_option(label="Analytics")
    page.get_by_label("Expected MRR").fill("400")
    page.get_by_role("button", name="Close playbook").click()
    # MRR won missing: the error shows beside its field, nothing is closed.
    expect(page.locator("#close-mrr_won_error")).to_contain_text("needs the MRR won")
    page.get_by_label("MRR won").fill("450")
    page.get_by_role("button", name="Close playbook").click()
    expect(page.locator("#playbook-body")).to_contain_text("Playbook closed: Won.")
    page.screenshot(path=artifacts / "playbook-expansion-won-desktop.png", full_page=True)

    page.get_by_role("link", name="Alfa").first.click()
    subscriptions = page.locator("#subscriptions")
    expect(subscriptions).to_contain_text("Analytics")
    expect(subscriptions).to_contain_text("450")
    expect(page.locator("#account-timeline")).to_contain_text("Playbook closed: Offer Analytics")
    # the health card arrives by htmx and its chart is drawn from the series it carries
    expect(page.locator("#health-chart")).to_be_visible()
    points = page.wait_for_function(
        "() => { const c = document.getElementById('health-chart');"
        " return c && c._chart && c._chart.data.datasets[0].data.length; }"
    ).json_value()
    assert points >= 1
    page.screenshot(path=artifacts / "account-360-desktop.png", full_page=True)
    with org_context(org):
        sub = Subscription.objects.get(
            account=world["accounts"]["a"], product=world["products"]["analytics"]
        )
        assert sub.mrr == Decimal("450.00")


def _fits(page, name: str, artifacts) -> None:
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=artifacts / f"{name}-390.png", full_page=True)
    assert width <= 390, f"{name}: the page scrolls sideways ({width}px wide at 390px)"


def test_every_main_page_fits_a_phone(new_page, org, csm, manager, world, artifacts):
    with org_context(org):
        account = world["accounts"]["c"]
        for i in range(3):
            f.InteractionFactory(account=account, summary=f"Check-in {i}", author=csm)
        enterprise = world["accounts"]["a"].persona
        for persona, product, actions in (
            (enterprise, world["products"]["core"], 12),
            (None, world["products"]["core"], 7),
            (enterprise, world["products"]["analytics"], 3),
        ):
            RetentionForecast.all_objects.create(
                organization=org,
                month=DAY.replace(day=1),
                persona=persona,
                product=product,
                alerts_raised=actions + 2,
                expected_actions=actions,
                accounts_at_risk=actions + 1,
                mrr_at_risk=Decimal(actions * 1000),
            )
    page = new_page(width=390, height=844)
    log_in(page, csm.username)
    _fits(page, "my-work", artifacts)
    # Open forms must fit too.
    first = page.locator(".step").first
    first.get_by_role("link", name="Snooze").click()
    expect(first.get_by_label("New due date")).to_be_focused()  # loaded on demand
    _fits(page, "my-work-snooze", artifacts)
    first.get_by_role("button", name="Cancel").click()
    expect(first.get_by_label("New due date")).to_have_count(0)
    first.get_by_role("link", name="Log a contact").click()
    expect(first.locator("form.contact-form")).to_be_visible()
    _fits(page, "my-work-forms", artifacts)
    page.goto(f"/playbooks/{world['expansion'].pk}/")
    page.get_by_role("radio", name="Won", exact=True).check()
    _fits(page, "playbook", artifacts)
    page.goto(f"/accounts/{account.pk}/")
    expect(page.locator("#account-timeline .timeline")).to_be_visible()
    expect(page.locator("#account-work .card__title")).to_be_visible()
    _fits(page, "account-360", artifacts)
    page.goto("/accounts/")
    _fits(page, "portfolio", artifacts)
    page.goto("/work/notifications/")
    _fits(page, "notifications", artifacts)

    manager_page = new_page(width=390, height=844)
    log_in(manager_page, manager.username)
    manager_page.goto("/work/team/")
    _fits(manager_page, "team", artifacts)
    manager_page.goto(f"/work/?user={csm.pk}")
    _fits(manager_page, "my-work-of-csm", artifacts)
    manager_page.goto("/work/forecast/")
    _fits(manager_page, "forecast", artifacts)
    assert not page.js_errors and not manager_page.js_errors


def test_the_timeline_loads_older_events_as_one_scrolls(new_page, org, csm, world):
    with org_context(org):
        account = world["accounts"]["b"]
        now = timezone.now()
        for i in range(45):
            f.InteractionFactory(
                account=account, summary=f"Touchpoint {i:02d}", occurred_at=now - dt.timedelta(i)
            )
    page = new_page()
    log_in(page, csm.username)
    page.goto(f"/accounts/{account.pk}/")
    items = page.locator("#account-timeline .timeline__item")
    expect(items).to_have_count(20)
    set_marker(page)
    page.locator(".timeline__more").scroll_into_view_if_needed()
    expect(items).to_have_count(40)
    page.locator(".timeline__more").scroll_into_view_if_needed()
    expect(items).to_have_count(45)
    expect(page.locator(".timeline__end")).to_contain_text("That is everything.")
    titles = items.locator(".timeline__title").all_inner_texts()
    assert len(set(titles)) == 45 and titles[0].startswith("Call: Touchpoint 00")
    assert_no_reload(page)


def test_a_picker_steps_by_keyboard_without_loading_a_page_per_step(new_page, manager, world):
    """The manager's 'whose work' picker submits itself when a person is chosen with the
    mouse, but arrow keys only move the choice; Enter (or leaving it) loads the page."""
    page = new_page()
    log_in(page, manager.username)
    page.goto("/work/")
    picker = page.locator("#work-user")
    expect(picker).to_be_visible()
    start = page.url
    picker.focus()
    picker.press("ArrowDown")
    page.wait_for_timeout(400)
    assert page.url == start, "an arrow key loaded another page"
    chosen = picker.input_value()
    picker.press("Enter")
    expect(page).to_have_url(re.compile(rf"user={chosen}"))
