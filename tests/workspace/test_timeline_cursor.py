"""A malformed `before=` cursor on the account timeline is a 400 with a message that names
it, for the page and for htmx alike, and a log line; never a 500 and never a silent first page.
Every cursor the timeline itself hands out still pages."""

import base64
import datetime as dt
import logging

import pytest
from django.urls import reverse

from tests import factories as f
from workspace.selectors import Cursor, CursorError

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}

MALFORMED = {
    "garbage": "nonsense",
    "empty-parts": "..",
    "two-parts": "1720000000000000.1",
    "four-parts": "1720000000000000.1.2.3",
    "letters": "17200000000000a0.1.2",
    "base64": base64.b64encode(b"1720000000000000.1.2").decode(),
    "base64-garbage": base64.b64encode(b"\x00\xff garbage \x01").decode(),
    "spaces": " 1720000000000000.1.2 ",
    "underscores": "1_720_000_000_000_000.1.2",
    "fullwidth-digits": "\uff11\uff17\uff12\uff10.1.2",
    "nul": "1720000000000000.1.2\x00",
    "year-10000": "253402300800000000.0.1",
    "year-0": "-62135596800000001.0.1",
    "huge-micros": "9" * 19 + ".0.1",
    "huge-micros-5000-digits": "9" * 5000 + ".0.1",
    "negative-huge": "-" + "9" * 18 + ".0.1",
    "unknown-rank": "1720000000000000.99.1",
    "negative-rank": "1720000000000000.-1.1",
    "huge-id": "1720000000000000.0." + "9" * 25,
    "zero-id": "1720000000000000.0.0",
    "negative-id": "1720000000000000.0.-5",
    "long": "1" * 10_000,
}


@pytest.fixture
def account(org, csm):
    account = f.AccountFactory(organization=org, owner=csm)
    for day in range(1, 6):
        f.InteractionFactory(
            account=account, occurred_at=dt.datetime(2024, 7, day, 12, tzinfo=dt.UTC)
        )
    return account


def url(account):
    return reverse("workspace:account_timeline", args=[account.pk])


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_cursor_is_a_400_that_names_it(client, csm, account, value, caplog):
    client.force_login(csm)
    with caplog.at_level(logging.INFO, logger="workspace.views"):
        page = client.get(url(account), {"before": value})
        fragment = client.get(url(account), {"before": value}, **HTMX)
    for response in (page, fragment):
        assert response.status_code == 400
        html = response.content.decode()
        assert "before=" in html and "is not a position in this timeline" in html
        assert f'href="{url(account)}"' in html  # the way back to the newest events
        assert "Traceback" not in html
    assert "<html" in page.content.decode() and "<html" not in fragment.content.decode()
    assert "timeline of account" in caplog.text and "bad cursor" in caplog.text


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_decode_refuses_with_a_short_reason(value):
    with pytest.raises(CursorError) as info:
        Cursor.decode(value)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("value", [None, ""])
def test_no_cursor_is_the_first_page(value):
    assert Cursor.decode(value) is None


@pytest.mark.parametrize(
    "ts",
    [
        dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC),
        dt.datetime(1900, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1, 1, 3, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 29, tzinfo=dt.UTC),
    ],
    ids=["now", "1900", "year-1", "year-9999"],
)
@pytest.mark.parametrize("rank", [0, 8])
def test_every_cursor_an_event_can_have_decodes_and_pages(client, csm, account, ts, rank):
    cursor = Cursor(ts=ts, rank=rank, id=2**63 - 1)
    assert Cursor.decode(cursor.encode()) == cursor
    client.force_login(csm)
    response = client.get(url(account), {"before": cursor.encode()}, **HTMX)
    assert response.status_code == 200


def test_the_cursors_the_timeline_hands_out_page_to_the_end(client, csm, account):
    client.force_login(csm)
    from workspace import selectors

    limit = selectors.TIMELINE_PAGE_SIZE
    for day in range(6, 6 + limit):
        f.InteractionFactory(
            account=account, occurred_at=dt.datetime(2024, 7, day, 12, tzinfo=dt.UTC)
        )
    first = client.get(url(account), **HTMX)
    more = first.context["more_url"]
    assert more and "before=" in more
    rest = client.get(more, **HTMX)
    assert rest.status_code == 200
    assert len(first.context["page"].events) + len(rest.context["page"].events) == limit + 5
