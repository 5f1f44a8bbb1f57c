"""Portfolio reads: every filter, the search and the sorts on a small hand-made portfolio,
and the account record's sections."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts import selectors
from accounts.models import Account, LifecycleStage, Tier, TouchModel
from accounts.selectors import PortfolioFilters, portfolio_list
from tests.factories import (
    AccountFactory,
    ChurnReasonFactory,
    ContactFactory,
    InteractionFactory,
    InvoiceFactory,
    MembershipFactory,
    PersonaFactory,
    SubscriptionFactory,
    SurveyResponseFactory,
    TicketFactory,
    UsageMetricFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2025, 6, 1)


@pytest.fixture
def portfolio(org, other_org, csm, manager):
    """Six accounts of `org` (and one of another organization that must never show)."""
    enterprise = PersonaFactory(organization=org, name="Enterprise", slug="enterprise")
    smb = PersonaFactory(organization=org, name="SMB", slug="smb")
    accounts = {
        "alpha": AccountFactory(
            organization=org,
            name="Alpha Health",
            external_id="EXT-ALPHA",
            tier=Tier.DIAMOND,
            touch_model=TouchModel.HIGH,
            persona=enterprise,
            owner=csm,
            lifecycle_stage=LifecycleStage.ONGOING,
            mrr=Decimal("9000"),
            renewal_date=TODAY + dt.timedelta(days=20),
            customer_since=dt.date(2019, 3, 1),
        ),
        "bravo": AccountFactory(
            organization=org,
            name="Bravo Foods",
            external_id="EXT-BRAVO",
            tier=Tier.GOLD,
            touch_model=TouchModel.MID,
            persona=enterprise,
            owner=manager,
            lifecycle_stage=LifecycleStage.RENEWAL,
            mrr=Decimal("4000"),
            renewal_date=TODAY + dt.timedelta(days=75),
            customer_since=dt.date(2021, 5, 1),
        ),
        "charlie": AccountFactory(
            organization=org,
            name="Charlie Retail",
            external_id="CRM-77",
            tier=Tier.SILVER,
            touch_model=TouchModel.LOW,
            persona=smb,
            owner=csm,
            lifecycle_stage=LifecycleStage.ONBOARDING,
            mrr=Decimal("500"),
            renewal_date=TODAY + dt.timedelta(days=150),
            customer_since=dt.date(2024, 11, 1),
        ),
        "delta": AccountFactory(
            organization=org,
            name="Delta Logistics",
            external_id="",
            tier=Tier.BRONZE,
            touch_model=TouchModel.TECH,
            persona=None,
            owner=None,
            lifecycle_stage=LifecycleStage.ADOPTION,
            mrr=Decimal("120"),
            renewal_date=None,
            customer_since=dt.date(2023, 1, 1),
        ),
        "echo": AccountFactory(
            organization=org,
            name="Echo Churned",
            external_id="EXT-ECHO",
            tier=Tier.GOLD,
            touch_model=TouchModel.MID,
            persona=smb,
            owner=csm,
            lifecycle_stage=LifecycleStage.CHURNED,
            churned_at=dt.date(2025, 1, 10),
            mrr=Decimal("0"),
            renewal_date=TODAY + dt.timedelta(days=10),
            customer_since=dt.date(2020, 1, 1),
        ),
        "foxtrot": AccountFactory(
            organization=org,
            name="foxtrot labs",
            external_id="EXT-FOX",
            tier=Tier.PLATINUM,
            touch_model=TouchModel.HIGH,
            persona=enterprise,
            owner=manager,
            lifecycle_stage=LifecycleStage.ONGOING,
            mrr=Decimal("9000"),
            renewal_date=TODAY + dt.timedelta(days=200),
            customer_since=dt.date(2018, 7, 1),
        ),
    }
    AccountFactory(organization=other_org, name="Alpha Elsewhere", external_id="EXT-ALPHA")
    return accounts


def names(filters: PortfolioFilters) -> list[str]:
    return [a.name for a in portfolio_list(filters=filters)]


def test_default_hides_churned_and_sorts_by_name(in_org, portfolio):
    assert names(PortfolioFilters()) == [
        "Alpha Health",
        "Bravo Foods",
        "Charlie Retail",
        "Delta Logistics",
        "foxtrot labs",
    ]


def test_include_churned(in_org, portfolio):
    assert "Echo Churned" in names(PortfolioFilters(include_churned=True))
    assert len(names(PortfolioFilters(include_churned=True))) == 6


def test_choosing_the_churned_stage_shows_churned(in_org, portfolio):
    assert names(PortfolioFilters(lifecycle_stage=LifecycleStage.CHURNED)) == ["Echo Churned"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("alpha", ["Alpha Health"]),
        ("FOOD", ["Bravo Foods"]),
        ("crm-7", ["Charlie Retail"]),  # external id
        ("ext-", ["Alpha Health", "Bravo Foods", "foxtrot labs"]),
        ("zzz", []),
    ],
)
def test_search_by_name_or_external_id(in_org, portfolio, q, expected):
    assert names(PortfolioFilters(q=q)) == expected


def test_persona(in_org, portfolio):
    enterprise = portfolio["alpha"].persona
    assert names(PortfolioFilters(persona_id=enterprise.pk)) == [
        "Alpha Health",
        "Bravo Foods",
        "foxtrot labs",
    ]


def test_tier_and_touch_model(in_org, portfolio):
    assert names(PortfolioFilters(tier=Tier.GOLD)) == ["Bravo Foods"]
    assert names(PortfolioFilters(touch_model=TouchModel.HIGH)) == [
        "Alpha Health",
        "foxtrot labs",
    ]
    assert names(PortfolioFilters(tier=Tier.DIAMOND, touch_model=TouchModel.LOW)) == []


def test_owner_and_unassigned(in_org, portfolio, csm, manager):
    assert names(PortfolioFilters(owner_id=csm.pk)) == ["Alpha Health", "Charlie Retail"]
    assert names(PortfolioFilters(owner_id=manager.pk)) == ["Bravo Foods", "foxtrot labs"]
    assert names(PortfolioFilters(unassigned=True)) == ["Delta Logistics"]


def test_lifecycle_stage(in_org, portfolio):
    assert names(PortfolioFilters(lifecycle_stage=LifecycleStage.RENEWAL)) == ["Bravo Foods"]


def test_renewal_window(in_org, portfolio):
    in_90_days = PortfolioFilters(renewal_from=TODAY, renewal_to=TODAY + dt.timedelta(days=90))
    assert names(in_90_days) == ["Alpha Health", "Bravo Foods"]
    after_100 = PortfolioFilters(renewal_from=TODAY + dt.timedelta(days=100))
    assert names(after_100) == ["Charlie Retail", "foxtrot labs"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Alpha", "Bravo", "Charlie", "Delta", "foxtrot"]),
        ("-name", ["foxtrot", "Delta", "Charlie", "Bravo", "Alpha"]),
        # Ties (Alpha and foxtrot both 9000) are broken by id, so pages stay stable.
        ("-mrr", ["Alpha", "foxtrot", "Bravo", "Charlie", "Delta"]),
        ("mrr", ["Delta", "Charlie", "Bravo", "Alpha", "foxtrot"]),
        ("renewal_date", ["Alpha", "Bravo", "Charlie", "foxtrot", "Delta"]),
        ("-renewal_date", ["foxtrot", "Charlie", "Bravo", "Alpha", "Delta"]),
        ("customer_since", ["foxtrot", "Alpha", "Bravo", "Delta", "Charlie"]),
        ("-customer_since", ["Charlie", "Delta", "Bravo", "Alpha", "foxtrot"]),
        ("not-a-sort", ["Alpha", "Bravo", "Charlie", "Delta", "foxtrot"]),
    ],
)
def test_sorts(in_org, portfolio, sort, expected):
    assert [n.split()[0] for n in names(PortfolioFilters(sort=sort))] == expected


def test_portfolio_list_reads_only_the_columns_it_shows(in_org, portfolio):
    account = portfolio_list(filters=PortfolioFilters()).first()
    deferred = account.get_deferred_fields()
    assert {"notes", "industry", "region", "acquisition_channel"} <= deferred
    assert "mrr" not in deferred


def test_account_detail_record(org, other_org, in_org, csm):
    account = AccountFactory(organization=org, owner=csm)
    ContactFactory.create_batch(3, account=account)
    SubscriptionFactory.create_batch(2, account=account)
    TicketFactory.create_batch(25, account=account)
    InvoiceFactory.create_batch(14, account=account)
    InteractionFactory.create_batch(22, account=account, author=csm)
    SurveyResponseFactory.create_batch(3, account=account)
    foreign = AccountFactory(organization=other_org)

    record = selectors.account_detail(pk=account.pk)
    assert len(record.contact_list) == 3
    assert len(record.subscription_list) == 2
    assert len(record.recent_tickets) == selectors.ACCOUNT_TICKETS_SHOWN
    assert len(record.recent_invoices) == selectors.ACCOUNT_INVOICES_SHOWN
    assert len(record.recent_interactions) == selectors.ACCOUNT_INTERACTIONS_SHOWN
    opened = [t.opened_at for t in record.recent_tickets]
    assert opened == sorted(opened, reverse=True)
    with pytest.raises(Account.DoesNotExist):
        selectors.account_detail(pk=foreign.pk)


def test_invoice_rows_flag_overdue_and_late_payments(org, in_org):
    account = AccountFactory(organization=org)
    due = TODAY - dt.timedelta(days=30)
    on_time = InvoiceFactory(account=account, due_on=due, paid_on=due)
    late = InvoiceFactory(account=account, due_on=due, paid_on=due + dt.timedelta(days=5))
    overdue = InvoiceFactory(account=account, due_on=due, paid_on=None)
    not_due = InvoiceFactory(account=account, due_on=TODAY + dt.timedelta(days=3))
    rows = {
        r.invoice.pk: r
        for r in selectors.invoice_rows(invoices=[on_time, late, overdue, not_due], today=TODAY)
    }
    assert (rows[on_time.pk].status, rows[on_time.pk].days_overdue) == ("paid", 0)
    assert (rows[late.pk].status, rows[late.pk].days_overdue) == ("paid late", 5)
    assert (rows[overdue.pk].status, rows[overdue.pk].days_overdue) == ("overdue", 30)
    assert (rows[not_due.pk].status, rows[not_due.pk].is_late) == ("open", False)


def test_latest_surveys_finds_each_kind_beyond_the_recent_list(org, in_org):
    account = AccountFactory(organization=org)
    now = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    old_csat = SurveyResponseFactory(
        account=account, kind="csat", score=4, answered_at=now - dt.timedelta(days=400)
    )
    for i in range(selectors.ACCOUNT_SURVEYS_SHOWN):
        SurveyResponseFactory(
            account=account, kind="nps", score=i, answered_at=now - dt.timedelta(days=i)
        )
    record = selectors.account_detail(pk=account.pk)
    latest = selectors.account_latest_surveys(account=record)
    assert latest.nps.score == 0
    assert latest.csat.pk == old_csat.pk


def test_account_usage_totals_active_days_and_daily_values(org, in_org):
    account = AccountFactory(organization=org)
    for days_ago, value in [(0, 5.0), (1, 0.0), (3, 2.0), (20, 10.0), (40, 99.0)]:
        UsageMetricFactory(
            account=account,
            metric="logins",
            date=TODAY - dt.timedelta(days=days_ago),
            value=value,
        )
    UsageMetricFactory(account=account, metric="active_users", date=TODAY, value=3)
    usage = selectors.account_usage(account=account, today=TODAY)
    assert [m.metric for m in usage.metrics] == ["active_users", "logins"]
    logins = usage.metrics[1]
    assert logins.total == 17.0  # day 40 is outside the 30-day window
    assert logins.active_days == 3
    assert logins.last_value_on == TODAY
    assert len(usage.days) == selectors.USAGE_DAILY_DAYS
    assert usage.days[-1] == TODAY
    assert logins.daily[-1] == 5.0
    assert logins.daily[-2] == 0.0
    assert logins.daily[-3] is None
    assert logins.label == "Logins"
    assert usage.metrics[0].label == "Active users"


def test_account_usage_empty(org, in_org):
    account = AccountFactory(organization=org)
    assert selectors.account_usage(account=account, today=TODAY).is_empty


def test_churned_account_header_fields(org, in_org):
    reason = ChurnReasonFactory(organization=org, name="Price")
    user = UserFactory()
    MembershipFactory(user=user, organization=org)
    account = AccountFactory(
        organization=org,
        owner=user,
        lifecycle_stage=LifecycleStage.CHURNED,
        churned_at=dt.date(2025, 2, 1),
        churn_reason=reason,
    )
    record = selectors.account_get(pk=account.pk)
    assert record.is_churned
    assert record.churn_reason.name == "Price"
