"""A small portfolio whose report figures are worked out by hand (see each test's docstring):
six accounts with their MRR ledger, three triggers (one edited mid-period, one that never
fires), firings, alerts, playbooks with outcomes, churns, and survey answers, in Q2 2024.

Ledger (start of Q2 = 2024-04-01):
  A  Core 1000 since 2023-01-10; +500 Analytics on 05-10 (expansion)      start 1000, end 1500
  B  Core 2000 since 2023-02-01; −500 on 04-20 (contraction)              start 2000, end 1500
  C  Core 1000 since 2023-03-01; −1000 on 06-10 (churn)                   start 1000, end 0
  D  Core 800 since 2023-01-01; churned 2024-01-15; +800 on 05-01 (came back) start 0, end 800
  E  Core 600 new on 04-15                                                 start 0, end 600
  F  Core 400 since 2023-06-01; +100 on 04-05 (expansion); −500 on 06-20 (churn)
                                                                           start 400, end 0
A and B are Enterprise (persona); A, B, C, E and F are the CSM's; D has no owner."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from accounts.models import MrrMovement, Persona, Subscription
from playbooks.models import Playbook, PlaybookTemplate
from tests import factories as f
from triggers.models import Alert, Firing, Trigger

D = dt.date
Q2_FIRST, Q2_LAST = D(2024, 4, 1), D(2024, 6, 30)
TODAY = D(2024, 7, 15)
ZONE = ZoneInfo("America/Sao_Paulo")


def at(day: dt.date, hour: int = 15) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=ZONE)


def build(org, csm) -> dict:
    enterprise = Persona.all_objects.create(
        organization=org, name="Enterprise", slug="enterprise", priority=1
    )
    core = f.ProductFactory(organization=org, name="Core", code="core")
    analytics = f.ProductFactory(organization=org, name="Analytics", code="analytics")
    price = f.ChurnReasonFactory(organization=org, name="Price")
    competitor = f.ChurnReasonFactory(organization=org, name="Competitor")

    def account(name, since, **kw):
        return f.AccountFactory(
            organization=org, name=name, customer_since=since, owner=kw.pop("owner", csm), **kw
        )

    a = account("Alfa", D(2023, 1, 10), persona=enterprise, tier="diamond")
    b = account("Bravo", D(2023, 2, 1), persona=enterprise, tier="diamond")
    c = account(
        "Charlie",
        D(2023, 3, 1),
        churned_at=D(2024, 6, 10),
        churn_reason=price,
        lifecycle_stage="churned",
    )
    d = account("Delta", D(2023, 1, 1), owner=None)
    e = account("Echo", D(2024, 4, 15))
    ff = account(
        "Foxtrot",
        D(2023, 6, 1),
        churned_at=D(2024, 6, 20),
        churn_reason=competitor,
        lifecycle_stage="churned",
    )

    def sub(acc, product, mrr, start, **kw):
        return Subscription.all_objects.create(
            organization=org,
            account=acc,
            product=product,
            mrr=Decimal(mrr),
            start_date=start,
            **kw,
        )

    subs = {
        "a": sub(a, core, 1000, D(2023, 1, 10)),
        "a2": sub(a, analytics, 500, D(2024, 5, 10)),
        "b": sub(b, core, 1500, D(2023, 2, 1)),
        "c": sub(c, core, 1000, D(2023, 3, 1), status="cancelled", end_date=D(2024, 6, 10)),
        "d": sub(d, core, 800, D(2024, 5, 1)),
        "e": sub(e, core, 600, D(2024, 4, 15)),
        "f": sub(ff, core, 500, D(2023, 6, 1), status="cancelled", end_date=D(2024, 6, 20)),
    }

    def move(acc, key, day, kind, delta):
        MrrMovement.all_objects.create(
            organization=org,
            account=acc,
            subscription=subs[key],
            date=day,
            kind=kind,
            delta_mrr=Decimal(delta),
        )

    move(a, "a", D(2023, 1, 10), "new", 1000)
    move(a, "a2", D(2024, 5, 10), "expansion", 500)
    move(b, "b", D(2023, 2, 1), "new", 2000)
    move(b, "b", D(2024, 4, 20), "contraction", -500)
    move(c, "c", D(2023, 3, 1), "new", 1000)
    move(c, "c", D(2024, 6, 10), "churn", -1000)
    move(d, "d", D(2023, 1, 1), "new", 800)
    move(d, "d", D(2024, 1, 15), "churn", -800)
    move(d, "d", D(2024, 5, 1), "reactivation", 800)
    move(e, "e", D(2024, 4, 15), "new", 600)
    move(ff, "f", D(2023, 6, 1), "new", 400)
    move(ff, "f", D(2024, 4, 5), "expansion", 100)
    move(ff, "f", D(2024, 6, 20), "churn", -500)

    offer = PlaybookTemplate.all_objects.create(
        organization=org, name="Offer Analytics", kind="expansion"
    )
    save = PlaybookTemplate.all_objects.create(organization=org, name="Save", kind="retention")
    welcome = PlaybookTemplate.all_objects.create(
        organization=org, name="Welcome", kind="onboarding"
    )
    cond = {"field": "health_colour", "op": "=", "value": "green"}
    t1 = Trigger.all_objects.create(
        organization=org,
        name="Offer Analytics",
        kind="expansion",
        product=analytics,
        template=offer,
        condition=cond,
        version=2,
    )
    t2 = Trigger.all_objects.create(
        organization=org,
        name="Risk",
        kind="retention",
        template=save,
        condition=cond,
        action="alert",
    )
    t3 = Trigger.all_objects.create(
        organization=org, name="Welcome", kind="onboarding", template=welcome, condition=cond
    )

    def firing(trigger, acc, day, version=1):
        return Firing.all_objects.create(
            organization=org,
            trigger=trigger,
            account=acc,
            period=day,
            fired_on=day,
            trigger_version=version,
        )

    def playbook(acc, template, opened, *, due, closed=None, outcome="", **kw):
        return Playbook.all_objects.create(
            organization=org,
            account=acc,
            template=template,
            kind=template.kind,
            title=template.name,
            owner=csm,
            opened_on=opened,
            due_on=due,
            status="completed" if closed else "open",
            closed_at=at(closed) if closed else None,
            outcome=outcome,
            origin="trigger",
            **kw,
        )

    # T1, expansion, v1 then v2
    f1 = firing(t1, a, D(2024, 4, 10))
    p1 = playbook(
        a,
        offer,
        D(2024, 4, 10),
        due=D(2024, 4, 30),
        closed=D(2024, 4, 25),
        outcome="won",
        mrr_won=Decimal(500),
        expected_mrr=Decimal(450),
        opportunity_product=analytics,
        origin_ref=f1.pk,
    )
    f2 = firing(t1, b, D(2024, 4, 12))
    p2 = playbook(
        b,
        offer,
        D(2024, 4, 12),
        due=D(2024, 5, 2),
        closed=D(2024, 5, 20),
        outcome="lost",
        expected_mrr=Decimal(300),
        opportunity_product=analytics,
        origin_ref=f2.pk,
    )
    f3 = firing(t1, e, D(2024, 5, 15), version=2)
    p3 = playbook(e, offer, D(2024, 5, 15), due=D(2024, 6, 5), origin_ref=f3.pk)
    for fi, pb in ((f1, p1), (f2, p2), (f3, p3)):
        Firing.all_objects.filter(pk=fi.pk).update(playbook=pb)

    # T2, retention alerts: Charlie confirmed (churned), Bravo dismissed, Foxtrot confirmed
    # (retained, then churned anyway)
    f4 = firing(t2, c, D(2024, 4, 1))
    p4 = playbook(
        c,
        save,
        D(2024, 4, 3),
        due=D(2024, 4, 20),
        closed=D(2024, 6, 10),
        outcome="churned",
        churn_reason=price,
        origin_ref=f4.pk,
    )
    f5 = firing(t2, b, D(2024, 5, 1))
    f6 = firing(t2, ff, D(2024, 5, 5))
    p5 = playbook(
        ff,
        save,
        D(2024, 5, 7),
        due=D(2024, 6, 1),
        closed=D(2024, 5, 30),
        outcome="retained",
        origin_ref=f6.pk,
    )
    Alert.all_objects.create(
        organization=org,
        firing=f4,
        account=c,
        owner=csm,
        status="confirmed",
        playbook=p4,
        decided_at=at(D(2024, 4, 3)),
    )
    Alert.all_objects.create(
        organization=org,
        firing=f5,
        account=b,
        owner=csm,
        status="dismissed",
        dismiss_reason="Seasonal dip",
        decided_at=at(D(2024, 5, 2)),
    )
    Alert.all_objects.create(
        organization=org,
        firing=f6,
        account=ff,
        owner=csm,
        status="confirmed",
        playbook=p5,
        decided_at=at(D(2024, 5, 7)),
    )
    Firing.all_objects.filter(pk=f4.pk).update(playbook=p4)
    Firing.all_objects.filter(pk=f6.pk).update(playbook=p5)

    for acc, kind, score, day in (
        (a, "nps", 10, D(2024, 4, 20)),
        (b, "nps", 9, D(2024, 5, 3)),
        (c, "nps", 3, D(2024, 5, 4)),
        (e, "nps", 7, D(2024, 6, 1)),
        (a, "csat", 5, D(2024, 4, 21)),
        (b, "csat", 3, D(2024, 6, 2)),
        (d, "nps", 0, D(2024, 3, 30)),  # before the period
    ):
        f.SurveyResponseFactory(account=acc, kind=kind, score=score, answered_at=at(day))
    return {
        "accounts": {"a": a, "b": b, "c": c, "d": d, "e": e, "f": ff},
        "products": {"core": core, "analytics": analytics},
        "persona": enterprise,
        "triggers": {"offer": t1, "risk": t2, "welcome": t3},
        "playbooks": {"p1": p1, "p2": p2, "p3": p3, "p4": p4, "p5": p5},
        "templates": {"offer": offer, "save": save, "welcome": welcome},
    }
