"""Each measure of the catalogue on the hand-computed fixture (tests/builders.py)."""

import datetime as dt
import math

import pandas as pd
import pytest

from health.measures import MEASURES, MeasureContext, load_accounts
from health.usage import DenseUsage
from tests.builders import DAY, measures_world

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["sql", "dense"])
def ctx(request, org, in_org):
    """Every measure is checked with both usage backends: SQL per window (nightly) and the
    preloaded cumulative matrices (backfills)."""
    org.timezone = "UTC"
    org.save(update_fields=["timezone"])
    x, y, z = measures_world(org)
    ids = [x.pk, y.pk, z.pk]
    accounts = load_accounts(first_id=min(ids), last_id=max(ids), day=DAY)
    dense = None
    if request.param == "dense":
        dense = DenseUsage(account_ids=ids, first=DAY - dt.timedelta(days=400), last=DAY)
    return MeasureContext(day=DAY, accounts=accounts, tz="UTC", dense=dense), x, y, z


def value(ctx, key, account, window=None, metric=""):
    context = ctx[0]
    return MEASURES[key].compute(context, window, metric)[account.pk]


def test_churned_account_is_not_scored(ctx):
    context, x, y, z = ctx
    assert list(context.ids) == sorted([x.pk, y.pk])


EXPECTED_X = {
    "usage_frequency": 10,  # 10 days of 5 logins; the day of 0 does not count
    "usage_trend": (50 / 30 / (180 / 180) - 1) * 100,  # +66.7%
    "volume_trend": (1500 / 3000 - 1) * 100,  # -50%
    "tenure": 546 / 30.4375,  # 2023-01-01 .. 2024-06-30
    "renewals": 2,
    "nps_latest": 4,  # 2024-05-01's answer; 2024-07-01 is after the day
    "csat_avg": 3,  # (4 + 2) / 2; March is outside 90 days
    "tickets_over_sla": 2,
    "overdue_invoices": 2,
    "overdue_amount": 1400,  # (1000 - 100) + 500
    "discount_level": 25,  # (10*1000 + 30*3000) / 4000; the cancelled one is out
    "days_since_interaction": 10,  # 2024-06-20; 2024-07-02 is after the day
    "product_adoption": 50,  # core used in June, analytics not in 30 days
    "csm_sentiment": 4,
}

EXPECTED_Y = {
    "usage_frequency": 0,
    "usage_trend": None,  # no baseline: signed 2024-06-01
    "volume_trend": None,
    "tenure": 29 / 30.4375,
    "renewals": 0,
    "nps_latest": None,
    "csat_avg": None,
    "tickets_over_sla": 0,
    "overdue_invoices": 0,
    "overdue_amount": 0,
    "discount_level": None,  # holds nothing
    "days_since_interaction": 29,  # never contacted: counted from customer_since
    "product_adoption": None,
    "csm_sentiment": None,  # expired 2024-06-01
}


def test_catalogue_is_complete():
    assert set(MEASURES) == set(EXPECTED_X)


@pytest.mark.parametrize("key", sorted(EXPECTED_X))
def test_measure_by_hand(ctx, key):
    _, x, y, _ = ctx
    got_x = value(ctx, key, x)
    assert got_x == pytest.approx(EXPECTED_X[key], rel=1e-9), key
    got_y = value(ctx, key, y)
    if EXPECTED_Y[key] is None:
        assert math.isnan(got_y), f"{key} for a young account should be missing, got {got_y}"
    else:
        assert got_y == pytest.approx(EXPECTED_Y[key], rel=1e-9), key


def test_window_parameter_changes_the_result(ctx):
    _, x, _, _ = ctx
    # 5 days: 2024-06-26..30 has no logins
    assert value(ctx, "usage_frequency", x, window=5) == 0
    # 25 days from 06-06: 06-06..06-10 are active
    assert value(ctx, "usage_frequency", x, window=25) == 5


@pytest.mark.parametrize(
    "key, value, text",
    [
        ("tenure", 1, "customer for 1 month"),
        ("tenure", 1.2, "customer for 1 month"),
        ("tenure", 14, "customer for 14 months"),
        ("renewals", 1, "renewed 1 time"),
        ("renewals", 0, "renewed 0 times"),
    ],
)
def test_counts_read_as_words(key, value, text):
    from health.measures import MEASURES

    assert MEASURES[key].describe(value) == text


