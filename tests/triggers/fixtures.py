"""A hand-built portfolio for trigger tests: five accounts with today's health scores and
breakdowns written directly, products, an overdue invoice, and two triggers from the brief."""

import datetime as dt
from decimal import Decimal

from accounts.models import Persona
from accounts.services import account_rollups_refresh
from health.models import HealthScore
from playbooks.models import PlaybookTemplate, TemplateStep
from tests import factories as f
from triggers.models import Trigger

DAY = dt.date(2024, 6, 30)


def score(org, account, day, value, colour, volume=None):
    breakdown = {"usage_frequency:30:logins": [12.0, 60.0, 0.5]}
    if volume is not None:
        breakdown["volume_trend:90:transacted_volume"] = [volume, 50.0, 0.5]
    HealthScore.all_objects.create(
        organization=org,
        account=account,
        date=day,
        score=value,
        colour=colour,
        breakdown=breakdown,
    )


def template(
    org, name, kind, steps=(("Call the sponsor", 2, "owner"), ("Review with manager", 7, "manager"))
):
    t = PlaybookTemplate.all_objects.create(organization=org, name=name, kind=kind)
    for i, (title, offset, who) in enumerate(steps, 1):
        TemplateStep.all_objects.create(
            organization=org, template=t, order=i, title=title, due_offset_days=offset, assignee=who
        )
    return t


def build(org, csm, manager):
    enterprise = Persona.all_objects.create(
        organization=org,
        name="Enterprise",
        slug="enterprise",
        rules={"field": "tier", "op": "in", "value": ["diamond", "platinum"]},
        priority=1,
    )
    core = f.ProductFactory(organization=org, name="Core", code="core")
    analytics = f.ProductFactory(organization=org, name="Analytics", code="analytics")
    mk = lambda name, **kw: f.AccountFactory(  # noqa: E731
        organization=org, name=name, owner=csm, customer_since=dt.date(2022, 1, 1), **kw
    )
    a = mk("Alfa", tier="diamond", persona=enterprise)  # green, volume +35%, no analytics
    b = mk("Bravo", tier="diamond", persona=enterprise)  # green, volume +25%, holds analytics
    c = mk("Charlie", tier="silver")  # score 43: retention
    d = mk("Delta", tier="gold")  # volume -38%: retention
    e = mk("Echo", tier="gold")  # healthy, but an invoice 41 days overdue: retention
    for account in (a, b, c, d, e):
        f.SubscriptionFactory(account=account, product=core, mrr=Decimal("1000"))
    f.SubscriptionFactory(account=b, product=analytics, mrr=Decimal("500"))
    account_rollups_refresh(org=org)
    score(org, a, DAY, 82, "green", volume=35.0)
    score(org, b, DAY, 90, "green", volume=25.0)
    score(org, c, DAY, 43, "red", volume=5.0)
    score(org, d, DAY, 60, "yellow", volume=-38.0)
    score(org, e, DAY, 80, "green", volume=0.0)
    f.InvoiceFactory(
        account=e,
        issued_on=dt.date(2024, 4, 20),
        due_on=dt.date(2024, 5, 20),
        amount=Decimal("1200"),
    )
    offer = template(org, "Offer Analytics", "expansion")
    save = template(org, "Retention call", "retention")
    expansion = Trigger.all_objects.create(
        organization=org,
        name="Enterprise growth: offer Analytics",
        kind="expansion",
        persona=enterprise,
        product=analytics,
        template=offer,
        action="playbook",
        cooldown_days=30,
        condition={
            "all": [
                {"field": "health_colour", "op": "=", "value": "green"},
                {"field": "indicator.volume_trend.raw", "op": ">", "value": 20},
            ]
        },
    )
    retention = Trigger.all_objects.create(
        organization=org,
        name="Retention risk",
        kind="retention",
        template=save,
        action="alert",
        cooldown_days=30,
        condition={
            "any": [
                {"field": "health_score", "op": "<", "value": 51},
                {"field": "indicator.volume_trend.raw", "op": "<=", "value": -30},
                {"field": "overdue_invoice_max_days", "op": ">", "value": 30},
            ]
        },
    )
    return {
        "accounts": {"a": a, "b": b, "c": c, "d": d, "e": e},
        "products": {"core": core, "analytics": analytics},
        "triggers": {"expansion": expansion, "retention": retention},
        "templates": {"offer": offer, "save": save},
    }
