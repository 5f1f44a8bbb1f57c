"""The account timeline: every kind of event, colour changes from the score history (LAG),
and cursor paging that neither repeats nor skips an event, ties included."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from health.models import HealthScore
from playbooks.services import playbook_close, playbook_start
from tests import factories as f
from tests.builders import template
from workspace.selectors import Cursor, CursorError, account_timeline

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("America/Sao_Paulo")
TODAY = dt.date(2024, 7, 10)


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2024, 7, day, hour, tzinfo=TZ)


def all_pages(account, limit):
    seen, cursor, pages = [], None, 0
    while True:
        page = account_timeline(account=account, today=TODAY, tz=TZ, cursor=cursor, limit=limit)
        seen.extend(page.events)
        pages += 1
        if page.next_cursor is None:
            return seen, pages
        cursor = Cursor.decode(page.next_cursor)


@pytest.fixture
def account(org, csm, in_org):
    return f.AccountFactory(organization=org, owner=csm, name="Timeline Co")


def test_every_kind_of_event_newest_first(org, csm, account):
    contact = f.ContactFactory(account=account, name="Rita")
    f.InteractionFactory(account=account, contact=contact, summary="Kick-off", occurred_at=at(1))
    f.TicketFactory(account=account, subject="Export broken", opened_at=at(2), closed_at=at(4))
    f.SurveyResponseFactory(account=account, kind="nps", score=3, answered_at=at(3))
    f.InvoiceFactory(account=account, number="INV-7", due_on=dt.date(2024, 7, 4))  # unpaid
    f.InvoiceFactory(
        account=account, number="INV-6", due_on=dt.date(2024, 6, 1), paid_on=dt.date(2024, 6, 1)
    )  # on time: no event
    for day, colour in (
        (1, "green"),
        (2, "green"),
        (5, "yellow"),
        (6, "none"),
        (7, "yellow"),
        (8, "red"),
    ):
        HealthScore.all_objects.create(
            organization=org, account=account, date=dt.date(2024, 7, day), score=50, colour=colour
        )
    t = template(org, "Save", "retention")
    playbook = playbook_start(
        account=account, template=t, acting_user=csm, today=dt.date(2024, 7, 6)
    )
    playbook_close(playbook_id=playbook.pk, user=csm, outcome="retained", today=TODAY)

    events, _ = all_pages(account, limit=50)
    titles = [e.title for e in events]
    assert titles[0] == "Playbook closed: Save"  # closed now, after everything else
    assert titles[1:] == [
        "Health moved from yellow to red",
        "Playbook opened: Save",
        "Health moved from green to yellow",  # day 5; "none" on day 6 is not a change
        "Invoice INV-7 overdue",  # first overdue day: 5 July
        "Ticket closed: Export broken",
        "NPS answered: 3/10",
        "Ticket opened: Export broken",
        "Call with Rita: Kick-off",
    ]
    keys = [e.key for e in events]
    assert keys == sorted(keys, reverse=True)


def test_paging_neither_repeats_nor_skips_ties_included(org, account):
    same = at(3, 9)
    for i in range(7):
        f.InteractionFactory(account=account, summary=f"same {i}", occurred_at=same)
    for i in range(6):
        f.InteractionFactory(account=account, summary=f"day {i}", occurred_at=at(4 + i))
    for i in range(5):  # date events on one day: all at that day's start, ordered by id
        f.InvoiceFactory(account=account, number=f"INV-{i}", due_on=dt.date(2024, 7, 2))
    for limit in (1, 3, 4, 20):
        events, pages = all_pages(account, limit=limit)
        ids = [(e.kind, e.id) for e in events]
        assert len(ids) == len(set(ids)) == 18, limit
        assert [e.key for e in events] == sorted((e.key for e in events), reverse=True)
        assert pages == -(-18 // limit)  # no empty last page


def test_cursor_round_trip():
    c = Cursor(ts=timezone.now(), rank=3, id=42)
    back = Cursor.decode(c.encode())
    assert (back.rank, back.id) == (3, 42)
    assert abs((back.ts - c.ts).total_seconds()) < 1e-5
    assert Cursor.decode("") is None and Cursor.decode(None) is None
    with pytest.raises(CursorError):  # tests/workspace/test_timeline_cursor.py has the rest
        Cursor.decode("nonsense")
