"""Reads that combine layers for the CSM workspace: an account's timeline (everything that
happened to it, newest first, paged by a cursor). The alerts and the forecast are triggers'
reads (triggers/selectors.py)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import Lag
from django.urls import reverse
from django.utils.translation import gettext, ngettext

from accounts.models import (
    Account,
    Interaction,
    Invoice,
    LifecycleChange,
    LifecycleStage,
    SurveyResponse,
    Ticket,
)
from conditions.phrases import evidence_sentences
from health.models import Colour, HealthScore
from orgs import formatting
from orgs.formatting import format_date
from playbooks.models import Playbook
from triggers.selectors import firings_of_account

TIMELINE_PAGE_SIZE = 20

# -- The account timeline -----------------------------------------------------------------


class CursorError(ValueError):
    """A `before=` value that is not a position the timeline hands out."""


# The positions a cursor may name: any instant a datetime can hold with a couple of days to
# spare (a date event is shifted by a day and read in the organization's zone), any source,
# any positive bigint id. Anything else was not made by `encode`.
_CURSOR = re.compile(r"(-?[0-9]{1,18})\.([0-9]{1,2})\.([0-9]{1,19})")
_CURSOR_FIRST = dt.datetime(1, 1, 3, tzinfo=dt.UTC)
_CURSOR_LAST = dt.datetime(9999, 12, 29, tzinfo=dt.UTC)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Cursor:
    """Where a timeline page ended: the last event's (time, source rank, id). Events are
    ordered by that triple, newest first, so pages never repeat nor skip an event."""

    ts: dt.datetime
    rank: int
    id: int

    def encode(self) -> str:
        return f"{round(self.ts.timestamp() * 1_000_000)}.{self.rank}.{self.id}"

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        """The cursor `value` names; None for no value (the first page). Raises CursorError
        for anything `encode` does not make."""
        if not value:
            return None
        match = _CURSOR.fullmatch(value)
        if match is None:
            raise CursorError(gettext("it is not three numbers separated by dots"))
        micros, rank, pk = (int(p) for p in match.groups())
        first = (_CURSOR_FIRST - _EPOCH) // dt.timedelta(microseconds=1)
        last = (_CURSOR_LAST - _EPOCH) // dt.timedelta(microseconds=1)
        if not first <= micros <= last:
            raise CursorError(
                gettext("its time is outside %(first)s to %(last)s")
                % {"first": _CURSOR_FIRST.date(), "last": _CURSOR_LAST.date()}
            )
        if rank > max(source.rank for source in TIMELINE_SOURCES):
            raise CursorError(gettext("it names no kind of event (%(rank)d)") % {"rank": rank})
        if not 1 <= pk <= _MAX_ID:
            raise CursorError(gettext("its id is out of range"))
        ts = dt.datetime.fromtimestamp(micros / 1_000_000, tz=dt.UTC)
        return cls(ts=ts, rank=rank, id=pk)


@dataclass
class TimelineEvent:
    ts: dt.datetime
    rank: int
    id: int
    kind: str  # a CSS modifier: interaction, ticket, survey, invoice, firing, playbook, health
    icon: str
    title: str
    detail: str = ""
    url: str = ""
    badge: str = ""
    badge_kind: str = ""
    date_only: bool = False

    @property
    def key(self) -> tuple:
        return (self.ts, self.rank, self.id)

    @property
    def cursor(self) -> str:
        return Cursor(self.ts, self.rank, self.id).encode()


@dataclass
class TimelinePage:
    events: list[TimelineEvent]
    next_cursor: str | None


class _Source:
    """One kind of event: a queryset, its time field (a datetime, or a date shown as the
    start of that day in the organization's time zone, shifted by `offset_days`), and how
    a row reads."""

    rank: int
    field: str
    is_date: bool = False
    offset_days: int = 0

    def queryset(self, account: Account, today: dt.date) -> QuerySet:
        raise NotImplementedError

    def event(self, row, ts: dt.datetime) -> TimelineEvent:
        raise NotImplementedError

    # -- paging

    def _tie(self, cursor: Cursor, id_field: str) -> Q | None:
        """Rows at exactly the cursor's time that come after it: None for none, Q() for all."""
        if self.rank < cursor.rank:
            return Q()
        if self.rank == cursor.rank:
            return Q(**{f"{id_field}__lt": cursor.id})
        return None

    def after(self, cursor: Cursor, tz: ZoneInfo) -> Q:
        if not self.is_date:
            q = Q(**{f"{self.field}__lt": cursor.ts})
            tie = self._tie(cursor, "pk")
            if tie is not None:
                q |= Q(**{self.field: cursor.ts}) & tie
            return q
        local = cursor.ts.astimezone(tz)
        day = local.date()
        field_day = day - dt.timedelta(days=self.offset_days)
        if local.timetz().replace(tzinfo=None) != dt.time(0):
            return Q(**{f"{self.field}__lte": field_day})
        q = Q(**{f"{self.field}__lt": field_day})
        tie = self._tie(cursor, "pk")
        if tie is not None:
            q |= Q(**{self.field: field_day}) & tie
        return q

    def fetch(
        self, account: Account, today: dt.date, cursor: Cursor | None, limit: int, tz: ZoneInfo
    ) -> list[TimelineEvent]:
        qs = self.queryset(account, today)
        if cursor is not None:
            qs = qs.filter(self.after(cursor, tz))
        rows = qs.order_by(F(self.field).desc(), "-pk")[:limit]
        events = []
        for row in rows:
            value = getattr(row, self.field)
            if self.is_date:
                day = value + dt.timedelta(days=self.offset_days)
                ts = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
            else:
                ts = value
            events.append(self.event(row, ts))
        return events


class _Interactions(_Source):
    rank, field = 0, "occurred_at"

    def queryset(self, account, today):
        return Interaction.objects.filter(account=account).select_related("contact", "author")

    def event(self, row, ts):
        parts = [
            (row.notes or "")[:280],
            gettext("by %(author)s") % {"author": row.author} if row.author else "",
        ]
        kind = row.get_kind_display()
        if row.contact:
            title = gettext("%(kind)s with %(contact)s: %(summary)s") % {
                "kind": kind,
                "contact": row.contact.name,
                "summary": row.summary,
            }
        else:
            title = gettext("%(kind)s: %(summary)s") % {"kind": kind, "summary": row.summary}
        return TimelineEvent(
            ts,
            self.rank,
            row.pk,
            "interaction",
            "☎" if row.kind == "call" else "✉",
            title,
            detail=" · ".join(p for p in parts if p),
            badge=row.get_kind_display(),
            badge_kind=f"kind-{row.kind}",
        )


class _TicketsOpened(_Source):
    rank, field = 1, "opened_at"

    def queryset(self, account, today):
        return Ticket.objects.filter(account=account)

    def event(self, row, ts):
        return TimelineEvent(
            ts,
            self.rank,
            row.pk,
            "ticket",
            "⚑",
            gettext("Ticket opened: %(subject)s") % {"subject": row.subject},
            detail=f"{row.get_priority_display()} priority",
            badge="SLA breached" if row.sla_breached else "",
            badge_kind="danger",
        )


class _TicketsClosed(_Source):
    rank, field = 2, "closed_at"

    def queryset(self, account, today):
        return Ticket.objects.filter(account=account, closed_at__isnull=False)

    def event(self, row, ts):
        return TimelineEvent(
            ts,
            self.rank,
            row.pk,
            "ticket",
            "✓",
            gettext("Ticket closed: %(subject)s") % {"subject": row.subject},
            badge="SLA breached" if row.sla_breached else "",
            badge_kind="danger",
        )


class _Surveys(_Source):
    rank, field = 3, "answered_at"

    def queryset(self, account, today):
        return SurveyResponse.objects.filter(account=account).select_related("contact")

    def event(self, row, ts):
        scale = "10" if row.kind == "nps" else "5"
        who = f" by {row.contact.name}" if row.contact else ""
        category = row.nps_category
        return TimelineEvent(
            ts,
            self.rank,
            row.pk,
            "survey",
            "★",
            f"{row.get_kind_display()} answered{who}: {row.score}/{scale}",
            detail=f"“{row.comment[:240]}”" if row.comment else "",
            badge=category.capitalize() if category else "",
            badge_kind=f"nps-{category}" if category else "",
        )


class _InvoicesOverdue(_Source):
    """An invoice appears on the first day it was overdue (unpaid past due, or paid late)."""

    rank, field, is_date, offset_days = 4, "due_on", True, 1

    def queryset(self, account, today):
        return Invoice.objects.filter(account=account).filter(
            Q(paid_on__isnull=True, due_on__lt=today) | Q(paid_on__gt=F("due_on"))
        )

    def event(self, row, ts):
        if row.paid_on:
            late = (row.paid_on - row.due_on).days
            detail = ngettext("Paid %(days)s day late", "Paid %(days)s days late", late) % {
                "days": late
            }
        else:
            detail = gettext("Still unpaid")
        return TimelineEvent(
            ts,
            self.rank,
            row.pk,
            "invoice",
            "⚠",
            gettext("Invoice %(number)s overdue") % {"number": row.number},
            detail=gettext("Due %(day)s · %(detail)s")
            % {"day": format_date(row.due_on), "detail": detail},
            badge=gettext("Overdue"),
            badge_kind="danger",
            date_only=True,
        )


class _Firings(_Source):
    rank, field, is_date = 5, "fired_on", True

    def queryset(self, account, today):
        return firings_of_account(account=account)

    def event(self, row, ts):
        return TimelineEvent(
            ts,
            self.rank,
            row.pk,
            "firing",
            "⚡",
            gettext("Trigger fired: %(name)s") % {"name": row.trigger.name},
            detail="; ".join(
                evidence_sentences(
                    text=row.evidence_text,
                    evidence=row.evidence,
                    localize=formatting.localize_figure,
                )
            ),
            badge=row.trigger.get_kind_display(),
            badge_kind=f"kind-{row.trigger.kind}",
            date_only=True,
            url=reverse("playbooks:detail", args=[row.playbook_id]) if row.playbook_id else "",
        )


class _PlaybooksOpened(_Source):
    rank, field, is_date = 6, "opened_on", True

    def queryset(self, account, today):
        return Playbook.objects.filter(account=account).select_related("owner")

    def event(self, row, ts):
        if row.origin == "trigger":
            origin = row.origin_label
        elif row.origin == "lifecycle":
            origin = gettext("opened when the account entered onboarding")
        elif row.origin == "survey":
            origin = gettext("opened by a survey answer")
        elif row.origin_label:
            origin = gettext("started by %(name)s") % {"name": row.origin_label}
        else:
            origin = gettext("started by hand")
        if row.owner:
            detail = gettext("%(origin)s · owner %(owner)s") % {
                "origin": origin,
                "owner": row.owner,
            }
        else:
            detail = origin
        return TimelineEvent(
            ts,
            self.rank,
            row.pk,
            "playbook",
            "▶",
            gettext("Playbook opened: %(title)s") % {"title": row.title},
            detail=detail,
            url=reverse("playbooks:detail", args=[row.pk]),
            badge=row.get_kind_display(),
            badge_kind=f"kind-{row.kind}",
            date_only=True,
        )


class _PlaybooksClosed(_Source):
    rank, field = 7, "closed_at"

    def queryset(self, account, today):
        return Playbook.objects.filter(account=account, closed_at__isnull=False).select_related(
            "closed_by"
        )

    def event(self, row, ts):
        by = f" by {row.closed_by}" if row.closed_by else ""
        return TimelineEvent(
            ts,
            self.rank,
            row.pk,
            "playbook",
            "■",
            gettext("Playbook closed: %(title)s") % {"title": row.title},
            detail=f"{row.get_outcome_display() or row.get_status_display()}{by}",
            url=reverse("playbooks:detail", args=[row.pk]),
            badge=row.get_outcome_display(),
            badge_kind=f"outcome-{row.outcome}",
        )


_COLOUR_RANK = {Colour.RED: 0, Colour.YELLOW: 1, Colour.GREEN: 2}


class _HealthColours(_Source):
    """Days the score moved to another colour band: each day's colour against the previous
    scored day's (LAG over the account's history, in the database); days with no data are
    left out so red, no data, red is not a change."""

    rank, field, is_date = 8, "date", True

    def queryset(self, account, today):
        return (
            HealthScore.objects.filter(account=account)
            .exclude(colour=Colour.NONE)
            .annotate(
                previous_colour=Window(Lag("colour"), order_by=F("date").asc()),
            )
            .filter(previous_colour__isnull=False)
            .exclude(previous_colour=F("colour"))
            .only("pk", "date", "score", "colour")
        )

    def event(self, row, ts):
        before, after = row.previous_colour, row.colour
        worse = _COLOUR_RANK.get(after, 0) < _COLOUR_RANK.get(before, 0)
        return TimelineEvent(
            ts,
            self.rank,
            row.pk,
            "health",
            "↓" if worse else "↑",
            gettext("Health moved from %(before)s to %(after)s")
            % {"before": gettext(before), "after": gettext(after)},
            detail=gettext("Score %(score)s") % {"score": f"{row.score:.0f}"}
            if row.score is not None
            else "",
            # the colours' names are in the catalogue ("red", "Red")
            badge=gettext(after.capitalize()),
            badge_kind=f"health-{after}",
            date_only=True,
        )


class _StageChanges(_Source):
    """The account's moves between lifecycle stages (accounts.LifecycleChange: the nightly
    stage rules of lifecycle/, a person, an import)."""

    rank, field, is_date = 9, "changed_on", True

    def queryset(self, account, today):
        return LifecycleChange.objects.filter(account=account)

    def event(self, row, ts):
        labels = dict(LifecycleStage.choices)
        to = labels.get(row.to_stage, row.to_stage)
        if row.from_stage:
            detail = gettext("From %(before)s") % {
                "before": labels.get(row.from_stage, row.from_stage)
            }
        else:
            detail = ""
        return TimelineEvent(
            ts,
            self.rank,
            row.pk,
            "stage",
            "➜",
            gettext("Entered the %(stage)s stage") % {"stage": to},
            detail=detail,
            badge=to,
            badge_kind=f"stage-{row.to_stage}",
            date_only=True,
        )


TIMELINE_SOURCES: tuple[_Source, ...] = (
    _Interactions(),
    _TicketsOpened(),
    _TicketsClosed(),
    _Surveys(),
    _InvoicesOverdue(),
    _Firings(),
    _PlaybooksOpened(),
    _PlaybooksClosed(),
    _HealthColours(),
    _StageChanges(),
)


def account_timeline(
    *,
    account: Account,
    today: dt.date,
    tz: ZoneInfo,
    cursor: Cursor | None = None,
    limit: int = TIMELINE_PAGE_SIZE,
) -> TimelinePage:
    """One page of the account's timeline after `cursor` (from the newest without one): one
    query per kind of event, each reading at most `limit` + 1 rows past the cursor, merged
    newest first. `next_cursor` is None on the last page."""
    events: list[TimelineEvent] = []
    for source in TIMELINE_SOURCES:
        events.extend(source.fetch(account, today, cursor, limit + 1, tz))
    events.sort(key=lambda e: e.key, reverse=True)
    page = events[:limit]
    more = len(events) > limit
    return TimelinePage(events=page, next_cursor=page[-1].cursor if more and page else None)
