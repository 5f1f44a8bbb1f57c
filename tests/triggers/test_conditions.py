"""Trigger conditions on a hand-built nightly frame (no database): which accounts fire, the
evidence they carry (every field read, as the frame had it), and the words that explain it."""

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from conditions import ConditionError
from triggers.conditions import (
    compile_condition,
    evaluate,
    evidence_records,
    evidence_texts,
    needed_fields,
)
from triggers.fields import TRIGGER_FIELDS

SCORE, VOLUME, OVERDUE = "health_score", "indicator.volume_trend.raw", "overdue_invoice_max_days"

# "any account whose score fell below 51, or whose transacted volume dropped 30% in 6
# months, or with an invoice overdue over 30 days: raise a retention alert"
RETENTION = {
    "any": [
        {"field": SCORE, "op": "<", "value": 51},
        {"field": VOLUME, "op": "<=", "value": -30},
        {"field": OVERDUE, "op": ">", "value": 30},
    ]
}

# 101 fires on score and volume; 102 on the invoice only (no volume measured); 103 on
# nothing; 104 has no score and sits exactly on the volume bound (fires) and on the invoice
# bound (does not); 105 sits exactly on the score bound (does not fire).
FRAME = pd.DataFrame(
    {
        SCORE: [43.0, 80.0, 90.0, math.nan, 51.0],
        VOLUME: [-38.0, math.nan, 5.0, -30.0, -29.9],
        OVERDUE: [0.0, 41.0, 0.0, 30.0, 0.0],
        "tier": ["gold", "diamond", "silver", "gold", "bronze"],
        "health_colour": ["red", "green", "green", "none", "yellow"],
    },
    index=pd.Index([101, 102, 103, 104, 105], name="account_id"),
)


def label(name: str) -> str:
    return TRIGGER_FIELDS[name].label


def test_the_mask_fires_the_accounts_for_which_any_comparison_holds():
    mask, _ = evaluate(compile_condition(RETENTION), FRAME)
    assert list(mask.index) == [101, 102, 103, 104, 105]
    assert mask.tolist() == [True, True, False, True, False]


def test_evidence_is_every_field_read_with_the_frames_values():
    node = compile_condition(RETENTION)
    mask, evidence = evaluate(node, FRAME)
    assert needed_fields(node) == {SCORE, VOLUME, OVERDUE}
    assert list(evidence.columns) == [SCORE, VOLUME, OVERDUE]  # the tree's order
    assert list(evidence.index) == [101, 102, 104]
    pd.testing.assert_frame_equal(evidence, FRAME.loc[[101, 102, 104], [SCORE, VOLUME, OVERDUE]])


def test_evidence_records_turn_nan_into_none_and_are_json():
    _, evidence = evaluate(compile_condition(RETENTION), FRAME)
    records = evidence_records(evidence)
    assert records == [
        {SCORE: 43.0, VOLUME: -38.0, OVERDUE: 0.0},
        {SCORE: 80.0, VOLUME: None, OVERDUE: 41.0},
        {SCORE: None, VOLUME: -30.0, OVERDUE: 30.0},
    ]
    assert json.loads(json.dumps(records, allow_nan=False)) == records


def test_the_text_names_only_the_comparisons_that_held_for_each_account():
    node = compile_condition(RETENTION)
    mask, _ = evaluate(node, FRAME)
    texts = evidence_texts(node, FRAME, mask)
    assert list(texts.index) == [101, 102, 104]
    assert texts[101] == f"{label(SCORE)} 43 < 51; {label(VOLUME)} -38 <= -30"
    assert texts[102] == f"{label(OVERDUE)} 41 > 30"
    assert texts[104] == f"{label(VOLUME)} -30 <= -30"
    assert label(OVERDUE) not in texts[101]


def test_nothing_fires():
    node = compile_condition({"field": SCORE, "op": "<", "value": 0})
    mask, evidence = evaluate(node, FRAME)
    assert not mask.any()
    assert list(evidence.columns) == [SCORE]
    assert evidence.empty
    assert evidence_records(evidence) == []


def test_no_text_when_nothing_fires():
    node = compile_condition({"field": SCORE, "op": "<", "value": 0})
    mask = pd.Series(False, index=FRAME.index)
    texts = evidence_texts(node, FRAME, mask)
    assert texts.empty


# An expansion rule with every other kind of comparison: "Enterprise accounts that are
# green, whose usage grew over 20%, that do not hold Analytics, renewing this year".
EXPANSION = {
    "all": [
        {"field": "tier", "op": "in", "value": ["diamond", "platinum"]},
        {"field": "health_colour", "op": "=", "value": "green"},
        {"field": "indicator.usage_trend.raw", "op": ">", "value": 20},
        {"field": "products", "op": "not_contains", "value": "analytics"},
        {"field": "renewal_date", "op": "between", "value": ["2025-01-01", "2025-12-31"]},
    ]
}

