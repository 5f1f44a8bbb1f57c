"""The lower layers' hooks, turned into outgoing webhooks. Triggers, playbooks and health offer
them (their signals.py) and never import this app; each receiver reads what the event's
payload needs set-based (one query per event batch) and queues the deliveries."""

from __future__ import annotations

from .models import WebhookEndpoint, WebhookEvent


def connect() -> None:
    from health.signals import health_colours_changed
    from playbooks.signals import playbooks_closed, playbooks_created, playbooks_reassigned
    from triggers.signals import alerts_decided, firings_created

    firings_created.connect(_firings, dispatch_uid="api-webhooks-firings")
    alerts_decided.connect(_alerts, dispatch_uid="api-webhooks-alerts")
    playbooks_created.connect(_playbooks_created, dispatch_uid="api-webhooks-playbooks-created")
    playbooks_closed.connect(_playbooks_closed, dispatch_uid="api-webhooks-playbooks-closed")
    playbooks_reassigned.connect(
        _playbooks_reassigned, dispatch_uid="api-webhooks-playbooks-reassigned"
    )
    health_colours_changed.connect(_colours, dispatch_uid="api-webhooks-health-colours")


def _listening(org_id: int, event: str) -> bool:
    """Whether any active endpoint of the organization wants `event` (most nights, none: the
    hook then costs one small query)."""
    return any(
        event in events
        for events in WebhookEndpoint.all_objects.filter(
            organization_id=org_id, is_active=True
        ).values_list("events", flat=True)
    )


def _send(org_id: int, event: str, payloads: list[dict]) -> None:
    from .webhooks import deliveries_create

    deliveries_create(org_id=org_id, event=event, payloads=payloads)


def _firings(sender, organization_id, firing_ids, **kwargs):
    if not firing_ids or not _listening(organization_id, WebhookEvent.FIRING_CREATED):
        return
    from triggers.models import Firing

    from .serializers import FiringOutput

    rows = Firing.all_objects.filter(organization_id=organization_id, pk__in=firing_ids)
    rows = rows.select_related("trigger", "account").order_by("pk")
    _send(organization_id, WebhookEvent.FIRING_CREATED, [FiringOutput(f).data for f in rows])


def _alerts(sender, organization_id, alert_ids, **kwargs):
    if not alert_ids or not _listening(organization_id, WebhookEvent.ALERT_DECIDED):
        return
    from triggers.models import Alert

    from .serializers import AlertOutput

    rows = Alert.all_objects.filter(organization_id=organization_id, pk__in=alert_ids)
    rows = rows.select_related("account", "owner", "decided_by").order_by("pk")
    _send(organization_id, WebhookEvent.ALERT_DECIDED, [AlertOutput(a).data for a in rows])


def _playbook_payloads(organization_id, playbook_ids, extra=None) -> list[dict]:
    from playbooks.models import Playbook

    from .serializers import PlaybookSummary

    rows = Playbook.all_objects.filter(organization_id=organization_id, pk__in=playbook_ids)
    rows = rows.select_related(
        "account", "owner", "template", "opportunity_product", "churn_reason"
    ).order_by("pk")
    out = []
    for p in rows:
        data = dict(PlaybookSummary(p).data)
        data.update((extra or {}).get(p.pk, {}))
        out.append(data)
    return out


def _playbooks_created(sender, organization_id, playbook_ids, **kwargs):
    if playbook_ids and _listening(organization_id, WebhookEvent.PLAYBOOK_CREATED):
        _send(
            organization_id,
            WebhookEvent.PLAYBOOK_CREATED,
            _playbook_payloads(organization_id, playbook_ids),
        )


def _playbooks_closed(sender, organization_id, playbook_ids, **kwargs):
    if playbook_ids and _listening(organization_id, WebhookEvent.PLAYBOOK_CLOSED):
        _send(
            organization_id,
            WebhookEvent.PLAYBOOK_CLOSED,
            _playbook_payloads(organization_id, playbook_ids),
        )


def _playbooks_reassigned(sender, organization_id, playbook_ids, previous_owner_ids, **kwargs):
    if not playbook_ids or not _listening(organization_id, WebhookEvent.PLAYBOOK_REASSIGNED):
        return
    from orgs.models import User

    emails = dict(
        User.objects.filter(pk__in=set(previous_owner_ids) - {None}).values_list("pk", "email")
    )
    extra = {
        pk: {"previous_owner": emails.get(prev)}
        for pk, prev in zip(playbook_ids, previous_owner_ids, strict=True)
    }
    _send(
        organization_id,
        WebhookEvent.PLAYBOOK_REASSIGNED,
        _playbook_payloads(organization_id, playbook_ids, extra),
    )


def _colours(sender, organization_id, date, changes, **kwargs):
    if not changes or not _listening(organization_id, WebhookEvent.HEALTH_COLOUR_CHANGED):
        return
    from accounts.models import Account

    keys = dict(
        Account.all_objects.filter(
            organization_id=organization_id, pk__in=[c[0] for c in changes]
        ).values_list("pk", "external_id")
    )
    _send(
        organization_id,
        WebhookEvent.HEALTH_COLOUR_CHANGED,
        [
            {
                "account_id": pk,
                "account": keys.get(pk, ""),
                "date": date.isoformat(),
                "previous_colour": old,
                "colour": new,
                "score": score,
            }
            for pk, old, new, score in changes
        ],
    )