def test_prefetched_usage_reads_each_metric_once_with_the_same_values(
    org, in_org, django_assert_num_queries
):
    """Usage frequency (active days of logins over 30 days) and usage trend (logins over the
    30 days and the 180 before) read ahead together: one query on the logins, and the
    measures then give their hand-computed values for X (10 active days; +66.7%, as in
    EXPECTED_X) without another query. A window nobody read ahead (5 days) is still read
    (one query): 0 active days."""
    org.timezone = "UTC"
    org.save(update_fields=["timezone"])
    x, y, _ = measures_world(org)
    accounts = load_accounts(first_id=min(x.pk, y.pk), last_id=max(x.pk, y.pk), day=DAY)
    context = MeasureContext(day=DAY, accounts=accounts, tz="UTC")
    keys = ("usage_frequency", "usage_trend")
    reads = [MEASURES[k].usage_read(DAY, None, "") for k in keys]
    assert [r[0] for r in reads] == ["logins", "logins"]
    with django_assert_num_queries(1):
        context.usage.prefetch(reads)
    with django_assert_num_queries(0):
        got = {k: MEASURES[k].compute(context, None, "")[x.pk] for k in keys}
    assert got["usage_frequency"] == EXPECTED_X["usage_frequency"]
    assert got["usage_trend"] == pytest.approx(EXPECTED_X["usage_trend"], rel=1e-9)
    with django_assert_num_queries(1):
        assert MEASURES["usage_frequency"].compute(context, 5, "")[x.pk] == 0


def test_the_numbers_of_a_measure_phrase_read_in_the_organizations_formats():
    """The phrase's spec stays the translator's ({value:.1f}); the figure is written in the
    locale in force when it is read: CSAT 4.25 → "4.2"/"4,2" is a .1f of 4.25 (half to even
    in Python's format: 4.2); overdue 1234.5 with ",.2f" → "1,234.50" / "1.234,50"; the move
    of a discount 12.5 → 7.25 with 0 digits and "%" → "12% → 7%" either way (no decimals)."""
    from django.utils import translation

    from health.measures import MEASURES
    from health.phrases import move_text
    from orgs import formatting

    token = formatting.activate(locale="pt-br", currency="BRL")
    try:
        with translation.override("pt-br"):
            assert MEASURES["csat_avg"].describe(4.25, 30) == "CSAT médio 4,2 nos últimos 30 dias"
            assert MEASURES["overdue_amount"].describe(1234.5).startswith("1.234,50 ")
            assert move_text("overdue_amount", 1234.5, 10.0, None, "") == (
                "valor em atraso 1.234,50 → 10,00"
            )
    finally:
        formatting.deactivate(token)
    token = formatting.activate(locale="en", currency="USD")
    try:
        with translation.override("en"):
            assert MEASURES["csat_avg"].describe(4.25, 30) == (
                "average CSAT 4.2 over the last 30 days"
            )
            assert MEASURES["overdue_amount"].describe(1234.5) == "1,234.50 overdue"
    finally:
        formatting.deactivate(token)


def test_a_usage_metric_is_named_in_the_readers_language():
    """The metric inside a measure's phrase and a move's words: transacted_volume reads
    "transacted volume" in English and "volume transacionado" in pt-BR; a metric of the
    organization's own that the catalogue does not know reads as its key in words."""
    from django.utils import translation

    from health.measures import metric_label
    from health.phrases import move_text

    with translation.override("pt-br"):
        assert (
            MEASURES["volume_trend"]
            .describe(-12.0, 90, "transacted_volume")
            .startswith("volume transacionado -12%")
        )
        assert move_text("volume_trend", 10.0, 5.0, 90, "transacted_volume").startswith(
            "volume transacionado "
        )
        assert metric_label("invoices_sent") == "invoices sent"
    with translation.override("en"):
        assert metric_label("transacted_volume") == "transacted volume"


