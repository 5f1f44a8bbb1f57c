"""The backtest's one read for many days (triggers.fields.frames_read_ahead) gives each day
the frame load_frame reads for it alone: the same customers (accounts.selectors.customer_on),
the same products held and the same overdue invoices, on the edges of each rule."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from accounts.models import LifecycleStage
from health.models import HealthScore
from orgs.tenancy import org_context
from tests import factories as f
from tests.triggers.test_frame_scope import FIELDS as SCOPE_FIELDS
from triggers.fields import frames_read_ahead, load_frame

pytestmark = pytest.mark.django_db

D1, D2, D3 = dt.date(2025, 3, 1), dt.date(2025, 3, 8), dt.date(2025, 3, 15)
DAYS = [D1, D2, D3]
# the persona test's families (health, score change, products, renewal, invoices, usage,
# tier) and the other account columns and invoice figure
FIELDS = SCOPE_FIELDS | {
    "tenure_days",
    "overdue_invoice_max_days",
    "mrr",
    "lifecycle_stage",
    "name",
    "owner_id",
}


def d(month, day):
    return dt.date(2025, month, day)


@pytest.fixture
def world(org):
    """Five accounts around the days 1, 8 and 15 March:

    - A0 (persona A), a customer since 2023: "core" held throughout, "addon" from 5 March
      ending on the 15th (held on the 8th only: a subscription ending on a day is not held on
      it); invoices due 20 Feb paid 10 Mar (overdue on the 1st and 8th), due 7 Mar unpaid
      (overdue on the 8th and 15th), due 27 Feb paid 28 Feb and due 1 Mar paid 8 Mar (never
      overdue on a replayed day: due on the 1st is not yet overdue, paid on the 8th is paid);
    - A1 (persona A), a customer from 5 March (not on the 1st), "core" from 5 March;
    - B2 (persona B), churned on 8 March (a customer on the 1st only), an invoice due 10 Feb
      unpaid;
    - N3 (no persona), in the churned stage without a date: never a customer;
    - N4 (no persona), without a customer-since date: a customer every day.

    Scores on each day and a week before the first, 50 + account number + day of month."""
    with org_context(org):
        a, b = f.PersonaFactory(organization=org), f.PersonaFactory(organization=org)
        core = f.ProductFactory(organization=org, code="core")
        addon = f.ProductFactory(organization=org, code="addon")
        specs = [
            (a, {}),
            (a, {"customer_since": d(3, 5)}),
            (b, {"churned_at": d(3, 8), "lifecycle_stage": LifecycleStage.CHURNED}),
            (None, {"lifecycle_stage": LifecycleStage.CHURNED}),
            (None, {"customer_since": None}),
        ]
        accounts = []
        for i, (persona, extra) in enumerate(specs):
            account = f.AccountFactory(
                organization=org,
                persona=persona,
                mrr=Decimal(100 * (i + 1)),
                renewal_date=d(4, 1 + i),
                **extra,
            )
            accounts.append(account)
            for day in (d(2, 22), *DAYS):
                HealthScore.objects.create(
                    organization=org,
                    account=account,
                    date=day,
                    score=50.0 + i + day.day,
                    colour="yellow",
                )
        a0, a1, b2 = accounts[:3]
        f.SubscriptionFactory(account=a0, product=core, start_date=dt.date(2024, 1, 1))
        f.SubscriptionFactory(account=a0, product=addon, start_date=d(3, 5), end_date=d(3, 15))
        f.SubscriptionFactory(account=a1, product=core, start_date=d(3, 5))
        for issued, due, paid in [
            (d(2, 1), d(2, 20), d(3, 10)),
            (d(3, 1), d(3, 7), None),
            (d(2, 1), d(2, 27), d(2, 28)),
            (d(2, 25), d(3, 1), d(3, 8)),
        ]:
            f.InvoiceFactory(account=a0, issued_on=issued, due_on=due, paid_on=paid)
        f.InvoiceFactory(account=b2, issued_on=d(2, 1), due_on=d(2, 10))
    return org, a, accounts


def test_each_days_frame_read_ahead_equals_the_frame_read_alone(world):
    """Whole organization and persona A, every replayed day: the frames are equal, column
    for column. By hand: customers A0, B2, N4 on the 1st; A0, A1, N4 on the 8th and 15th.
    A0's products |core| / |addon|core| / |core|; its overdue invoices 1 (9 days: 1 Mar - 20
    Feb) / 2 (16 days: 8 Mar - 20 Feb) / 1 (8 days: 15 Mar - 7 Mar); B2's on the 1st 1 (19
    days). A0's score change over 7 days on the 8th: (50 + 8) - (50 + 1) = 7."""
    org, persona, accounts = world
    a0, a1, b2, _n3, n4 = (x.pk for x in accounts)
    with org_context(org):
        ahead = frames_read_ahead(days=DAYS, fields=FIELDS)
        mine = frames_read_ahead(days=DAYS, fields=FIELDS, persona_id=persona.pk)
        frames = {}
        for day in DAYS:
            alone = load_frame(day=day, fields=FIELDS)
            frames[day] = load_frame(day=day, fields=FIELDS, read_ahead=ahead)
            pd.testing.assert_frame_equal(frames[day], alone)
            pd.testing.assert_frame_equal(
                load_frame(day=day, fields=FIELDS, persona_id=persona.pk, read_ahead=mine),
                load_frame(day=day, fields=FIELDS, persona_id=persona.pk),
            )
    assert list(frames[D1].index) == [a0, b2, n4]
    assert list(frames[D2].index) == list(frames[D3].index) == [a0, a1, n4]
    assert [frames[day].loc[a0, "products"] for day in DAYS] == ["|core|", "|addon|core|", "|core|"]
    assert frames[D2].loc[a1, "products"] == "|core|"
    assert [frames[day].loc[a0, "overdue_invoice_count"] for day in DAYS] == [1.0, 2.0, 1.0]
    assert [frames[day].loc[a0, "overdue_invoice_max_days"] for day in DAYS] == [9.0, 16.0, 8.0]
    assert frames[D1].loc[b2, "overdue_invoice_max_days"] == 19.0
    assert frames[D2].loc[a0, "score_change_7d"] == 7.0


def test_a_read_ahead_serves_only_the_days_fields_and_persona_it_read(world):
    """A frame for a day, a field or a persona the read ahead does not hold is refused (it
    would be silently wrong), naming read_ahead."""
    org, persona, _accounts = world
    with org_context(org):
        ahead = frames_read_ahead(days=[D1, D2], fields={"tier"})
        for kwargs in (
            {"day": D3, "fields": {"tier"}},
            {"day": D1, "fields": {"tier", "products"}},
            {"day": D1, "fields": {"tier"}, "persona_id": persona.pk},
        ):
            with pytest.raises(ValueError, match="read_ahead"):
                load_frame(**kwargs, read_ahead=ahead)
        assert len(load_frame(day=D1, fields={"tier"}, read_ahead=ahead)) == 3
