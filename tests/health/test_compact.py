"""The compact score row (health/compact.py) gives back the breakdown the pipeline writes today,
through single-precision storage: two implementations that must agree, checked on a
hand-computed row and with hypothesis."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from health.compact import Layout, decode, encode, missing
from health.scoring import IndicatorSpec, ModelSpec, score_frame
from health.services.pipeline import _columns_as_rows, _layout, _round


def _breakdowns(raw: pd.DataFrame, scored: pd.DataFrame, spec: ModelSpec) -> list[dict]:
    """The JSON breakdown the pipeline wrote before the compact rows, {key: [raw, score,
    share]} per account: the reference the compact rows must give back."""
    keys = [ind.key for ind in spec.indicators]
    triples = [
        [
            [r, s, w]
            for r, s, w in zip(
                _round(raw[key].to_numpy(), 2),
                _round(scored[f"s:{key}"].to_numpy(), 1),
                _round(scored[f"w:{key}"].to_numpy(), 3),
                strict=True,
            )
        ]
        for key in keys
    ]
    return [dict(zip(keys, row, strict=True)) for row in zip(*triples, strict=True)]


def _missing(scored: pd.DataFrame, spec: ModelSpec) -> list[list[str]]:
    """The `missing` list the pipeline wrote before: the keys without a score."""
    flags = pd.DataFrame({ind.key: scored[f"s:{ind.key}"].isna() for ind in spec.indicators})
    keys = np.array(flags.columns)
    return [keys[row].tolist() for row in flags.to_numpy()]


def _float32(values):
    """What a real[] column gives back."""
    return [None if v is None else float(np.float32(v)) for v in values]


def test_a_hand_computed_row_round_trips_and_missing_weight_is_redistributed():
    """Weights 2, 1, 1; the third indicator has no data, so the shares are 2/3 and 1/3 of the
    two with a score: 0.667 and 0.333, and 0 for the missing one. Raw 41.33 does not survive
    single precision exactly (41.330002) and is rounded back to 41.33."""
    layout = Layout(keys=("a", "b:30", "c:90:logins"), weights=(2.0, 1.0, 1.0))
    breakdown = {
        "a": [41.33, 100.0, 0.667],
        "b:30": [3.0, 66.7, 0.333],
        "c:90:logins": [None, None, 0.0],
    }
    raws, scores = encode(breakdown, layout)
    assert raws == [41.33, 3.0, None] and scores == [100.0, 66.7, None]
    stored = _float32(raws), _float32(scores)
    assert stored[0][0] != 41.33
    assert decode(layout, *stored) == breakdown
    assert missing(layout, stored[1]) == ["c:90:logins"]
    assert Layout(keys=layout.keys, weights=(2.0, 1.0, 1.0)).digest == layout.digest
    assert Layout(keys=layout.keys, weights=(1.0, 1.0, 1.0)).digest != layout.digest


RAW = st.one_of(st.none(), st.floats(min_value=-80_000, max_value=80_000, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.floats(min_value=0.1, max_value=10), min_size=1, max_size=6),
    data=st.data(),
)
def test_decoding_gives_back_the_pipelines_breakdown_and_missing(weights, data):
    """For random models (1-6 indicators, random weights and bands) and random raw values (some
    missing), the arrays the night writes (pipeline._columns_as_rows) decode, after single
    precision, to the breakdown and missing list the pipeline wrote before as JSON."""
    specs = []
    for i, weight in enumerate(weights):
        bad = data.draw(st.floats(min_value=-100, max_value=100))
        good = bad + data.draw(st.sampled_from([-50.0, -1.5, 2.0, 30.0, 1000.0]))
        specs.append(
            IndicatorSpec(key=f"m{i}:{i + 1}", measure=f"m{i}", bad=bad, good=good, weight=weight)
        )
    spec = ModelSpec(id=1, version=1, red_max=50, yellow_max=75, indicators=tuple(specs))
    n = data.draw(st.integers(min_value=1, max_value=5))
    raw = pd.DataFrame(
        {
            ind.key: [
                np.nan if v is None else v for v in data.draw(st.lists(RAW, min_size=n, max_size=n))
            ]
            for ind in specs
        },
        index=range(1, n + 1),
        dtype="float64",
    )
    scored = score_frame(raw, spec)
    expected = _breakdowns(raw, scored, spec)
    expected_missing = _missing(scored, spec)
    layout = _layout(spec)  # what the night writes: its arrays, through single precision
    keys = [i.key for i in specs]
    raws = _columns_as_rows(raw, keys, 2)
    scores = _columns_as_rows(scored, [f"s:{k}" for k in keys], 1)
    for breakdown, lost, r, s in zip(expected, expected_missing, raws, scores, strict=True):
        assert encode(breakdown, layout) == (r, s)
        stored = _float32(r), _float32(s)
        assert decode(layout, *stored) == breakdown
        assert missing(layout, stored[1]) == lost


@pytest.mark.django_db
def test_the_data_migration_turns_a_compact_row_to_json_and_back_with_pythons_rounding(org):
    """0007's reverse rebuilds the JSON a row stood for, and its forward makes the row compact
    again, both in SQL. By hand: layout (a, b) weighted 1 and 15, both scored: shares 1/16 =
    0.0625 and 15/16 = 0.9375, which Python's round (the decoder's, and the pipeline's JSON
    before) takes to even on these exact ties: 0.062 and 0.938 (numeric's round gave 0.063);
    raws 1.25 and 7, scores 12.5 and 70."""
    import datetime as dt
    import importlib

    from django.db import connection

    from health.models import HealthModel, HealthScore
    from tests import factories as f
    from tests.builders import compact_score

    migration = importlib.import_module("health.migrations.0008_score_rows_to_compact")
    account = f.AccountFactory(organization=org)
    model = HealthModel.all_objects.create(organization=org, name="Default")
    compact_score(
        org,
        account,
        model,
        dt.date(2024, 6, 1),
        keys=("a", "b"),
        weights=(1.0, 15.0),
        raws=(1.25, 7.0),
        scores=(12.5, 70.0),
        score=66.0,
        colour="yellow",
    )
    expected = {"a": [1.25, 12.5, 0.062], "b": [7.0, 70.0, 0.938]}
    row = HealthScore.all_objects.select_related("layout").get()
    assert row.breakdown_dict == expected and row.missing_keys == []
    with connection.cursor() as cursor:
        cursor.execute(migration.REVERSE)
    row = HealthScore.all_objects.get()
    assert (row.layout_id, row.raws, row.scores) == (None, None, None)
    assert (row.breakdown, row.missing) == (expected, [])
    with connection.cursor() as cursor:
        cursor.execute(migration.FORWARD)
    row = HealthScore.all_objects.select_related("layout").get()
    assert row.breakdown == {} and row.layout_id is not None
    assert row.breakdown_dict == expected and row.missing_keys == []
