"""Events overlaid on an account's health chart as markers: colour changes (from the score
history itself), contacts logged (accounts' interactions) and what higher layers register
(playbooks: opened and closed) through `chart_event_source`, so health never imports them.

An event is {"date": "YYYY-MM-DD", "kind": one of EVENT_KINDS, "text": str}. Each kind has a
name and a marker shape (Chart.js point styles), so a marker is told apart by its shape and
its legend, never by colour alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Interaction
from orgs.timezones import org_zone

# kind -> (name, Chart.js point style, the legend's text symbol)
EVENT_KINDS = {
    "playbook_opened": (_("Playbook opened"), "triangle", "▲"),
    "playbook_closed": (_("Playbook closed"), "rectRot", "◆"),
    "contact": (_("Contact logged"), "circle", "●"),
    "colour": (_("Colour changed"), "star", "✱"),
}

EventSource = Callable[[Account, dt.date, dt.date], list[dict]]
_SOURCES: list[EventSource] = []


def chart_event_source(source: EventSource) -> EventSource:
    """Register a source of events (a higher layer's, in its AppConfig.ready): called with the
    account and the first and last day, returning events as described above."""
    if source not in _SOURCES:
        _SOURCES.append(source)
    return source


def colour_events(points: list[dict]) -> list[dict]:
    """A marker on each scored day whose colour differs from the scored day before it."""
    out, previous = [], None
    for p in points:
        colour = p.get("colour")
        if previous is not None and colour and colour != previous and colour != "none":
            out.append(
                {
                    "date": p["date"],
                    "kind": "colour",
                    "text": gettext("%(a)s → %(b)s")
                    % {"a": gettext(previous), "b": gettext(colour)},
                }
            )
        if colour and colour != "none":
            previous = colour
    return out


def _contacts(account: Account, first: dt.date, last: dt.date) -> list[dict]:
    zone = org_zone(account.organization)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    rows = (
        Interaction.objects.filter(account=account, occurred_at__gte=start, occurred_at__lt=end)
        .order_by("occurred_at")
        .values_list("occurred_at", "kind", "summary")[:200]
    )
    return [
        {
            "date": at.astimezone(zone).date().isoformat(),
            "kind": "contact",
            "text": f"{kind}: {summary}"[:120],
        }
        for at, kind, summary in rows
    ]


def chart_events(*, account: Account, points: list[dict]) -> list[dict]:
    """The events of the chart's days (its first scored day to its last), by date."""
    if not points:
        return []
    first = dt.date.fromisoformat(points[0]["date"])
    last = dt.date.fromisoformat(points[-1]["date"])
    events = colour_events(points) + _contacts(account, first, last)
    for source in _SOURCES:
        events.extend(source(account, first, last))
    return sorted(events, key=lambda e: (e["date"], e["kind"]))


def event_legend() -> dict:
    """What the chart's script needs to draw and name each kind."""
    return {
        kind: {"label": str(name), "shape": shape, "symbol": symbol}
        for kind, (name, shape, symbol) in EVENT_KINDS.items()
    }
