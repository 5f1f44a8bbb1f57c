"""The CSM workspace: My Work (alerts and steps, counts, kinds), alert decisions in place,
managers' view of the team, notifications, the forecast, and the account page's work panel
and timeline; tenancy, roles and bounded query counts."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Interaction
from playbooks.models import Notification, Playbook, PlaybookContact, PlaybookStep
from playbooks.services import playbook_start, step_complete
from tests.builders import DAY, template, trigger_world
from tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    MembershipFactory,
    PersonaFactory,
    UserFactory,
)
from triggers import services as trigger_services
from triggers.models import Alert, RetentionForecast

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
MY_WORK = reverse("workspace:my_work")


@pytest.fixture
def world(org, csm, manager, in_org):
    """5 accounts of the CSM, 1 expansion playbook (2 steps: the CSM's and the manager's)
    and 3 retention alerts (Charlie, Delta, Echo) waiting for the CSM."""
    w = trigger_world(org, csm, manager)
    trigger_services.triggers_evaluate(org=org, day=DAY)
    w["expansion"] = Playbook.objects.get(account=w["accounts"]["a"])
    w["alerts"] = {a.account.name: a for a in Alert.objects.select_related("account")}
    return w


@pytest.fixture
def stranger(other_org):
    user = UserFactory(username="olga.other")
    MembershipFactory(user=user, organization=other_org, role="csm")
    return user


def events(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


# -- Landing ------------------------------------------------------------------------------


def test_csms_land_on_my_work_and_managers_on_the_reports_home(client, csm, manager):
    client.force_login(csm)
    assert client.get(reverse("home"))["Location"] == MY_WORK
    client.force_login(manager)
    assert client.get(reverse("home"))["Location"] == reverse("reports:home")


def test_navigation_has_my_work_team_forecast_and_notifications(client, manager, csm):
    client.force_login(manager)
    html = client.get(MY_WORK).content.decode()
    assert 'href="/work/" aria-current="page"' in html
    assert reverse("workspace:team") in html and reverse("workspace:forecast") in html
    assert reverse("workspace:notification_badge") in html
    client.force_login(csm)
    html = client.get(MY_WORK).content.decode()
    assert reverse("workspace:team") not in html and reverse("workspace:forecast") not in html


# -- My Work ------------------------------------------------------------------------------


def test_my_work_shows_alerts_with_evidence_then_steps(client, csm, world):
    client.force_login(csm)
    response = client.get(MY_WORK)
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["alerts_total"] == 3
    # The evidence in plain words, from the firing.
    assert "The oldest unpaid invoice is 41 days overdue" in html
    assert html.index('id="work-alerts"') < html.index('id="work-steps"')
    steps = response.context["steps"]
    assert [s.title for s in steps] == ["Call the sponsor"]  # the manager's step is not hers
    # Overdue (due 2 July 2024): said in words with an icon, not colour alone.
    assert "Overdue by" in html and "step--overdue" in html
    assert response.context["counts"].overdue == 1


def test_steps_are_retention_first_then_by_due_date_and_filter_by_kind(client, csm, org, world):
    save = world["templates"]["save"]
    charlie = world["accounts"]["c"]
    playbook_start(account=charlie, template=save, acting_user=csm, today=DAY + dt.timedelta(5))
    client.force_login(csm)
    steps = client.get(MY_WORK).context["steps"]
    assert [(s.playbook.kind, s.title) for s in steps] == [
        ("retention", "Call the sponsor"),
        ("expansion", "Call the sponsor"),
    ]
    response = client.get(MY_WORK, {"kind": "expansion"})
    assert [s.playbook.kind for s in response.context["steps"]] == ["expansion"]
    html = response.content.decode()
    assert 'href="/work/?kind=expansion" hx-get' in html and 'aria-current="page">Expansion' in html


def test_sections_refresh_alone(client, csm, world):
    client.force_login(csm)
    counts = client.get(MY_WORK, {"section": "work-counts"}, **HTMX).content.decode()
    assert counts.lstrip().startswith('<section id="work-counts"')
    assert 'id="count-alerts">3<' in counts
    assert 'id="work-alerts-count" hx-swap-oob="true">3<' in counts  # the card's count too
    kinds = client.get(MY_WORK, {"section": "work-kinds", "kind": "expansion"}, **HTMX)
    html = kinds.content.decode()
    assert html.lstrip().startswith('<nav id="work-kinds"')
    assert 'aria-current="page">Expansion' in html
    assert 'hx-get="/work/?kind=expansion&amp;section=work-kinds"' in html  # keeps the kind
    assert 'id="work-steps-count" hx-swap-oob="true">1<' in html
    steps = client.get(MY_WORK, {"section": "work-steps"}, **HTMX).content.decode()
    assert steps.lstrip().startswith('<section id="work-steps"')
    assert "<html" not in steps


def test_manager_sees_the_work_of_any_csm(client, manager, csm, world):
    client.force_login(manager)
    mine = client.get(MY_WORK)
    assert [s.title for s in mine.context["steps"]] == ["Review with manager"]
    theirs = client.get(MY_WORK, {"user": csm.pk})
    assert theirs.status_code == 200
    assert theirs.context["subject"] == csm
    assert theirs.context["alerts_total"] == 3
    html = theirs.content.decode()
    assert f"Work of {csm}" in html
    assert f'<option value="{csm.pk}" selected>' in html


def test_a_csm_cannot_see_another_persons_work(client, csm, manager, world):
    client.force_login(csm)
    assert client.get(MY_WORK, {"user": manager.pk}).status_code == 403


def test_manager_cannot_see_someone_outside_the_org(client, manager, stranger, world):
    client.force_login(manager)
    assert client.get(MY_WORK, {"user": stranger.pk}).status_code == 404


def test_my_work_queries_do_not_grow_with_steps_or_alerts(
    client, csm, org, world, django_assert_max_num_queries
):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(MY_WORK).status_code == 200
        return len(ctx.captured_queries)

    client.force_login(csm)
    few = count()
    many_steps = template(
        org, "Long retention", "retention", steps=[(f"Step {i}", i, "owner") for i in range(1, 13)]
    )
    for i in range(4):
        account = AccountFactory(organization=org, owner=csm, name=f"Extra {i}")
        playbook_start(account=account, template=many_steps, acting_user=csm, today=DAY)
    many = count()
    assert few == many
    with django_assert_max_num_queries(9):
        client.get(MY_WORK)


# -- Alerts -------------------------------------------------------------------------------


def test_confirm_alert_in_place_starts_the_playbook(client, csm, world):
    alert = world["alerts"]["Charlie"]
    client.force_login(csm)
    response = client.post(reverse("triggers:alert_confirm", args=[alert.pk]), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li id="alert-{alert.pk}"')
    assert "Confirmed" in html and "Retention call" in html
    assert {"workChanged", "stepsChanged", "notificationsChanged"} <= set(events(response))
    alert.refresh_from_db()
    assert alert.status == "confirmed" and alert.playbook.account.name == "Charlie"
    # The alert's notification needs no attention any more.
    notification = Notification.objects.get(kind="alert_raised", ref=alert.pk)
    assert notification.read_at is not None
    # The new steps are in My Work.
    titles = [(s.playbook.kind, s.title) for s in client.get(MY_WORK).context["steps"]]
    assert ("retention", "Call the sponsor") in titles


def test_confirming_twice_reports_the_first_decision(client, csm, manager, world):
    alert = world["alerts"]["Delta"]
    client.force_login(manager)
    client.post(reverse("triggers:alert_confirm", args=[alert.pk]), **HTMX)
    client.force_login(csm)
    response = client.post(reverse("triggers:alert_confirm", args=[alert.pk]), **HTMX)
    assert response.status_code == 409
    assert "already confirmed" in response.content.decode()
    assert Playbook.objects.filter(account=alert.account).count() == 1


def test_dismiss_needs_a_reason_beside_the_field(client, csm, world):
    alert = world["alerts"]["Echo"]
    client.force_login(csm)
    url = reverse("triggers:alert_dismiss", args=[alert.pk])
    response = client.post(url, {"reason": "  "}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="alert-{alert.pk}-reason_error"' in html
    assert "Say why the alert is dismissed." in html
    assert '<details class="step__more" open>' in html
    response = client.post(url, {"reason": "Invoice paid yesterday"}, **HTMX)
    assert response.status_code == 200 and "workChanged" in events(response)
    alert.refresh_from_db()
    assert alert.status == "dismissed" and alert.dismiss_reason == "Invoice paid yesterday"


def test_alerts_of_another_organization_are_404(client, stranger, world):
    alert = world["alerts"]["Echo"]
    client.force_login(stranger)
    assert (
        client.post(reverse("triggers:alert_confirm", args=[alert.pk]), **HTMX).status_code == 404
    )
    assert (
        client.post(
            reverse("triggers:alert_dismiss", args=[alert.pk]), {"reason": "x"}, **HTMX
        ).status_code
        == 404
    )
    alert.refresh_from_db()
    assert alert.status == "pending"


def test_analysts_cannot_decide_alerts(client, analyst, world):
    alert = world["alerts"]["Echo"]
    client.force_login(analyst)
    assert (
        client.post(reverse("triggers:alert_confirm", args=[alert.pk]), **HTMX).status_code == 403
    )
    alert.refresh_from_db()
    assert alert.status == "pending"


def test_plain_confirm_redirects_to_my_work(client, csm, world):
    client.force_login(csm)
    response = client.post(reverse("triggers:alert_confirm", args=[world["alerts"]["Echo"].pk]))
    assert response.status_code == 302 and response["Location"].startswith(MY_WORK)


# -- Team board ---------------------------------------------------------------------------


def test_team_board_counts_per_csm_in_one_aggregate(
    client, manager, csm, org, world, django_assert_max_num_queries
):
    step = PlaybookStep.objects.get(playbook=world["expansion"], assignee=manager)
    step_complete(step_id=step.pk, user=manager)
    client.force_login(manager)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("workspace:team"))
    assert response.status_code == 200
    rows = {r.user.pk: r for r in response.context["rows"]}
    assert (rows[csm.pk].open, rows[csm.pk].overdue, rows[csm.pk].alerts) == (1, 1, 3)
    assert rows[manager.pk].completed_this_month == 1 and rows[manager.pk].open == 0
    assert f"{MY_WORK}?user={csm.pk}" in response.content.decode()


def test_team_board_is_for_managers(client, csm, analyst):
    for user in (csm, analyst):
        client.force_login(user)
        assert client.get(reverse("workspace:team")).status_code == 403


# -- Notifications ------------------------------------------------------------------------


def test_notifications_list_badge_and_mark_read(client, csm, world):
    client.force_login(csm)
    badge = client.get(reverse("workspace:notification_badge"), **HTMX).content.decode()
    assert ">4<" in badge  # 1 playbook + 3 alerts
    assert "load" not in badge  # reloads on events only
    page = client.get(reverse("workspace:notifications")).content.decode()
    assert "Alfa: new playbook “Offer Analytics”" in page and "Mark all as read" in page
    one = Notification.objects.filter(user=csm, kind="playbook_assigned").get()
    response = client.post(reverse("workspace:notification_read", args=[one.pk]), **HTMX)
    assert response.status_code == 200 and "notificationsChanged" in events(response)
    one.refresh_from_db()
    assert one.read_at is not None
    client.post(reverse("workspace:notifications_read_all"), **HTMX)
    assert not Notification.objects.filter(user=csm, read_at__isnull=True).exists()
    assert "nav-count--zero" in client.get(reverse("workspace:notification_badge")).content.decode()


def test_alert_notification_links_lead_to_my_work(client, csm, world):
    notification = Notification.objects.filter(user=csm, kind="alert_raised").first()
    client.force_login(csm)
    assert client.get(notification.url)["Location"] == MY_WORK


def test_notifications_of_others_are_untouched(client, org, csm, manager, world):
    theirs = Notification.objects.filter(user=csm, kind="playbook_assigned").get()
    mine = Notification.all_objects.create(
        organization=org, user=manager, kind="playbook_assigned", ref=-1, text="Manager's own"
    )
    client.force_login(manager)
    response = client.post(reverse("workspace:notification_read", args=[theirs.pk]), **HTMX)
    # someone else's notification is not there for the manager, like any other row not theirs
    assert response.status_code == 404
    assert theirs.text not in response.content.decode()
    # and their own list is unchanged, without the CSM's notification
    html = client.get(reverse("workspace:notifications")).content.decode()
    assert f'id="notification-{mine.pk}"' in html and "Manager&#x27;s own" in html
    assert f'id="notification-{theirs.pk}"' not in html and theirs.text not in html
    assert "Mark all as read" in html  # the manager's own is still unread
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.read_at is None and mine.read_at is None


# -- Forecast -----------------------------------------------------------------------------


def test_forecast_shows_the_latest_month(client, manager, csm, org, world):
    core = world["products"]["core"]
    for month, actions in ((dt.date(2024, 5, 1), 2), (dt.date(2024, 6, 1), 7)):
        RetentionForecast.all_objects.create(
            organization=org,
            month=month,
            product=core,
            alerts_raised=actions,
            expected_actions=actions,
            accounts_at_risk=actions,
            mrr_at_risk=Decimal("1000"),
        )
    client.force_login(manager)
    response = client.get(reverse("workspace:forecast"))
    assert response.status_code == 200
    assert response.context["month"] == dt.date(2024, 6, 1)
    assert response.context["totals"]["actions"] == 7
    assert "June 2024" in response.content.decode()
    older = client.get(reverse("workspace:forecast"), {"month": "2024-05-01"})
    assert older.context["totals"]["actions"] == 2
    client.force_login(csm)
    assert client.get(reverse("workspace:forecast")).status_code == 403


# -- The account page: work panel and timeline --------------------------------------------


def test_account_page_loads_the_panel_and_the_timeline(client, csm, world):
    account = world["accounts"]["a"]
    client.force_login(csm)
    html = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert reverse("workspace:account_panel", args=[account.pk]) in html
    assert reverse("workspace:account_timeline", args=[account.pk]) in html
    panel = client.get(reverse("workspace:account_panel", args=[account.pk]), **HTMX)
    html = panel.content.decode()
    assert html.lstrip().startswith('<section id="account-work"')
    assert "Offer Analytics" in html and "0 of 2 steps done" in html
    assert "Start a playbook" in html and "Log a contact" in html


def test_start_a_playbook_by_hand(client, csm, world):
    account = world["accounts"]["e"]
    client.force_login(csm)
    url = reverse("workspace:account_start", args=[account.pk])
    assert client.post(url, {"template": ""}, **HTMX).status_code == 422
    response = client.post(url, {"template": world["templates"]["save"].pk}, **HTMX)
    assert response.status_code == 200
    assert "Started “Retention call”" in response.content.decode()
    assert {"workChanged", "stepsChanged", "timelineChanged"} <= set(events(response))
    playbook = Playbook.objects.get(account=account)
    assert playbook.origin == "manual" and playbook.owner == csm


def test_log_a_contact_from_the_account_page(client, csm, world):
    account = world["accounts"]["a"]
    contact = ContactFactory(account=account, name="Ana Champion")
    client.force_login(csm)
    url = reverse("workspace:account_contact", args=[account.pk])
    bad = client.post(url, {"kind": "call", "summary": ""}, **HTMX)
    assert bad.status_code == 422 and 'id="account-contact-summary_error"' in bad.content.decode()
    response = client.post(
        url, {"contact": contact.pk, "kind": "meeting", "summary": "QBR", "playbook": ""}, **HTMX
    )
    assert response.status_code == 200 and "timelineChanged" in events(response)
    assert Interaction.objects.get(summary="QBR").contact == contact
    response = client.post(
        url,
        {"kind": "email", "summary": "Sent offer", "playbook": world["expansion"].pk},
        **HTMX,
    )
    assert response.status_code == 200
    assert PlaybookContact.objects.get(playbook=world["expansion"]).interaction.summary == (
        "Sent offer"
    )


def test_account_endpoints_of_another_organization_are_404(client, stranger, world):
    account = world["accounts"]["a"]
    client.force_login(stranger)
    for name in ("account_panel", "account_timeline"):
        assert (
            client.get(reverse(f"workspace:{name}", args=[account.pk]), **HTMX).status_code == 404
        )
    start = reverse("workspace:account_start", args=[account.pk])
    data = {"template": world["templates"]["save"].pk}
    assert client.post(start, data, **HTMX).status_code == 404
    contact = reverse("workspace:account_contact", args=[account.pk])
    assert client.post(contact, {"kind": "call", "summary": "x"}, **HTMX).status_code == 404


def test_analysts_cannot_start_playbooks_or_log_contacts(client, analyst, world):
    account = world["accounts"]["a"]
    client.force_login(analyst)
    html = client.get(reverse("workspace:account_panel", args=[account.pk]), **HTMX).content
    assert b"Start a playbook" not in html
    start = reverse("workspace:account_start", args=[account.pk])
    data = {"template": world["templates"]["save"].pk}
    assert client.post(start, data, **HTMX).status_code == 403


def test_timeline_shows_what_happened_newest_first(client, csm, world):
    account = world["accounts"]["e"]  # an invoice 41 days overdue, a retention alert
    InteractionFactory(
        account=account, summary="Renewal chat", occurred_at=timezone.now() - dt.timedelta(1)
    )
    client.force_login(csm)
    response = client.get(reverse("workspace:account_timeline", args=[account.pk]), **HTMX)
    assert response.status_code == 200
    titles = [e.title for e in response.context["page"].events]
    assert titles == [
        "Call: Renewal chat",
        "Trigger fired: Retention risk",
        "Invoice INV-" + titles[2].split("INV-")[1],
    ]
    assert titles[2].endswith("overdue")


def test_account_360_queries_do_not_grow_with_playbooks(
    client, csm, org, world, django_assert_max_num_queries
):
    account = world["accounts"]["c"]
    client.force_login(csm)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("accounts:detail", args=[account.pk])).status_code == 200
            panel = reverse("workspace:account_panel", args=[account.pk])
            assert client.get(panel, **HTMX).status_code == 200
            timeline = reverse("workspace:account_timeline", args=[account.pk])
            assert client.get(timeline, **HTMX).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(6):  # one open playbook per template, so six templates
        playbook_start(
            account=account,
            template=template(org, f"Save {i}", "retention"),
            acting_user=csm,
            today=DAY,
        )
        InteractionFactory(account=account)
    many = count()
    assert few == many
    with django_assert_max_num_queries(9):
        client.get(reverse("workspace:account_panel", args=[account.pk]), **HTMX)
    # one query per kind of event (ten kinds, the stage moves the tenth) and the page's own
    with django_assert_max_num_queries(14):
        client.get(reverse("workspace:account_timeline", args=[account.pk]), **HTMX)


# -- Churned accounts, duplicates and outcomes --------------------------------------------


def test_starting_a_playbook_on_a_churned_account_asks_for_confirmation(client, org, csm, world):
    from accounts.services import account_mark_churned
    from tests.factories import ChurnReasonFactory

    echo = world["accounts"]["e"]
    account_mark_churned(
        account=echo, churned_at=DAY, reason=ChurnReasonFactory(organization=org, name="Price")
    )
    client.force_login(csm)
    panel = client.get(reverse("workspace:account_panel", args=[echo.pk]), **HTMX).content.decode()
    assert 'name="confirm_churned"' in panel
    assert "This account churned on 06/30/2024. Start a playbook anyway." in panel
    url = reverse("workspace:account_start", args=[echo.pk])
    save = world["templates"]["save"].pk
    refused = client.post(url, {"template": save}, **HTMX)
    assert refused.status_code == 422
    html = refused.content.decode()
    assert 'id="start-confirm_churned_error"' in html
    assert "Confirm that you want to start a playbook on a churned account." in html
    assert not Playbook.objects.filter(account=echo, status="open").exists()
    started = client.post(url, {"template": save, "confirm_churned": "on"}, **HTMX)
    assert started.status_code == 200 and "Started “Retention call”" in started.content.decode()
    # a live account's form has no such box
    alfa = world["accounts"]["a"]
    panel = client.get(reverse("workspace:account_panel", args=[alfa.pk]), **HTMX).content.decode()
    assert "confirm_churned" not in panel


def test_a_second_start_of_an_open_template_is_refused_with_its_name(client, csm, world):
    alfa = world["accounts"]["a"]
    client.force_login(csm)
    url = reverse("workspace:account_start", args=[alfa.pk])
    offer = Playbook.objects.get(account=alfa).template_id  # the trigger's, still open
    response = client.post(url, {"template": offer}, **HTMX)
    assert response.status_code == 422
    assert "A “Offer Analytics” playbook is already open for this account" in (
        response.content.decode()
    )
    assert Playbook.objects.filter(account=alfa).count() == 1


def test_my_work_asks_for_the_outcome_of_playbooks_whose_steps_are_all_done(
    client, csm, manager, world
):
    client.force_login(csm)
    assert "All steps done — record the outcome" not in client.get(MY_WORK).content.decode()
    for step in PlaybookStep.objects.filter(playbook=world["expansion"]):
        step_complete(step_id=step.pk, user=step.assignee)
    response = client.get(MY_WORK)
    html = response.content.decode()
    assert [p.pk for p in response.context["outcome_due"]] == [world["expansion"].pk]
    section = html[html.index('id="work-outcomes"') :]
    section = section[: section.index("</section>")]
    assert "All steps done — record the outcome" in section and "Alfa" in section
    assert f"/playbooks/{world['expansion'].pk}/#playbook-outcome" in section
    # the section reloads itself when work changes
    fragment = client.get(f"{MY_WORK}?section=work-outcomes", **HTMX).content.decode()
    assert fragment.lstrip().startswith('<section id="work-outcomes"') and "Alfa" in fragment


def test_notifications_link_to_the_account_and_the_playbook(client, csm, world):
    client.force_login(csm)
    page = client.get(reverse("workspace:notifications")).content.decode()
    alfa, playbook = world["accounts"]["a"], world["expansion"]
    assert f'<a href="/accounts/{alfa.pk}/">Alfa</a>' in page
    assert f'<a href="/playbooks/{playbook.pk}/">Playbook “Offer Analytics”</a>' in page


def test_forecast_bars_are_drawn_in_the_risk_colour_beside_their_number(
    client, manager, org, world
):
    """Risk is drawn as risk, not as the browser's default (green) meter: a bar in the danger
    colour, its length the row's share of the largest (7 of 14 = 50), its number beside it."""
    core = world["products"]["core"]
    other = PersonaFactory(organization=org, name="Small", slug="small")
    for persona, actions in ((None, 14), (other, 7)):
        RetentionForecast.all_objects.create(
            organization=org,
            month=dt.date(2024, 6, 1),
            persona=persona,
            product=core,
            alerts_raised=actions,
            expected_actions=actions,
            accounts_at_risk=actions,
            mrr_at_risk=Decimal("1000"),
        )
    client.force_login(manager)
    html = client.get(reverse("workspace:forecast")).content.decode()
    assert "<meter" not in html
    bars = re.findall(r'<rect class="risk-bar__value"[^>]* width="(\d+)"', html)
    assert sorted(bars) == ["100", "50"]
    assert "<strong>7</strong>" in html and "red bars" in html
