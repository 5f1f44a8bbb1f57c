"""The two compilers of the condition language agree (PostgreSQL): on random portfolios and
random trees over the account fields, the SQL filter (`to_q`) and the mask on the nightly
frame (`to_mask` on `triggers.fields.load_frame`) pick the same accounts."""

import datetime as dt
import math
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accounts.models import (
    Account,
    LifecycleStage,
    SizeBand,
    SubscriptionStatus,
    Tier,
    TouchModel,
)
from accounts.personas import ACCOUNT_FIELDS
from conditions import OPERATORS, ConditionError, FieldType, parse
from orgs.tenancy import org_context
from tests.factories import AccountFactory, ProductFactory, SubscriptionFactory
from triggers.fields import load_frame

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 1, 1)  # the nightly run's day: after every customer_since drawn below
CODES = ("core", "analytics", "billing")

# Small pools so that random accounts share values and equality comparisons hit; "" is the
# blank a CharField holds when nothing is known (a missing value for the language).
TEXT_POOLS = {
    "industry": ("", "Retail", "Health", "Logistics"),
    "region": ("", "North", "South"),
    "acquisition_channel": ("", "web", "partner"),
    "relationship_channel": ("", "email"),
}


@pytest.fixture
def products(org):
    return {code: ProductFactory(organization=org, code=code, name=code.title()) for code in CODES}


def _create(org, products, portfolio) -> list[int]:
    """The accounts of `portfolio`, each holding its `held` products as active subscriptions
    and its `cancelled` ones as subscriptions that ended before DAY."""
    ids = []
    for spec in portfolio:
        fields = {k: v for k, v in spec.items() if k not in ("held", "cancelled")}
        account = AccountFactory(organization=org, **fields)
        for code in sorted(spec["held"]):
            SubscriptionFactory(
                account=account,
                product=products[code],
                start_date=dt.date(2020, 1, 1),
                status=SubscriptionStatus.ACTIVE,
            )
        for code in sorted(spec["cancelled"]):
            SubscriptionFactory(
                account=account,
                product=products[code],
                start_date=dt.date(2019, 1, 1),
                end_date=dt.date(2024, 6, 30),
                status=SubscriptionStatus.CANCELLED,
            )
        ids.append(account.pk)
    return ids


# -- strategies ----------------------------------------------------------------------------

mrrs = st.one_of(
    st.sampled_from([Decimal("0.00"), Decimal("0.01"), Decimal("100.00"), Decimal("1234.56")]),
    st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2),
)
customer_since = st.none() | st.dates(dt.date(2015, 1, 1), DAY - dt.timedelta(days=1))
renewal_dates = st.none() | st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31))

accounts = st.fixed_dictionaries(
    {
        "tier": st.sampled_from(Tier.values),
        "touch_model": st.sampled_from(TouchModel.values),
        "lifecycle_stage": st.sampled_from(LifecycleStage.values),
        "size_band": st.sampled_from([*SizeBand.values, ""]),
        **{name: st.sampled_from(pool) for name, pool in TEXT_POOLS.items()},
        "mrr": mrrs,
        "customer_since": customer_since,
        "renewal_date": renewal_dates,
        "held": st.frozensets(st.sampled_from(CODES)),
        "cancelled": st.frozensets(st.sampled_from(CODES), max_size=2),
    }
)
portfolios = st.lists(accounts, min_size=1, max_size=8)


def _values(name: str, portfolio: list[dict]) -> st.SearchStrategy:
    """One value valid for field `name`, as JSON would carry it; often one the portfolio has."""
    field = ACCOUNT_FIELDS[name]
    if field.type is FieldType.NUMBER:
        held = sorted({float(spec[name]) for spec in portfolio})
        return st.one_of(
            st.sampled_from(held),
            st.integers(min_value=-10, max_value=1_000_000),
            st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2).map(float),
            # JSON numbers need not stop at cents: the next float up from a held value
            st.sampled_from(held).map(lambda x: math.nextafter(x, math.inf)),
            st.floats(min_value=-10, max_value=1e6, allow_nan=False),
        )
    if field.type is FieldType.DATE:
        held = sorted({spec[name].isoformat() for spec in portfolio if spec[name]})
        drawn = st.dates(dt.date(2014, 1, 1), dt.date(2028, 12, 31)).map(dt.date.isoformat)
        return st.one_of(st.sampled_from(held), drawn) if held else drawn
    if field.type is FieldType.CHOICE:
        return st.sampled_from(field.choices)
    if field.type is FieldType.SET:
        return st.sampled_from([*CODES, "other"])
    return st.sampled_from([*TEXT_POOLS[name], "Other"])


