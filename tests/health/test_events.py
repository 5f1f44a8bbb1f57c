"""The health chart's event markers: colour changes read from the history, contacts logged
(in the organization's days) and playbooks opened and closed (the playbooks layer's source,
registered through health.events' hook), only within the chart's days."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from health.events import chart_events, colour_events, event_legend
from playbooks.models import Playbook
from tests import factories as f
from tests.builders import DAY

pytestmark = pytest.mark.django_db


def _points(*rows):
    return [{"date": d.isoformat(), "score": s, "colour": c} for d, s, c in rows]


def test_a_colour_change_is_a_marker_on_the_day_it_changed():
    d = dt.date(2024, 6, 1)
    points = _points(
        (d, 80, "green"),
        (d + dt.timedelta(days=1), 70, "yellow"),
        (d + dt.timedelta(days=2), None, "none"),  # no data is no change
        (d + dt.timedelta(days=3), 72, "yellow"),
        (d + dt.timedelta(days=4), 40, "red"),
    )
    assert colour_events(points) == [
        {"date": "2024-06-02", "kind": "colour", "text": "green → yellow"},
        {"date": "2024-06-05", "kind": "colour", "text": "yellow → red"},
    ]


def test_playbooks_and_contacts_of_the_charts_days_are_markers(org, in_org):
    account = f.AccountFactory(organization=org, name="Acme")
    other = f.AccountFactory(organization=org, name="Other")
    first, last = DAY - dt.timedelta(days=10), DAY
    Playbook.objects.create(
        organization=org,
        account=account,
        kind="retention",
        title="Save Acme",
        opened_on=DAY - dt.timedelta(days=5),
        status="completed",
        closed_at=dt.datetime(2024, 6, 29, 15, tzinfo=dt.UTC),
    )
    Playbook.objects.create(  # opened before the chart's first day: no marker
        organization=org,
        account=account,
        kind="retention",
        title="Old",
        opened_on=first - dt.timedelta(days=1),
    )
    Playbook.objects.create(
        organization=org, account=other, kind="retention", title="Theirs", opened_on=DAY
    )
    f.InteractionFactory(
        account=account,
        summary="Called the sponsor",
        occurred_at=dt.datetime(2024, 6, 28, 12, tzinfo=dt.UTC),
    )
    points = _points((first, 60, "yellow"), (last, 40, "red"))
    events = chart_events(account=account, points=points)
    assert [(e["date"], e["kind"], e["text"]) for e in events] == [
        ("2024-06-25", "playbook_opened", "Save Acme"),
        ("2024-06-28", "contact", "call: Called the sponsor"),
        ("2024-06-29", "playbook_closed", "Save Acme (completed)"),
        ("2024-06-30", "colour", "yellow → red"),
    ]


def test_the_health_card_carries_the_events_and_a_legend(client, org, csm):
    from health.models import HealthScore

    account = f.AccountFactory(organization=org, name="Acme", owner=csm)
    for back, score, colour in ((2, 80, "green"), (0, 40, "red")):
        HealthScore.all_objects.create(
            organization=org,
            account=account,
            date=DAY - dt.timedelta(days=back),
            score=score,
            colour=colour,
        )
    client.force_login(csm)
    html = client.get(reverse("health:account", args=[account.pk])).content.decode()
    start = html.index('data-chart-json="') + len('data-chart-json="')
    raw = html[start : html.index('"', start)]
    import html as htmllib

    chart = json.loads(htmllib.unescape(raw))
    assert chart["events"] == [{"date": "2024-06-30", "kind": "colour", "text": "green → red"}]
    assert chart["labels"]["events"] == json.loads(json.dumps(event_legend()))
    assert 'id="health-chart-legend"' in html and "Colour changed" in html
