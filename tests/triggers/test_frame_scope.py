"""The evaluation frame (triggers.fields.load_frame) carries only the account columns its
fields read, and a frame read for one persona (the dry run's and the backtest's, the trigger's
scope in SQL) is exactly the whole frame's rows of that persona, the night's."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from health.models import HealthScore
from orgs.tenancy import org_context
from tests import factories as f
from triggers.fields import load_frame

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 3, 1)
FIELDS = {
    "health_score",
    "health_colour",
    "score_change_7d",
    "products",
    "days_to_renewal",
    "overdue_invoice_count",
    "usage.logins.sum_30d",
    "tier",
}


@pytest.fixture
def world(org):
    """Four accounts, two of persona A and one of persona B and one without; each with a
    score today and a week ago, a product, an overdue invoice and logins, so that every
    family of the frame has rows outside persona A to leave out."""
    with org_context(org):
        a, b = f.PersonaFactory(organization=org), f.PersonaFactory(organization=org)
        product = f.ProductFactory(organization=org, code="core")
        accounts = []
        for i, persona in enumerate([a, a, b, None]):
            account = f.AccountFactory(
                organization=org,
                persona=persona,
                mrr=Decimal(100 * (i + 1)),
                renewal_date=DAY + dt.timedelta(days=10 * (i + 1)),
            )
            f.SubscriptionFactory(account=account, product=product, start_date=dt.date(2024, 1, 1))
            f.InvoiceFactory(account=account, issued_on=DAY - dt.timedelta(days=40 + i))
            f.UsageMetricFactory(account=account, date=DAY, value=5.0 + i)
            for day, score in ((DAY, 40.0 + i), (DAY - dt.timedelta(days=7), 50.0)):
                HealthScore.objects.create(
                    organization=org, account=account, date=day, score=score, colour="red"
                )
            accounts.append(account)
    return org, a, accounts


def test_a_persona_frame_is_the_whole_frames_rows_of_that_persona(world):
    """Persona A holds accounts 0 and 1: the persona frame has those two rows, and each of
    its cells equals the whole frame's (health 40 and 41, changes -10 and -9, renewals in 10
    and 20 days, one overdue invoice each, 5 and 6 logins)."""
    org, persona, accounts = world
    with org_context(org):
        whole = load_frame(day=DAY, fields=FIELDS)
        mine = load_frame(day=DAY, fields=FIELDS, persona_id=persona.pk)
    assert list(mine.index) == [accounts[0].pk, accounts[1].pk]
    assert len(whole) == 4
    expected = whole.loc[whole["persona_id"] == persona.pk]
    # persona_id is a float column in the whole frame (an account without one is NaN)
    pd.testing.assert_frame_equal(mine, expected[mine.columns], check_dtype=False)
    assert list(mine["health_score"]) == [40.0, 41.0]
    assert list(mine["score_change_7d"]) == [-10.0, -9.0]
    assert list(mine["days_to_renewal"]) == [10.0, 20.0]
    assert list(mine["overdue_invoice_count"]) == [1.0, 1.0]
    assert list(mine["usage.logins.sum_30d"]) == [5.0, 6.0]
    assert list(mine["products"]) == ["|core|", "|core|"]


def test_the_frame_carries_only_the_account_columns_its_fields_read(world):
    """A health-only frame has no name, tier or dates (persona_id stays: the scope reads it);
    asking for `name` and `owner_id` by name brings them, and days_to_renewal its date."""
    org, _persona, _accounts = world
    with org_context(org):
        narrow = load_frame(day=DAY, fields={"health_score"})
        shown = load_frame(day=DAY, fields={"days_to_renewal", "name", "owner_id"})
    assert "persona_id" in narrow
    assert not {"name", "tier", "mrr", "renewal_date", "customer_since"} & set(narrow.columns)
    assert {"name", "owner_id", "renewal_date", "days_to_renewal"} <= set(shown.columns)
    assert "tier" not in shown
