"""Portfolio tasks, end to end: sent through a real Redis broker to a real Celery worker process
that reads and writes the test database."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Account, SubscriptionStatus
from accounts.tasks import portfolio_refresh
from tests.factories import AccountFactory, OrganizationFactory, SubscriptionFactory


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_portfolio_refresh_runs_on_a_real_worker_and_touches_one_organization(celery_worker):
    acme = OrganizationFactory(slug="acme")
    globex = OrganizationFactory(slug="globex")

    # Stale rollups on purpose: the task must recompute them from the subscriptions.
    two_products = AccountFactory(organization=acme, mrr=Decimal("1"), renewal_date=None)
    SubscriptionFactory(
        account=two_products, mrr=Decimal("1200.00"), renewal_date=dt.date(2027, 3, 1)
    )
    SubscriptionFactory(
        account=two_products, mrr=Decimal("300.50"), renewal_date=dt.date(2026, 11, 15)
    )
    SubscriptionFactory(
        account=two_products,
        mrr=Decimal("999.00"),
        renewal_date=dt.date(2026, 1, 1),
        status=SubscriptionStatus.CANCELLED,
    )
    only_cancelled = AccountFactory(
        organization=acme, mrr=Decimal("500"), renewal_date=dt.date(2025, 1, 1)
    )
    SubscriptionFactory(
        account=only_cancelled, mrr=Decimal("500.00"), status=SubscriptionStatus.CANCELLED
    )

    untouched = AccountFactory(
        organization=globex, mrr=Decimal("7"), renewal_date=dt.date(2030, 1, 1)
    )
    SubscriptionFactory(account=untouched, mrr=Decimal("4000.00"), renewal_date=dt.date(2026, 6, 1))

    result = portfolio_refresh.delay(acme.pk).get(timeout=60)

    assert result["org"] == "acme"
    assert result["accounts"] == 2
    two_products.refresh_from_db()
    assert two_products.mrr == Decimal("1500.50")
    assert two_products.renewal_date == dt.date(2026, 11, 15)
    only_cancelled.refresh_from_db()
    assert only_cancelled.mrr == Decimal("0")
    assert only_cancelled.renewal_date is None
    untouched.refresh_from_db()
    assert (untouched.mrr, untouched.renewal_date) == (Decimal("7.00"), dt.date(2030, 1, 1))
    assert Account.all_objects.filter(organization=globex).count() == 1
