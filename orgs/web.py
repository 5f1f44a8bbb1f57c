"""What every page app's views share about a request: whether htmx asked for a fragment, the
organization's today, and the names of the HX-Trigger events fragments listen for
(hx-trigger="<event> from:body"). Page apps import these from here, never from each other."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest

from .timezones import org_today

# A step or alert changed: My Work's counts and kind tabs, the team board, the nav badge.
EVENT_WORK = "workChanged"
# Steps added or reassigned: step lists reload.
EVENT_STEPS = "stepsChanged"
EVENT_CONTACT = "contactLogged"
EVENT_CLOSED = "playbookClosed"
EVENT_REASSIGNED = "playbookReassigned"
EVENT_ACCOUNT_REASSIGNED = "accountReassigned"
EVENT_TIMELINE = "timelineChanged"
EVENT_NOTIFICATIONS = "notificationsChanged"


def is_fragment_request(request: HttpRequest) -> bool:
    """htmx asked for a fragment (a history restore after a cache miss wants the page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def request_today(request: HttpRequest) -> dt.date:
    """Today in the time zone of the request's organization."""
    return org_today(request.organization)