@st.composite
def comparisons(draw, portfolio):
    name = draw(st.sampled_from(sorted(ACCOUNT_FIELDS)))
    op = draw(st.sampled_from(OPERATORS[ACCOUNT_FIELDS[name].type]))
    if op == "is_empty":
        value = draw(st.booleans())
    elif op == "in":
        value = draw(st.lists(_values(name, portfolio), min_size=1, max_size=3))
    elif op == "between":
        value = sorted(draw(st.lists(_values(name, portfolio), min_size=2, max_size=2)))
    else:
        value = draw(_values(name, portfolio))
    return {"field": name, "op": op, "value": value}


def trees(portfolio, depth: int = 3) -> st.SearchStrategy:
    """Comparisons under all/any/not, nested up to `depth` levels."""
    leaf = comparisons(portfolio)
    if depth == 0:
        return leaf
    sub = trees(portfolio, depth - 1)
    return st.one_of(
        leaf,
        st.lists(sub, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(sub, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        sub.map(lambda x: {"not": x}),
    )


def _agree(tree, frame) -> tuple[set[int], set[int]]:
    node = parse(tree, ACCOUNT_FIELDS)
    # the frame holds the customers of the day (no churned ones); SQL is asked about the same
    customers = Account.objects.filter(pk__in=list(frame.index))
    in_sql = set(customers.filter(node.to_q()).values_list("pk", flat=True))
    in_frame = {int(pk) for pk in frame.index[node.to_mask(frame).to_numpy(dtype=bool)]}
    return in_sql, in_frame


# -- the property --------------------------------------------------------------------------


@settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the checkout; failures print their example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_sql_and_pandas_pick_the_same_accounts(org, products, data):
    # `org` and `products` are made once per test and only read; each example's accounts
    # live in a savepoint rolled back at its end.
    portfolio = data.draw(portfolios, label="portfolio")
    # the nightly frame holds customers only: a portfolio of churned accounts has no frame
    assume(any(a["lifecycle_stage"] != "churned" for a in portfolio))
    conditions = data.draw(st.lists(trees(portfolio), min_size=1, max_size=4), label="trees")
    with org_context(org), transaction.atomic():
        ids = _create(org, products, portfolio)
        frame = load_frame(day=DAY, fields=set(ACCOUNT_FIELDS))
        # an account in the churned stage is no customer, so not in the nightly frame
        customers = [
            pk for pk, a in zip(ids, portfolio, strict=True) if a["lifecycle_stage"] != "churned"
        ]
        assert sorted(frame.index) == sorted(customers)
        for tree in conditions:
            in_sql, in_frame = _agree(tree, frame)
            assert in_sql == in_frame, tree
        transaction.set_rollback(True)


# -- the frame the property relies on ------------------------------------------------------


def test_load_frame_has_one_row_per_account_with_every_account_field(org, products):
    with org_context(org):
        ids = _create(
            org,
            products,
            [
                {
                    "industry": "",
                    "mrr": Decimal("1234.56"),
                    "customer_since": None,
                    "renewal_date": dt.date(2025, 3, 1),
                    "held": {"core", "analytics"},
                    "cancelled": {"billing"},
                },
                {
                    "industry": "Retail",
                    "mrr": Decimal("0.00"),
                    "customer_since": dt.date(2020, 5, 1),
                    "renewal_date": None,
                    "held": set(),
                    "cancelled": {"core"},
                },
            ],
        )
        frame = load_frame(day=DAY, fields=set(ACCOUNT_FIELDS))
    assert list(frame.index) == sorted(ids)
    assert set(ACCOUNT_FIELDS) <= set(frame.columns)
    first, second = ids
    assert frame.loc[first, "products"] == "|analytics|core|"  # sorted, cancelled left out
    assert frame.loc[second, "products"] == ""
    assert frame.loc[first, "mrr"] == 1234.56
    assert frame.loc[second, "mrr"] == 0.0
    assert frame.loc[first, "industry"] == ""
    assert frame.loc[first, "customer_since"] is None
    assert frame.loc[second, "customer_since"] == dt.date(2020, 5, 1)
    assert frame.loc[first, "tier"] == Tier.GOLD


# -- disagreements the property found, kept as plain examples ------------------------------


@pytest.fixture
def blanks(org, products):
    """Three accounts: blank industry and size band; Retail, 1-10; Health, 11-50."""
    with org_context(org):
        ids = _create(
            org,
            products,
            [
                {"industry": "", "size_band": "", "held": set(), "cancelled": set()},
                {
                    "industry": "Retail",
                    "size_band": SizeBand.MICRO,
                    "held": {"core"},
                    "cancelled": set(),
                },
                {
                    "industry": "Health",
                    "size_band": SizeBand.SMALL,
                    "held": {"analytics", "core"},
                    "cancelled": set(),
                },
            ],
        )
    return dict(zip(("blank", "retail", "health"), ids, strict=True))


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"field": "industry", "op": "is_empty", "value": True}, {"blank"}),
        ({"field": "industry", "op": "!=", "value": "Retail"}, {"health"}),
        ({"field": "industry", "op": "=", "value": ""}, set()),
        ({"field": "industry", "op": "in", "value": ["", "Health"]}, {"health"}),
        ({"not": {"field": "industry", "op": "!=", "value": "Retail"}}, {"blank", "retail"}),
        ({"field": "size_band", "op": "!=", "value": "1-10"}, {"health"}),
    ],
)
def test_a_blank_string_is_a_missing_value_in_both_compilers(org, blanks, tree, expected):
    """`is_empty` treats "" as missing in both compilers, so by the documented null rule a
    comparison on "" is false (and `not` flips it) in SQL as it is in pandas."""
    with org_context(org):
        frame = load_frame(day=DAY, fields=set(ACCOUNT_FIELDS))
        in_sql, in_frame = _agree(tree, frame)
    want = {blanks[name] for name in expected}
    assert in_frame == want
    assert in_sql == want