EXPANSION_FRAME = pd.DataFrame(
    {
        "tier": ["diamond", "platinum", "gold", "platinum", "platinum"],
        "health_colour": ["green", "green", "green", "green", "green"],
        "indicator.usage_trend.raw": [25.0, 35.5, 50.0, 20.0, 120.0],
        "products": ["|core|", "|analytics|core|", "", "", ""],
        "renewal_date": [
            dt.date(2025, 3, 1),
            dt.date(2025, 6, 1),
            dt.date(2025, 3, 1),
            None,
            dt.date(2025, 12, 31),
        ],
        "mrr": [900.0, 1200.0, 50.0, 400.0, 3000.0],
    },
    index=pd.Index([201, 202, 203, 204, 205], name="account_id"),
)


def test_expansion_rule_fires_evidence_and_text():
    node = compile_condition(EXPANSION)
    mask, evidence = evaluate(node, EXPANSION_FRAME)
    assert mask.tolist() == [True, False, False, False, True]
    assert list(evidence.columns) == [
        "tier",
        "health_colour",
        "indicator.usage_trend.raw",
        "products",
        "renewal_date",
    ]
    assert evidence_records(evidence) == [
        {
            "tier": "diamond",
            "health_colour": "green",
            "indicator.usage_trend.raw": 25.0,
            "products": "|core|",
            "renewal_date": "2025-03-01",
        },
        {
            "tier": "platinum",
            "health_colour": "green",
            "indicator.usage_trend.raw": 120.0,
            "products": "",
            "renewal_date": "2025-12-31",
        },
    ]
    texts = evidence_texts(node, EXPANSION_FRAME, mask)
    first = texts[201].split("; ")
    assert len(first) == 5
    assert first[0] == "Tier diamond in (diamond, platinum)"
    assert first[1] == "Health colour green = green"
    assert first[2] == f"{label('indicator.usage_trend.raw')} 25 > 20"
    assert first[3].startswith("Products held ")
    assert first[3].endswith("does not hold analytics")
    assert first[4] == "Renewal date 2025-03-01 between 2025-01-01 and 2025-12-31"
    assert f"{label('indicator.usage_trend.raw')} 120 > 20" in texts[205]


def test_is_empty_reads_as_no_data():
    node = compile_condition({"field": SCORE, "op": "is_empty", "value": True})
    mask, evidence = evaluate(node, FRAME)
    assert mask.tolist() == [False, False, False, True, False]
    assert evidence_records(evidence) == [{SCORE: None}]
    assert evidence_texts(node, FRAME, mask)[104] == f"{label(SCORE)} no data is empty"


def test_evidence_records_are_json_whatever_the_column_dtypes():
    frame = pd.DataFrame(
        {
            "overdue_invoice_count": np.array([3, 0], dtype="int64"),
            "renewal_date": pd.to_datetime(["2025-03-01", None]),
            "health_colour": ["red", None],
        },
        index=[1, 2],
    )
    records = evidence_records(frame)
    assert records == [
        {
            "overdue_invoice_count": 3,
            "renewal_date": "2025-03-01T00:00:00",
            "health_colour": "red",
        },
        {"overdue_invoice_count": 0, "renewal_date": None, "health_colour": None},
    ]
    json.dumps(records, allow_nan=False)


def test_a_frame_without_the_column_is_an_error_not_a_silent_miss():
    node = compile_condition(RETENTION)
    with pytest.raises(ConditionError) as info:
        evaluate(node, FRAME.drop(columns=[OVERDUE]))
    assert info.value.path == OVERDUE


def test_fields_only_in_the_nightly_frame_have_no_sql_form():
    node = compile_condition({"field": VOLUME, "op": "<=", "value": -30})
    with pytest.raises(ConditionError) as info:
        node.to_q()
    assert info.value.path == VOLUME
    assert info.value.message == "this field is only available in the nightly evaluation"


def test_trigger_conditions_are_checked_against_the_trigger_catalogue():
    with pytest.raises(ConditionError) as info:
        compile_condition({"field": "indicator.volume_trend.rawx", "op": "<", "value": 1})
    assert info.value.path == "condition.field"
    with pytest.raises(ConditionError) as info:
        compile_condition({"field": "health_colour", "op": "=", "value": "purple"})
    assert info.value.message == (
        "'purple' is not a value of 'health_colour'; use one of: red, yellow, green, none"
    )
