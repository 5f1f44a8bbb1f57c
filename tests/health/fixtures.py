"""A small, readable fixture whose every measure was computed by hand (see test_measures.py)."""

import datetime as dt
from decimal import Decimal

from tests import factories as f

DAY = dt.date(2024, 6, 30)


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def build(org):
    """Accounts x (established), y (young, signed 2024-06-01) and z (churned 2024-06-15)."""
    x = f.AccountFactory(
        organization=org,
        name="X",
        customer_since=dt.date(2023, 1, 1),
        csm_sentiment=4,
        csm_sentiment_expires_on=dt.date(2024, 7, 31),
    )
    y = f.AccountFactory(
        organization=org,
        name="Y",
        customer_since=dt.date(2024, 6, 1),
        csm_sentiment=2,
        csm_sentiment_expires_on=dt.date(2024, 6, 1),
    )
    z = f.AccountFactory(
        organization=org,
        name="Z",
        customer_since=dt.date(2022, 1, 1),
        churned_at=dt.date(2024, 6, 15),
        lifecycle_stage="churned",
    )
    usage = []
    # logins: 10 active days of 5 in June, one day of 0 (not active), and a baseline of
    # 90 days of 2 in March-May (180 over the 180-day baseline: 1.0 a day).
    for d in range(1, 11):
        usage.append((x, "logins", dt.date(2024, 6, d), 5.0))
    usage.append((x, "logins", dt.date(2024, 6, 11), 0.0))
    start = dt.date(2024, 3, 1)
    for i in range(90):
        usage.append((x, "logins", start + dt.timedelta(days=i), 2.0))
    # transacted volume: 1500 in the last 90 days, 3000 in the 90 before
    usage += [
        (x, "transacted_volume", dt.date(2024, 6, 15), 1000.0),
        (x, "transacted_volume", dt.date(2024, 5, 1), 500.0),
        (x, "transacted_volume", dt.date(2024, 2, 1), 3000.0),
        (x, "product:core", dt.date(2024, 6, 15), 3.0),
        (x, "product:analytics", dt.date(2024, 4, 1), 1.0),
        (z, "logins", dt.date(2024, 6, 1), 9.0),
    ]
    from accounts.models import UsageMetric

    UsageMetric.all_objects.bulk_create(
        [
            UsageMetric(organization=org, account=a, metric=m, date=d, value=v)
            for a, m, d, v in usage
        ]
    )
    core = f.ProductFactory(organization=org, name="Core", code="core")
    analytics = f.ProductFactory(organization=org, name="Analytics", code="analytics")
    addon = f.ProductFactory(organization=org, name="Addon", code="addon")
    f.SubscriptionFactory(
        account=x,
        product=core,
        mrr=Decimal("1000"),
        discount_pct=Decimal("10"),
        renewals_count=2,
        start_date=dt.date(2023, 1, 1),
    )
    f.SubscriptionFactory(
        account=x,
        product=analytics,
        mrr=Decimal("3000"),
        discount_pct=Decimal("30"),
        renewals_count=0,
        start_date=dt.date(2023, 6, 1),
    )
    f.SubscriptionFactory(
        account=x,
        product=addon,
        mrr=Decimal("500"),
        discount_pct=Decimal("50"),
        status="cancelled",
        start_date=dt.date(2023, 1, 1),
        end_date=dt.date(2024, 5, 1),
    )
    for when, score in [
        ("2024-01-10", 9),
        ("2024-05-01", 4),
        ("2023-05-01", 10),
        ("2024-07-01", 10),
    ]:
        f.SurveyResponseFactory(account=x, kind="nps", score=score, answered_at=at(when))
    for when, score in [("2024-06-01", 4), ("2024-05-15", 2), ("2024-03-01", 1)]:
        f.SurveyResponseFactory(account=x, kind="csat", score=score, answered_at=at(when))
    tickets = [
        ("2024-06-01", "2024-06-02", "2024-06-05"),  # closed after its SLA: over
        ("2024-06-10", "2024-06-11", "2024-06-10T13"),  # closed in time
        ("2024-06-20", "2024-06-21", None),  # open past its SLA: over
        ("2024-06-29", "2024-07-02", None),  # SLA not yet due on the day
        ("2024-03-01", "2024-03-02", "2024-03-10"),  # over, but outside the 90 days
    ]
    for opened, due, closed in tickets:
        f.TicketFactory(
            account=x,
            opened_at=at(opened),
            sla_due_at=at(due),
            closed_at=(
                None
                if closed is None
                else dt.datetime.fromisoformat(
                    closed + (":00:00+00:00" if "T" in closed else "T18:00:00+00:00")
                )
            ),
        )
    invoices = [
        # issued, due, paid, amount, discount
        ("2024-05-01", "2024-06-01", None, "1000", "100"),  # overdue: 900
        ("2024-04-01", "2024-05-01", "2024-05-20", "800", "0"),  # paid before the day
        ("2024-05-20", "2024-06-20", "2024-07-05", "500", "0"),  # paid after the day: overdue
        ("2024-06-10", "2024-07-10", None, "700", "0"),  # not yet due
    ]
    for issued, due, paid, amount, discount in invoices:
        f.InvoiceFactory(
            account=x,
            issued_on=dt.date.fromisoformat(issued),
            due_on=dt.date.fromisoformat(due),
            paid_on=dt.date.fromisoformat(paid) if paid else None,
            amount=Decimal(amount),
            discount_amount=Decimal(discount),
        )
    f.InteractionFactory(account=x, occurred_at=at("2024-06-20", 10))
    f.InteractionFactory(account=x, occurred_at=at("2024-07-02", 10))
    return x, y, z