def test_a_number_finer_than_cents_compares_the_same(org, products):
    """0.010000000000000002 (the float after 0.01) is above a stored MRR of 0.01."""
    above = math.nextafter(0.01, math.inf)
    with org_context(org):
        (cent,) = _create(org, products, [{"mrr": Decimal("0.01"), "held": (), "cancelled": ()}])
        frame = load_frame(day=DAY, fields=set(ACCOUNT_FIELDS))
        for tree, want in [
            ({"field": "mrr", "op": "=", "value": 0.01}, {cent}),
            ({"field": "mrr", "op": "<", "value": above}, {cent}),
            ({"field": "mrr", "op": ">=", "value": above}, set()),
            ({"field": "mrr", "op": "=", "value": above}, set()),
        ]:
            in_sql, in_frame = _agree(tree, frame)
            assert in_frame == want, tree
            assert in_sql == want, tree


def test_a_set_value_is_one_code_never_a_pattern(org, products):
    """Codes are slugs: 'analytics|core' names no product. Refusing it when parsing or
    matching nothing in both compilers are both right; matching in one only is not."""
    with org_context(org):
        _create(org, products, [{"held": {"analytics", "core"}, "cancelled": ()}])
        frame = load_frame(day=DAY, fields=set(ACCOUNT_FIELDS))
        for value in ("analytics|core", "|core", "core|", "%", "_ore", ".*"):
            tree = {"field": "products", "op": "contains", "value": value}
            try:
                in_sql, in_frame = _agree(tree, frame)
            except ConditionError as exc:
                assert exc.path == "condition.value"
                continue
            assert (in_sql, in_frame) == (set(), set()), value
