"""Outgoing webhooks: what the lower layers' hooks turn into deliveries, and one delivery's
attempt. Each delivery is a POST of JSON signed with the endpoint's secret:

    X-Csplatform-Event: playbook.closed
    X-Csplatform-Delivery: 1234
    X-Csplatform-Timestamp: 1767225600
    X-Csplatform-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in
constant time, and refuses timestamps more than a few minutes old (replays). A failed
attempt (no answer, or not 2xx) is retried by the Celery task with backoff; after
WEBHOOK_DISABLE_AFTER failures in a row the endpoint is switched off and its admins told.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from csplatform.celery import enqueue
from playbooks.models import NotificationKind
from playbooks.services import notifications_notify_admins

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Csplatform-Signature"
TIMESTAMP_HEADER = "X-Csplatform-Timestamp"
EVENT_HEADER = "X-Csplatform-Event"
DELIVERY_HEADER = "X-Csplatform-Delivery"
BACKOFF_CAP_SECONDS = 1800  # under the broker's visibility timeout (an hour)


class WebhookUrlRefused(ValueError):
    def __init__(self, message: str):
        self.field = "url"
        self.message = message
        super().__init__(message)


def check_url(url: str) -> None:
    """An endpoint must be https:// on a public address (no loopback, private, link-local or
    metadata addresses: an admin must not make the platform call into its own network).
    WEBHOOK_ALLOW_PRIVATE_URLS lifts both for development and tests."""
    parts = urlsplit(url or "")
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_URLS
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise WebhookUrlRefused(_("The address must start with https://."))
    if not parts.hostname:
        raise WebhookUrlRefused(_("The address needs a host name."))
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlRefused(
            _("%(host)s does not resolve to an address.") % {"host": parts.hostname}
        ) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise WebhookUrlRefused(
                _("%(host)s is a private or local address (%(address)s).")
                % {"host": parts.hostname, "address": address}
            )


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance=300) -> bool:
    """What a receiver does (and the tests do): a fresh timestamp and a matching HMAC."""
    try:
        age = abs(time.time() - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def backoff(retries: int) -> int:
    """Seconds before the next attempt: WEBHOOK_RETRY_SECONDS times 3 per retry so far
    (10 s, 30 s, 90 s, 4.5 min, 13.5 min, then every 30 min)."""
    return min(BACKOFF_CAP_SECONDS, settings.WEBHOOK_RETRY_SECONDS * 3**retries)


# -- from hooks to deliveries -------------------------------------------------------------------


def deliveries_create(
    *, org_id: int, event: str, payloads: list[dict], endpoint_ids: list[int] | None = None
) -> list[int]:
    """One delivery per payload for every active endpoint of the organization that listens
    to `event` (or only `endpoint_ids`), queued once the transaction commits. Returns their
    ids."""
    if not payloads:
        return []
    endpoints = WebhookEndpoint.all_objects.filter(organization_id=org_id, is_active=True)
    if endpoint_ids is not None:
        endpoints = endpoints.filter(pk__in=endpoint_ids)
    endpoints = [e for e in endpoints if event in e.events]
    if not endpoints:
        return []
    now = timezone.now()
    deliveries = WebhookDelivery.all_objects.bulk_create(
        [
            WebhookDelivery(
                organization_id=org_id,
                endpoint=endpoint,
                event=event,
                payload={"event": event, "occurred_at": now.isoformat(), "data": payload},
            )
            for endpoint in endpoints
            for payload in payloads
        ],
        batch_size=2000,
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: [enqueue("api.webhook_deliver", pk) for pk in ids])
    return ids


# -- one attempt ----------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is an answer that is not 2xx: the delivery failed


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def delivery_attempt(*, delivery_id: int, final: bool = False) -> str:
    """Try one delivery once: "succeeded", "retry" (the task will try again), "failed" (given
    up: its last attempt, or its endpoint was switched off) or "skipped" (already settled)."""
    delivery = (
        WebhookDelivery.all_objects.select_related("endpoint", "organization")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status in (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED):
        return "skipped"
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _settle(delivery, DeliveryStatus.FAILED, error=_("The endpoint is switched off."))
        return "failed"
    body = json.dumps(
        {"id": delivery.pk, "organization": delivery.organization.slug, **delivery.payload},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    ).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "csplatform-webhooks/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
    }
    code, error = None, ""
    try:
        check_url(endpoint.url)  # again now: the name may point elsewhere since it was saved
        code = _post(endpoint.url, body, headers)
        if not 200 <= code < 300:
            error = _("The endpoint answered %(code)s.") % {"code": code}
    except WebhookUrlRefused as exc:
        error = exc.message
    except (OSError, ValueError) as exc:  # refused, timed out, TLS, bad URL
        error = (str(exc) or type(exc).__name__)[:300]
    attempts = delivery.attempts + 1
    if not error:
        _settle(delivery, DeliveryStatus.SUCCEEDED, code=code, attempts=attempts)
        WebhookEndpoint.all_objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        return "succeeded"
    last = final or attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    _settle(
        delivery,
        DeliveryStatus.FAILED if last else DeliveryStatus.RETRYING,
        code=code,
        attempts=attempts,
        error=error,
    )
    if _count_failure(endpoint):
        return "failed"
    logger.warning(
        "webhook delivery failed delivery=%s endpoint=%s attempt=%s: %s",
        delivery.pk,
        endpoint.pk,
        attempts,
        error,
    )
    return "failed" if last else "retry"


def _settle(delivery, status, *, code=None, attempts=None, error="") -> None:
    now = timezone.now()
    WebhookDelivery.all_objects.filter(pk=delivery.pk).update(
        status=status,
        response_status=code,
        attempts=attempts if attempts is not None else delivery.attempts,
        error=error[:300],
        last_attempt_at=now,
        delivered_at=now if status == DeliveryStatus.SUCCEEDED else None,
    )


def _count_failure(endpoint: WebhookEndpoint) -> bool:
    """One more failure in a row; True when it switched the endpoint off (its unfinished
    deliveries are given up and the admins notified)."""
    with transaction.atomic():
        WebhookEndpoint.all_objects.filter(pk=endpoint.pk).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        locked = WebhookEndpoint.all_objects.select_for_update().get(pk=endpoint.pk)
        if not locked.is_active or locked.consecutive_failures < settings.WEBHOOK_DISABLE_AFTER:
            return False
        reason = _("%(n)s deliveries in a row failed.") % {"n": locked.consecutive_failures}
        locked.is_active = False
        locked.disabled_at = timezone.now()
        locked.disabled_reason = reason
        locked.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
        WebhookDelivery.all_objects.filter(
            endpoint=locked, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]
        ).update(status=DeliveryStatus.FAILED, error=_("The endpoint was switched off."))
        text = gettext_lazy(
            "Webhook %(url)s was switched off: %(reason)s Fix it and switch it on again."
        )
        notifications_notify_admins(
            org_id=locked.organization_id,
            notices=[
                (
                    NotificationKind.WEBHOOK_DISABLED,
                    locked.pk,
                    (text, {"url": locked.url, "reason": reason}),
                    reverse("data:webhook", args=[locked.pk]),
                )
            ],
        )
    logger.error("webhook endpoint disabled endpoint=%s: %s", endpoint.pk, reason)
    return True


def deliveries_purge(*, older_than_days: int = 30) -> int:
    before = timezone.now() - dt.timedelta(days=older_than_days)
    deleted, _ = WebhookDelivery.all_objects.filter(created_at__lt=before).delete()
    return deleted
