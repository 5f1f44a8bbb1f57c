"""Trigger fields with a live (Q) form agree with the nightly (pandas) form on random data:
day counts from dates, and CSM sentiment with its expiry."""

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Account
from conditions import parse
from orgs.tenancy import org_context
from tests import factories as f
from triggers.fields import TRIGGER_FIELDS, load_frame

pytestmark = pytest.mark.django_db

OPS = ["<", "<=", ">", ">=", "=", "!=", "in", "between", "is_empty"]
number = st.one_of(
    st.integers(-400, 400), st.floats(-400, 400, allow_nan=False).map(lambda x: round(x, 1))
)


def comparison(field):
    def build(op, a, b, flag):
        if op == "is_empty":
            return {"field": field, "op": op, "value": flag}
        if op == "in":
            return {"field": field, "op": op, "value": [a, b]}
        if op == "between":
            return {"field": field, "op": op, "value": [min(a, b), max(a, b)]}
        return {"field": field, "op": op, "value": a}

    return st.builds(build, st.sampled_from(OPS), number, number, st.booleans())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    field=st.sampled_from(["days_to_renewal", "tenure_days", "csm_sentiment"]),
)
def test_live_and_nightly_forms_agree(org, data, field):
    today = timezone.localdate()
    offsets = st.one_of(st.none(), st.integers(-60, 60))
    with org_context(org):
        Account.all_objects.filter(organization=org).delete()
        for _ in range(6):
            renew, since, expires = (data.draw(offsets) for _ in range(3))
            f.AccountFactory(
                organization=org,
                renewal_date=None if renew is None else today + dt.timedelta(days=renew),
                customer_since=None if since is None else today - dt.timedelta(days=abs(since)),
                csm_sentiment=data.draw(st.one_of(st.none(), st.integers(1, 5))),
                csm_sentiment_expires_on=None
                if expires is None
                else today + dt.timedelta(days=expires),
            )
        tree = data.draw(comparison(field))
        node = parse(tree, TRIGGER_FIELDS)
        live = set(Account.objects.filter(node.to_q()).values_list("pk", flat=True))
        frame = load_frame(day=today, fields={field})
        nightly = set(frame.index[node.to_mask(frame).to_numpy()])
        assert live == nightly, tree


@pytest.mark.parametrize(
    ("tree", "matches"),
    [
        ({"op": "<", "value": 1.5}, True),
        ({"op": ">=", "value": 1.5}, False),
        ({"op": "<=", "value": 0.5}, False),
        ({"op": ">", "value": 0.5}, True),
        ({"op": "=", "value": 1.5}, False),
        ({"op": "!=", "value": 1.5}, True),
        ({"op": "in", "value": [1.5, 1]}, True),
        ({"op": "in", "value": [1.5, 2.5]}, False),
        ({"op": "between", "value": [0.5, 1.5]}, True),
    ],
)
def test_a_fraction_against_an_integer_column_is_not_truncated(org, tree, matches):
    """Sentiment is an integer column: Django would prepare 1.5 as 1, so `< 1.5` would miss a
    sentiment of 1 in the live count while the nightly frame fires on it."""
    with org_context(org):
        account = f.AccountFactory(organization=org, csm_sentiment=1)
        node = parse({"field": "csm_sentiment", **tree}, TRIGGER_FIELDS)
        live = Account.objects.filter(node.to_q(), pk=account.pk).exists()
        frame = load_frame(day=timezone.localdate(), fields={"csm_sentiment"})
        nightly = bool(node.to_mask(frame).loc[account.pk])
    assert (live, nightly) == (matches, matches)
