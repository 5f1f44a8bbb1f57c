"""A contact answers a survey on a 390-px phone: no login, no horizontal scroll, the scale
reachable by keyboard, the strict policy unbroken; the answer lands once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import SurveyResponse
from surveys import links
from tests.builders import assert_nothing_refused, watch_csp
from tests.factories import SurveyCampaignFactory, SurveyInvitationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_contact_answers_on_a_phone(new_page, org, artifacts):
    invitation = SurveyInvitationFactory(campaign=SurveyCampaignFactory(organization=org))
    token = links.answer_token(org_id=org.pk, invitation_id=invitation.pk)
    page = watch_csp(new_page(width=390, height=844))
    response = page.goto(f"/survey/answer/{token}/")
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text("recommend Acme CS")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow}px of horizontal scroll at 390 px"
    page.screenshot(path=str(artifacts / "survey-answer-390.png"), full_page=True)
    # by keyboard: focus the 0, arrow to 3 (radios move with the arrow keys), then the comment
    page.get_by_label("0", exact=True).focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_label("3", exact=True)).to_be_checked()
    page.get_by_label("Anything you would like to tell us? (optional)").fill("Slow support")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("heading", name="Thank you for your answer")).to_be_visible()
    assert_nothing_refused(page, "survey answer")
    page.screenshot(path=str(artifacts / "survey-thanks-390.png"))
    answer = SurveyResponse.all_objects.get(account=invitation.account)
    assert (answer.score, answer.comment) == (3, "Slow support")
    again = page.goto(f"/survey/answer/{token}/")
    assert again.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This survey was already answered")
    desk = new_page()
    desk.goto(f"/survey/answer/{token}/")
    desk.screenshot(path=str(artifacts / "survey-used-1280.png"))


@pytest.mark.parametrize("width", [390, 1280])
def test_an_admin_defines_a_campaign_and_reads_the_report(
    new_page, org, org_admin, artifacts, width
):
    from tests.builders import log_in

    page = watch_csp(new_page(width=width, height=900))
    log_in(page, org_admin.username)
    page.goto("/configuration/surveys/new/")
    page.get_by_label("Name").fill("Quarterly NPS")
    page.get_by_label("Champion").check()
    page.get_by_label("Subject (English)").fill("A question, {name}")
    page.get_by_label("Message (English)").fill("Hello {name}, how are we doing?")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow}px of horizontal scroll at {width} px"
    page.screenshot(path=str(artifacts / f"survey-form-{width}.png"), full_page=True)
    page.get_by_role("button", name="Save survey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quarterly NPS")
    page.goto("/configuration/surveys/")
    expect(page.get_by_role("link", name="Quarterly NPS")).to_be_visible()
    page.goto("/reports/surveys/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Surveys")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow}px of horizontal scroll at {width} px on the report"
    page.screenshot(path=str(artifacts / f"survey-report-{width}.png"), full_page=True)
    assert_nothing_refused(page, "survey configuration and report")
