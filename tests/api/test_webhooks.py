"""Outgoing webhooks: the lower layers' hooks become deliveries (firing created, alert
decided, playbook created, closed and reassigned, health colour changed), each signed and
checked by a receiver in the test; failures are recorded and an endpoint that keeps failing
is switched off with a notice to its admins; addresses inside the network are refused."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from api import webhooks
from api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from orgs.tenancy import org_context
from playbooks.models import Notification, Playbook
from tests import factories as f
from tests.api.receiver import Receiver

pytestmark = pytest.mark.django_db

ALL_EVENTS = [
    "firing.created",
    "alert.decided",
    "playbook.created",
    "playbook.closed",
    "playbook.reassigned",
    "health.colour_changed",
]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def endpoint_for(org, url, events=None, **kwargs):
    from api.services import webhook_create

    admin = f.UserFactory(username=f"hook-admin-{org.slug}")
    return webhook_create(
        org=org, url=url, events=events or ALL_EVENTS, description="", created_by=admin, **kwargs
    )


def test_a_closed_playbook_is_delivered_signed_and_the_receiver_checks_it(
    org, csm, receiver, django_capture_on_commit_callbacks
):
    from playbooks.services import playbook_close

    endpoint = endpoint_for(org, receiver.url, ["playbook.closed"])
    account = f.AccountFactory(organization=org, external_id="A1", owner=csm)
    playbook = Playbook.all_objects.create(
        organization=org,
        account=account,
        kind="custom",
        title="Check",
        owner=csm,
        opened_on=dt.date(2024, 6, 1),
    )
    with org_context(org), django_capture_on_commit_callbacks(execute=True):
        playbook_close(playbook_id=playbook.pk, user=csm, outcome="done", today=dt.date(2024, 6, 2))
    (request,) = receiver.received
    assert receiver.signature_ok(request, endpoint.secret)
    assert not receiver.signature_ok(request, "whsec_another")
    assert webhooks.verify(
        endpoint.secret,
        request.headers["X-Csplatform-Timestamp"],
        request.body,
        request.headers["X-Csplatform-Signature"],
    )
    body = json.loads(request.body)
    assert body["event"] == "playbook.closed" and body["organization"] == "acme"
    assert (body["data"]["id"], body["data"]["account"], body["data"]["outcome"]) == (
        playbook.pk,
        "A1",
        "done",
    )
    assert request.headers["X-Csplatform-Event"] == "playbook.closed"
    delivery = WebhookDelivery.all_objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 1, 200)


def test_a_tampered_body_fails_the_check(org, receiver):
    endpoint = endpoint_for(org, receiver.url)
    signature = webhooks.sign(endpoint.secret, 1_700_000_000, b'{"a":1}')
    assert webhooks.sign(endpoint.secret, 1_700_000_000, b'{"a":2}') != signature
    assert webhooks.sign(endpoint.secret, 1_700_000_001, b'{"a":1}') != signature


def test_the_nights_hooks_become_deliveries(org, csm, manager):
    """Triggers evaluated over the fixture world fire (firing.created) and open playbooks
    (playbook.created); a CSM's decision on an alert is alert.decided; a reassignment is
    playbook.reassigned with the previous owner."""
    from tests.builders import DAY, trigger_world
    from triggers import services as trigger_services
    from triggers.models import Alert, Firing

    endpoint_for(org, "http://127.0.0.1:9/hooks")
    with org_context(org):
        trigger_world(org, csm, manager)
        trigger_services.triggers_evaluate(org=org, day=DAY)
        firings = Firing.objects.count()
        playbooks = Playbook.objects.count()
    events = list(WebhookDelivery.all_objects.values_list("event", flat=True))
    assert firings and playbooks
    assert events.count("firing.created") == firings
    assert events.count("playbook.created") == playbooks
    fired = WebhookDelivery.all_objects.filter(event="firing.created").first().payload["data"]
    assert set(fired) >= {"trigger", "account", "evidence", "evidence_text", "playbook_id"}
    with org_context(org):
        alert = Alert.objects.filter(status="pending").first()
        if alert is not None:
            trigger_services.alert_dismiss(alert_id=alert.pk, user=csm, reason="Known issue")
            decided = WebhookDelivery.all_objects.get(event="alert.decided").payload["data"]
            assert (decided["id"], decided["status"]) == (alert.pk, "dismissed")
        from playbooks.services import playbook_reassign

        playbook = Playbook.objects.exclude(owner=manager).first()
        previous = playbook.owner.email
        playbook_reassign(playbook=playbook, owner=manager, acting_user=manager)
    moved = WebhookDelivery.all_objects.get(event="playbook.reassigned").payload["data"]
    assert (moved["owner"], moved["previous_owner"]) == (manager.email, previous)


def test_a_colour_change_is_delivered_and_a_first_score_is_not(org):
    """Day 1 scores the account red for the first time (no change); day 2 green: one
    delivery, red -> green."""
    import pandas as pd

    from health.compact import Layout
    from health.models import HealthModel
    from health.services import health_scores_write

    endpoint_for(org, "http://127.0.0.1:9/hooks", ["health.colour_changed"])
    account = f.AccountFactory(organization=org, external_id="A1")
    model = HealthModel.all_objects.create(organization=org, name="Default")

    def score(day, value, colour):
        frame = pd.DataFrame(
            {
                "score": [value],
                "colour": [colour],
                "model_id": [model.pk],
                "model_version": [1],
                "layout": [Layout(keys=(), weights=())],
                "raws": [[]],
                "scores": [[]],
                "change_7d": [None],
                "change_30d": [None],
            },
            index=[account.pk],
        )
        health_scores_write(org_id=org.pk, day=day, scores=frame)

    score(dt.date(2024, 6, 1), 30, "red")
    assert not WebhookDelivery.all_objects.exists()
    score(dt.date(2024, 6, 2), 80, "green")
    (delivery,) = WebhookDelivery.all_objects.all()
    assert delivery.payload["data"] == {
        "account_id": account.pk,
        "account": "A1",
        "date": "2024-06-02",
        "previous_colour": "red",
        "colour": "green",
        "score": 80,
    }


def test_nothing_is_delivered_to_another_organizations_endpoints(org, other_org, csm):
    from playbooks.services import playbook_close

    endpoint_for(other_org, "http://127.0.0.1:9/hooks")
    account = f.AccountFactory(organization=org, owner=csm)
    playbook = Playbook.all_objects.create(
        organization=org,
        account=account,
        kind="custom",
        title="x",
        owner=csm,
        opened_on=dt.date(2024, 6, 1),
    )
    with org_context(org):
        playbook_close(playbook_id=playbook.pk, user=csm, outcome="done", today=dt.date(2024, 6, 2))
    assert not WebhookDelivery.all_objects.exists()


def test_failures_are_recorded_and_an_endpoint_that_keeps_failing_is_switched_off(
    org, org_admin, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_DISABLE_AFTER = 2
    receiver.statuses = [500, 503]
    endpoint = endpoint_for(org, receiver.url)
    ids = webhooks.deliveries_create(
        org_id=org.pk, event="playbook.created", payloads=[{"n": 1}, {"n": 2}, {"n": 3}]
    )
    assert webhooks.delivery_attempt(delivery_id=ids[0]) == "failed"
    first = WebhookDelivery.all_objects.get(pk=ids[0])
    assert (first.status, first.response_status, first.error) == (
        "failed",
        500,
        "The endpoint answered 500.",
    )
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 1
    assert webhooks.delivery_attempt(delivery_id=ids[1]) == "failed"
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    # the third is given up without a request, and the admins are told
    assert WebhookDelivery.all_objects.get(pk=ids[2]).status == DeliveryStatus.FAILED
    assert len(receiver.received) == 2
    notice = Notification.all_objects.get(kind="webhook_disabled")
    assert notice.user_id == org_admin.pk and endpoint.url in notice.text


def test_a_success_resets_the_failure_count(org, receiver):
    receiver.statuses = [500]
    endpoint = endpoint_for(org, receiver.url)
    ids = webhooks.deliveries_create(
        org_id=org.pk, event="playbook.created", payloads=[{"n": 1}, {"n": 2}]
    )
    assert webhooks.delivery_attempt(delivery_id=ids[0]) == "retry"
    assert WebhookDelivery.all_objects.get(pk=ids[0]).status == "retrying"
    assert webhooks.delivery_attempt(delivery_id=ids[1]) == "succeeded"
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://example.com/hook", "must start with https://"),
        ("https://127.0.0.1/hook", "private or local address"),
        ("https://localhost/hook", "private or local address"),
        ("https://10.1.2.3/hook", "private or local address"),
        ("https://169.254.169.254/latest", "private or local address"),
    ],
)
def test_addresses_inside_the_network_are_refused(org, settings, url, message):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    with pytest.raises(webhooks.WebhookUrlRefused, match=message):
        endpoint_for(org, url)
    assert not WebhookEndpoint.all_objects.exists()


def test_backoff_grows_threefold_and_stays_under_the_brokers_hour(settings):
    settings.WEBHOOK_RETRY_SECONDS = 10
    assert [webhooks.backoff(n) for n in range(7)] == [10, 30, 90, 270, 810, 1800, 1800]


# -- pages -----------------------------------------------------------------------------------------


def test_an_admin_adds_a_webhook_sees_its_secret_and_deliveries(
    client, org, org_admin, receiver, django_capture_on_commit_callbacks
):
    client.force_login(org_admin)
    response = client.post(
        "/data/webhooks/", {"url": receiver.url, "events": ["playbook.closed"], "is_active": "on"}
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.all_objects.get()
    page = client.get(response["Location"]).content.decode()
    assert endpoint.secret in page
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/data/webhooks/{endpoint.pk}/ping/").status_code == 302
    (request,) = receiver.received
    assert receiver.signature_ok(request, endpoint.secret)
    page = client.get(f"/data/webhooks/{endpoint.pk}/").content.decode()
    assert "Delivered" in page and "HTTP 200" in page


def test_webhooks_are_for_admins_of_the_organization(client, org, other_org, manager, org_admin):
    theirs = endpoint_for(other_org, "http://127.0.0.1:9/x")
    client.force_login(manager)
    assert client.get("/data/webhooks/").status_code == 403
    client.force_login(org_admin)
    assert client.get(f"/data/webhooks/{theirs.pk}/").status_code == 404
    assert client.post(f"/data/webhooks/{theirs.pk}/delete/").status_code == 404
    assert WebhookEndpoint.all_objects.filter(pk=theirs.pk).exists()