def test_a_size_band_reads_in_the_readers_language():
    from django.utils import translation

    from accounts.models import SizeBand

    with translation.override("pt-br"):
        assert str(SizeBand.MICRO.label) == "1-10 funcionários"
    with translation.override("en"):
        assert str(SizeBand.MICRO.label) == "1-10 employees"


def test_measures_of_one_family_share_one_query(org, in_org, django_assert_num_queries):
    """The nightly chunk reads each table once per family of measures. On the fixture's X:
    renewals 2 (the highest count of the three subscriptions started by the day), discount
    (10*1000 + 30*3000) / 4000 = 25 (the cancelled addon is not held) and adoption 50 (core
    used on 2024-06-15, analytics last on 2024-04-01, outside the 30 days): one query on the
    subscriptions for all three, and one on the product usage for adoption. Overdue invoices
    2 and overdue amount (1000 - 100) + 500 = 1400: one query for both."""
    org.timezone = "UTC"
    org.save(update_fields=["timezone"])
    x, y, _ = measures_world(org)
    accounts = load_accounts(first_id=min(x.pk, y.pk), last_id=max(x.pk, y.pk), day=DAY)
    context = MeasureContext(day=DAY, accounts=accounts, tz="UTC")
    with django_assert_num_queries(1):
        assert MEASURES["renewals"].compute(context, None, "")[x.pk] == 2
        assert MEASURES["discount_level"].compute(context, None, "")[x.pk] == 25
    with django_assert_num_queries(1):  # the usage of the products held; the rest was read
        assert MEASURES["product_adoption"].compute(context, None, "")[x.pk] == 50
    with django_assert_num_queries(1):
        assert MEASURES["overdue_invoices"].compute(context, None, "")[x.pk] == 2
        assert MEASURES["overdue_amount"].compute(context, None, "")[x.pk] == 1400


@pytest.mark.parametrize("backend", ["sql", "dense"])
def test_product_usage_is_read_for_the_products_named(org, in_org, backend):
    """X used core (2024-06-15) and, in this test, addon (2024-06-20) in the 30 days to
    2024-06-30; analytics last on 2024-04-01. Asked for the products held (core, analytics),
    the read gives core only; asked for none in particular, core and addon."""
    from accounts.models import UsageMetric
    from health.usage import SqlUsage

    x, y, _ = measures_world(org)
    UsageMetric.objects.create(
        organization=org, account=x, metric="product:addon", date=dt.date(2024, 6, 20), value=2.0
    )
    ids = pd.Index([x.pk, y.pk])
    if backend == "sql":
        usage = SqlUsage(ids, (min(ids), max(ids)))
    else:
        dense = DenseUsage(account_ids=list(ids), first=DAY - dt.timedelta(days=400), last=DAY)
        usage = dense.view(ids)
    first = DAY - dt.timedelta(days=29)
    held = usage.products_used(first, DAY, codes=["core", "analytics"])
    assert sorted(zip(held["account_id"], held["code"], strict=True)) == [(x.pk, "core")]
    every = usage.products_used(first, DAY)
    assert sorted(zip(every["account_id"], every["code"], strict=True)) == [
        (x.pk, "addon"),
        (x.pk, "core"),
    ]


def test_product_usage_read_names_each_metric(org, in_org):
    """The product-usage read of a chunk names the products' metrics (`metric IN (...)`), so
    the usage index (organization, metric, account, date) bounds the accounts and dates
    within each metric. Asked as a range of metrics, PostgreSQL took the account foreign-key
    index and the table's rows behind it at 100,000 accounts (issue 16: 0.9-1.8 s a chunk,
    0.27 s named; EXPLAIN on the bench). A table this small gets the index-only plan either
    way, so the test reads the statement rather than the plan."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from health.usage import SqlUsage

    x, y, _ = measures_world(org)
    ids = pd.Index([x.pk, y.pk])
    with CaptureQueriesContext(connection) as captured:
        SqlUsage(ids, (min(ids), max(ids))).products_used(
            DAY - dt.timedelta(days=29), DAY, codes=["core", "analytics"]
        )
    (query,) = captured.captured_queries
    assert "\"metric\" IN ('product:analytics', 'product:core')" in query["sql"], query["sql"]
    assert '"metric" >=' not in query["sql"]
