"""The health model editor's hand-computed world: three accounts and a default model with two
indicators, scored on DAY by the live model and by a draft that triples the sentiment weight.

    tenure (months, higher is better): 0 scores 0, 24 scores 100 (clamped above)
    CSM sentiment (1-5, higher is better): 1 scores 0, 5 scores 100 (2 -> 25, 4 -> 75)
    bands: red up to 50, yellow up to 75, green above

    account  tenure        sentiment  live (1:1)               draft (1:3)
    A        36 m -> 100   4 -> 75    (100+75)/2 = 87.5 -> 88 G   (100+225)/4 = 81.25 -> 81 G
    B        0 m  -> 0     5 -> 100   (0+100)/2  = 50   -> 50 R   (0+300)/4   = 75    -> 75 Y
    C        36 m -> 100   none       100 (weight re-shared) G   100 G

So one account changes colour (B: red -> yellow), the matrix is green->green 2, red->yellow 1,
and the means are (88+50+100)/3 = 79.3 before and (81+75+100)/3 = 85.3 after."""

from __future__ import annotations

import datetime as dt

from health.models import HealthModel, Indicator
from health.services import health_model_versions_record
from tests import factories as f

DAY = dt.date(2024, 6, 1)


def world(org, day: dt.date = DAY) -> dict:
    """The accounts as of `day` (pages score as of today: pass it)."""
    long_ago = day - dt.timedelta(days=1096)  # 36 months of 30.4375 days
    expires = day + dt.timedelta(days=60)
    a = f.AccountFactory(
        organization=org,
        name="Acme A",
        customer_since=long_ago,
        csm_sentiment=4,
        csm_sentiment_expires_on=expires,
    )
    b = f.AccountFactory(
        organization=org,
        name="Acme B",
        customer_since=day,
        csm_sentiment=5,
        csm_sentiment_expires_on=expires,
    )
    c = f.AccountFactory(organization=org, name="Acme C", customer_since=long_ago)
    model = HealthModel.all_objects.create(organization=org, name="Default health")
    tenure = Indicator.all_objects.create(
        organization=org,
        model=model,
        measure="tenure",
        direction="higher",
        bad_value=0,
        good_value=24,
        weight=1,
    )
    sentiment = Indicator.all_objects.create(
        organization=org,
        model=model,
        measure="csm_sentiment",
        direction="higher",
        bad_value=1,
        good_value=5,
        weight=1,
    )
    health_model_versions_record(model_ids=[model.pk])
    return {"a": a, "b": b, "c": c, "model": model, "tenure": tenure, "sentiment": sentiment}


def rows_with(model, **weights) -> list[dict]:
    """The model's indicators as draft rows, with new weights by measure."""
    from health.versions import indicator_row

    rows = [indicator_row(i) for i in model.indicators.all()]
    for row in rows:
        row["weight"] = float(weights.get(row["measure"], row["weight"]))
    return rows
