"""The playbook page and the step actions: fragments and HX-Trigger events for htmx, errors
beside their fields (422), conflicts reported (409), tenancy (404 for another organization's
rows), roles (analysts read, never write) and bounded query counts."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Interaction, LifecycleStage, Subscription
from orgs.tenancy import org_context
from playbooks.models import Playbook, PlaybookContact, PlaybookStep, StepStatus
from tests.builders import DAY, template, trigger_world
from tests.factories import (
    AccountFactory,
    ChurnReasonFactory,
    ContactFactory,
    MembershipFactory,
    UserFactory,
)
from triggers import services as trigger_services

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(org, csm, manager, in_org):
    w = trigger_world(org, csm, manager)
    trigger_services.triggers_evaluate(org=org, day=DAY)
    # The fixture writes scores only; the account's latest-score columns are the pipeline's.
    Account.objects.filter(pk=w["accounts"]["a"].pk).update(health_score=82, health_colour="green")
    Account.objects.filter(pk=w["accounts"]["c"].pk).update(health_score=43, health_colour="red")
    w["expansion"] = Playbook.objects.get(account=w["accounts"]["a"])
    return w


@pytest.fixture
def retention(org, csm, world):
    """A retention playbook on Charlie, started by hand."""
    from playbooks.services import playbook_start

    return playbook_start(
        account=world["accounts"]["c"],
        template=world["templates"]["save"],
        acting_user=csm,
        today=DAY,
    )


@pytest.fixture
def stranger(other_org):
    """A CSM of another organization, with a playbook of their own there."""
    user = UserFactory(username="olga.other")
    MembershipFactory(user=user, organization=other_org, role="csm")
    return user


def events(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


def first_step(playbook) -> PlaybookStep:
    return PlaybookStep.objects.filter(playbook=playbook).order_by("order").first()


# -- The page -----------------------------------------------------------------------------


def test_playbook_page_shows_summary_why_steps_and_outcome_form(client, csm, world):
    playbook = world["expansion"]
    client.force_login(csm)
    response = client.get(reverse("playbooks:detail", args=[playbook.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert "Alfa" in html and "Offer Analytics" in html
    assert "Enterprise growth: offer Analytics" in html  # the trigger that created it
    assert "35" in html  # the evidence: volume +35%
    assert 'class="health health--green' in html  # the account's health badge
    assert "Call the sponsor" in html and "Review with manager" in html
    assert 'name="version"' in html
    # The expansion outcome form: product, expected MRR, won/lost/no opportunity, MRR won.
    for name in ("opportunity_product", "expected_mrr", "mrr_won"):
        assert f'name="{name}"' in html
    assert 'value="won"' in html and 'value="no_opportunity"' in html
    assert 'name="churn_reason"' not in html
    # Only managers see the reassignment form.
    assert reverse("playbooks:reassign", args=[playbook.pk]) not in html


def test_retention_outcome_form_lists_the_orgs_churn_reasons(client, csm, org, retention):
    ChurnReasonFactory(organization=org, name="Price too high")
    client.force_login(csm)
    html = client.get(reverse("playbooks:detail", args=[retention.pk])).content.decode()
    assert 'name="churn_reason"' in html and "Price too high" in html
    assert 'value="risk_not_confirmed"' in html and 'value="retained"' in html
    assert 'name="mrr_won"' not in html


def test_sections_are_served_alone_to_htmx(client, csm, world):
    client.force_login(csm)
    url = reverse("playbooks:detail", args=[world["expansion"].pk])
    html = client.get(url, {"section": "playbook-steps"}, **HTMX).content.decode()
    assert html.lstrip().startswith('<section id="playbook-steps"')
    assert "<html" not in html


def test_manager_sees_reassign_form(client, manager, world):
    client.force_login(manager)
    html = client.get(reverse("playbooks:detail", args=[world["expansion"].pk])).content.decode()
    assert reverse("playbooks:reassign", args=[world["expansion"].pk]) in html


# -- Steps --------------------------------------------------------------------------------


def test_complete_step_returns_the_fragment_and_an_event(client, csm, world):
    step = first_step(world["expansion"])
    client.force_login(csm)
    response = client.post(
        reverse("playbooks:step_complete", args=[step.pk]),
        {"version": step.version, "where": "mywork"},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li id="step-{step.pk}"')
    assert "Marked as done." in html and "Done" in html
    assert "workChanged" in events(response)
    step.refresh_from_db()
    assert step.status == StepStatus.DONE and step.completed_by == csm
    assert step.version == 2


def test_a_step_completed_meanwhile_is_reported_not_overwritten(client, csm, manager, world):
    step = first_step(world["expansion"])
    stale = step.version
    client.force_login(manager)
    client.post(reverse("playbooks:step_complete", args=[step.pk]), {"version": stale}, **HTMX)
    client.force_login(csm)
    response = client.post(
        reverse("playbooks:step_note", args=[step.pk]),
        {"version": stale, "notes": "Called, no answer"},
        **HTMX,
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed by" in html and str(manager) in html
    assert 'role="alert"' in html
    step.refresh_from_db()
    assert step.completed_by == manager
    assert "Called, no answer" not in step.notes


def test_note_needs_text_and_shows_the_error_beside_the_field(client, csm, world):
    step = first_step(world["expansion"])
    client.force_login(csm)
    url = reverse("playbooks:step_note", args=[step.pk])
    response = client.post(url, {"version": step.version, "notes": ""}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="step-{step.pk}-note_error"' in html and "This field is required" in html
    assert '<details class="step__more" open>' in html
    response = client.post(url, {"version": step.version, "notes": "Sent the deck"}, **HTMX)
    assert response.status_code == 200 and "workChanged" in events(response)
    assert "Note added." in response.content.decode()
    step.refresh_from_db()
    assert "Sent the deck" in step.notes and step.version == 2


def test_my_work_loads_step_forms_on_demand_and_keeps_errors_in_the_slot(client, csm, world):
    step = first_step(world["expansion"])
    client.force_login(csm)
    url = reverse("playbooks:step", args=[step.pk])
    form = client.get(url, {"form": "snooze", "where": "mywork"}, **HTMX).content.decode()
    assert form.lstrip().startswith("{#") is False and "<form" in form
    assert 'name="due_on"' in form and "autofocus" in form and "data-clear-slot" in form
    page = client.get(reverse("workspace:my_work")).content.decode()
    assert f'id="step-{step.pk}-slot"' in page and 'name="due_on"' not in page  # not inline
    response = client.post(
        reverse("playbooks:step_note", args=[step.pk]),
        {"version": step.version, "notes": "", "where": "mywork"},
        **HTMX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    slot = html[html.index(f'id="step-{step.pk}-slot"') :]
    assert 'name="notes"' in slot and "This field is required" in slot


def test_analysts_get_no_step_forms(client, analyst, world):
    step = first_step(world["expansion"])
    client.force_login(analyst)
    url = reverse("playbooks:step", args=[step.pk])
    assert client.get(url, {"form": "note", "where": "mywork"}, **HTMX).status_code == 403


def test_snooze_validates_the_date_and_reason(client, csm, world):
    from django.utils import timezone

    step = first_step(world["expansion"])
    client.force_login(csm)
    url = reverse("playbooks:step_snooze", args=[step.pk])
    today = timezone.localdate()
    response = client.post(
        url, {"version": step.version, "due_on": today.isoformat(), "reason": ""}, **HTMX
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Choose a date after today." in html and "This field is required" in html
    later = today + dt.timedelta(days=5)
    response = client.post(
        url,
        {"version": step.version, "due_on": later.isoformat(), "reason": "Customer on holiday"},
        **HTMX,
    )
    assert response.status_code == 200 and "workChanged" in events(response)
    step.refresh_from_db()
    assert step.due_on == later and step.snoozed_reason == "Customer on holiday"


def test_plain_post_redirects_back_with_a_message(client, csm, world):
    step = first_step(world["expansion"])
    client.force_login(csm)
    response = client.post(
        reverse("playbooks:step_complete", args=[step.pk]),
        {"version": step.version, "where": "playbook"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(
        reverse("playbooks:detail", args=[world["expansion"].pk])
    )
    page = client.get(response["Location"]).content.decode()
    assert "Marked as done." in page


# -- Contacts -----------------------------------------------------------------------------


def test_log_contact_form_and_post(client, csm, world):
    playbook = world["expansion"]
    contact = ContactFactory(account=world["accounts"]["a"], name="Paula Sponsor")
    ContactFactory(account=world["accounts"]["b"], name="Not Here")
    client.force_login(csm)
    url = reverse("playbooks:log_contact", args=[playbook.pk])
    form = client.get(url, {"where": "mywork", "slot": "9"}, **HTMX).content.decode()
    assert "Paula Sponsor" in form and "Not Here" not in form
    assert 'name="summary"' in form and 'name="kind"' in form

    bad = client.post(url, {"kind": "call", "summary": "", "where": "mywork"}, **HTMX)
    assert bad.status_code == 422 and "This field is required" in bad.content.decode()

    response = client.post(
        url,
        {"contact": contact.pk, "kind": "call", "summary": "Demo booked", "where": "mywork"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Call logged: Demo booked" in response.content.decode()
    assert {"contactLogged", "timelineChanged"} <= set(events(response))
    link = PlaybookContact.objects.get(playbook=playbook)
    assert link.interaction.contact == contact and link.interaction.author == csm


def test_log_contact_refuses_a_contact_of_another_account(client, csm, world):
    elsewhere = ContactFactory(account=world["accounts"]["b"])
    client.force_login(csm)
    response = client.post(
        reverse("playbooks:log_contact", args=[world["expansion"].pk]),
        {"contact": elsewhere.pk, "kind": "call", "summary": "x"},
        **HTMX,
    )
    assert response.status_code == 422
    assert not Interaction.objects.exists()


# -- Closing ------------------------------------------------------------------------------


def test_close_expansion_won_adds_the_subscription(client, csm, world):
    playbook = world["expansion"]
    analytics = world["products"]["analytics"]
    client.force_login(csm)
    url = reverse("playbooks:close", args=[playbook.pk])
    missing = client.post(
        url, {"outcome": "won", "opportunity_product": analytics.pk, "mrr_won": ""}, **HTMX
    )
    assert missing.status_code == 422
    html = missing.content.decode()
    assert html.lstrip().startswith('<section id="playbook-outcome"')
    assert 'id="close-mrr_won_error"' in html and "needs the MRR won" in html

    response = client.post(
        url,
        {
            "outcome": "won",
            "opportunity_product": analytics.pk,
            "expected_mrr": "400",
            "mrr_won": "450.00",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#playbook-body"
    assert {"playbookClosed", "workChanged"} <= set(events(response))
    assert "Playbook closed: Won." in response.content.decode()
    playbook.refresh_from_db()
    assert playbook.outcome == "won" and playbook.mrr_won == Decimal("450.00")
    sub = Subscription.objects.get(account=playbook.account, product=analytics)
    assert sub.mrr == Decimal("450.00")
    # Closed: the steps left open are skipped and no form remains.
    assert not PlaybookStep.objects.filter(playbook=playbook, status="open").exists()
    page = client.get(reverse("playbooks:detail", args=[playbook.pk])).content.decode()
    assert 'name="outcome"' not in page and "MRR won" in page


def test_close_retention_as_churned_needs_a_reason(client, csm, org, retention):
    reason = ChurnReasonFactory(organization=org, name="Went to a competitor")
    client.force_login(csm)
    url = reverse("playbooks:close", args=[retention.pk])
    response = client.post(url, {"outcome": "churned"}, **HTMX)
    assert response.status_code == 422
    assert "choose a churn reason" in response.content.decode()
    response = client.post(url, {"outcome": "churned", "churn_reason": reason.pk}, **HTMX)
    assert response.status_code == 200
    account = Account.objects.get(pk=retention.account_id)
    assert account.lifecycle_stage == LifecycleStage.CHURNED and account.churn_reason == reason


def test_close_retention_as_retained(client, csm, retention):
    client.force_login(csm)
    response = client.post(
        reverse("playbooks:close", args=[retention.pk]), {"outcome": "retained"}, **HTMX
    )
    assert response.status_code == 200
    retention.refresh_from_db()
    assert retention.status == "completed" and retention.outcome == "retained"


def test_an_outcome_of_another_kind_is_refused_beside_the_field(client, csm, retention):
    client.force_login(csm)
    response = client.post(
        reverse("playbooks:close", args=[retention.pk]), {"outcome": "won"}, **HTMX
    )
    assert response.status_code == 422
    assert 'id="close-outcome_error"' in response.content.decode()


# -- Reassign -----------------------------------------------------------------------------


def test_manager_reassigns_a_playbook_and_its_open_steps(client, manager, org, world):
    other = UserFactory(username="otto.csm")
    MembershipFactory(user=other, organization=org, role="csm")
    playbook = world["expansion"]
    client.force_login(manager)
    response = client.post(
        reverse("playbooks:reassign", args=[playbook.pk]), {"owner": other.pk}, **HTMX
    )
    assert response.status_code == 200
    assert {"playbookReassigned", "stepsChanged", "workChanged"} <= set(events(response))
    playbook.refresh_from_db()
    assert playbook.owner == other
    assert first_step(playbook).assignee == other


def test_csm_cannot_reassign(client, csm, world):
    client.force_login(csm)
    response = client.post(
        reverse("playbooks:reassign", args=[world["expansion"].pk]), {"owner": csm.pk}, **HTMX
    )
    assert response.status_code == 403


# -- Tenancy and roles --------------------------------------------------------------------


def test_another_organizations_rows_are_404_everywhere(client, stranger, world):
    playbook = world["expansion"]
    step = first_step(playbook)
    client.force_login(stranger)
    assert client.get(reverse("playbooks:detail", args=[playbook.pk])).status_code == 404
    assert client.get(reverse("playbooks:step", args=[step.pk]), **HTMX).status_code == 404
    posts = [
        (reverse("playbooks:step_complete", args=[step.pk]), {"version": step.version}),
        (reverse("playbooks:step_note", args=[step.pk]), {"version": 1, "notes": "x"}),
        (
            reverse("playbooks:step_snooze", args=[step.pk]),
            {"version": 1, "due_on": "2099-01-01", "reason": "x"},
        ),
        (reverse("playbooks:log_contact", args=[playbook.pk]), {"kind": "call", "summary": "x"}),
        (reverse("playbooks:close", args=[playbook.pk]), {"outcome": "no_opportunity"}),
    ]
    for url, data in posts:
        assert client.post(url, data, **HTMX).status_code == 404, url
    step.refresh_from_db()
    assert step.status == StepStatus.OPEN and step.version == 1


def test_analysts_read_but_never_write(client, analyst, world):
    playbook = world["expansion"]
    step = first_step(playbook)
    client.force_login(analyst)
    page = client.get(reverse("playbooks:detail", args=[playbook.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Mark done" not in html and 'name="outcome"' not in html
    for url, data in [
        (reverse("playbooks:step_complete", args=[step.pk]), {"version": step.version}),
        (reverse("playbooks:log_contact", args=[playbook.pk]), {"kind": "call", "summary": "x"}),
        (reverse("playbooks:close", args=[playbook.pk]), {"outcome": "no_opportunity"}),
    ]:
        assert client.post(url, data, **HTMX).status_code == 403, url
    step.refresh_from_db()
    assert step.status == StepStatus.OPEN


# -- Query counts -------------------------------------------------------------------------


def _page_queries(client, playbook) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("playbooks:detail", args=[playbook.pk]))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_playbook_page_queries_do_not_grow_with_steps_or_contacts(
    client, csm, org, world, django_assert_max_num_queries
):
    from playbooks.services import playbook_log_contact, playbook_start

    account = AccountFactory(organization=org, name="Zulu", owner=csm)
    small = playbook_start(
        account=account, template=world["templates"]["save"], acting_user=csm, today=DAY
    )
    big_template = template(
        org, "Long retention", "retention", steps=[(f"Step {i}", i, "owner") for i in range(1, 16)]
    )
    big = playbook_start(account=account, template=big_template, acting_user=csm, today=DAY)
    for i in range(8):
        playbook_log_contact(playbook=big, user=csm, kind="call", summary=f"Call {i}")
    client.force_login(csm)
    few = _page_queries(client, small)
    many = _page_queries(client, big)
    assert few == many
    with django_assert_max_num_queries(10):
        client.get(reverse("playbooks:detail", args=[big.pk]))


def test_other_org_context_does_not_leak(other_org, world):
    with org_context(other_org):
        assert not Playbook.objects.exists()


# -- All steps done, and churned accounts --------------------------------------------------


def test_the_last_step_done_asks_for_the_outcome_there_and_on_the_page(client, csm, manager, world):
    playbook = world["expansion"]
    mine, managers = PlaybookStep.objects.filter(playbook=playbook).order_by("order")
    client.force_login(csm)
    first = client.post(
        reverse("playbooks:step_complete", args=[mine.pk]),
        {"version": mine.version, "where": "mywork"},
        **HTMX,
    ).content.decode()
    assert "record the outcome" not in first  # the manager's step is still open
    page = client.get(reverse("playbooks:detail", args=[playbook.pk])).content.decode()
    assert "All steps done" not in page

    managers.refresh_from_db()
    client.force_login(manager)
    last = client.post(
        reverse("playbooks:step_complete", args=[managers.pk]),
        {"version": managers.version, "where": "playbook"},
        **HTMX,
    ).content.decode()
    assert "All steps done — record the outcome." in last
    assert f'href="/playbooks/{playbook.pk}/#playbook-outcome"' in last
    client.force_login(csm)
    page = client.get(reverse("playbooks:detail", args=[playbook.pk])).content.decode()
    outcome = page[page.index('id="playbook-outcome"') :]
    assert "All steps done — record the outcome." in outcome[: outcome.index("<form")]


def test_a_cancelled_playbook_of_a_churned_account_says_why(client, org, csm, world):
    from accounts.services import account_mark_churned

    account_mark_churned(
        account=world["accounts"]["a"],
        churned_at=DAY,
        reason=ChurnReasonFactory(organization=org, name="Price"),
    )
    client.force_login(csm)
    page = client.get(reverse("playbooks:detail", args=[world["expansion"].pk])).content.decode()
    assert "This account churned on 06/30/2024. Reason: Price." in page
    assert "Cancelled: account churned on 06/30/2024: Price" in page
    assert "none (churned)" in page  # no current MRR
