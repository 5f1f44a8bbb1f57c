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
    phrase_texts,
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
    assert texts[101] == "The health score is 43; Transacted volume fell 38% over 90 days"
    assert texts[102] == "The oldest unpaid invoice is 41 days overdue"
    assert texts[104] == "Transacted volume fell 30% over 90 days"
    assert "invoice" not in texts[101]


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
    texts = evidence_texts(node, EXPANSION_FRAME.assign(health_score=[82.0, 0, 0, 0, 91.0]), mask)
    assert texts[201].split("; ") == [
        "The tier is diamond",
        "Health is green (82)",
        "Usage rose 25% over 30 days",
        "Products held: core",
        "Renews on 2025-03-01",
    ]
    assert "Usage rose 120% over 30 days" in texts[205]
    assert "Products held: none" in texts[205]
    # a frame without the score the colour's phrase names still reads as a sentence
    assert evidence_texts(node, EXPANSION_FRAME, mask)[201].split("; ")[1] == (
        "Health colour is green"
    )


def test_is_empty_reads_as_no_data():
    node = compile_condition({"field": SCORE, "op": "is_empty", "value": True})
    mask, evidence = evaluate(node, FRAME)
    assert mask.tolist() == [False, False, False, True, False]
    assert evidence_records(evidence) == [{SCORE: None}]
    assert evidence_texts(node, FRAME, mask)[104] == "No health score"


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


# -- evidence reads as sentences, for every field of the catalogue --------------------------

RAW_SYNTAX = (" = ", "==", ">=", "<=", " < ", " > ", "!=", "(count)", "value (", "0-100", "in (")
RAW_SYNTAX += ("between", "is_empty", "%(", "nan", "None", "rose -", "fell -", "  ")


def _sample(fld):
    """Three accounts per field: a value, another (negative for numbers), and a missing one,
    with a condition that holds for each of them."""
    if fld.type.value == "number":
        other = -42.0 if fld.phrase and fld.phrase.down else 1.0  # counts are never negative
        values, test = [171.0, other, math.nan], {"op": "<", "value": 10**6}
    elif fld.type.value == "choice":
        values, test = [fld.choices[0], fld.choices[0], ""], {"op": "=", "value": fld.choices[0]}
    elif fld.type.value == "date":
        values = [dt.date(2025, 3, 1), dt.date(2024, 1, 2), None]
        test = {"op": ">=", "value": "2000-01-01"}
    elif fld.type.value == "set":
        values, test = ["|core|analytics|", "|core|", ""], {"op": "contains", "value": "core"}
    elif fld.type.value == "bool":
        values, test = [True, True, None], {"op": "=", "value": True}
    else:
        values, test = ["Retail", "Retail", ""], {"op": "=", "value": "Retail"}
    condition = {
        "any": [
            {"field": fld.name, **test},
            {"field": fld.name, "op": "is_empty", "value": True},
        ]
    }
    frame = pd.DataFrame(
        {fld.name: values, "health_score": [36.0, 80.0, math.nan]},
        index=pd.Index([1, 2, 3], name="account_id"),
    )
    return condition, frame


@pytest.mark.parametrize("name", sorted(TRIGGER_FIELDS))
def test_every_field_reads_as_a_sentence_without_operator_syntax(name):
    fld = TRIGGER_FIELDS[name]
    assert fld.phrase is not None, f"{name} has no phrase: give it one in its catalogue"
    condition, frame = _sample(fld)
    node = compile_condition(condition)
    mask, _ = evaluate(node, frame)
    texts = evidence_texts(node, frame, mask)
    assert list(texts.index) == [1, 2, 3]
    for account_id, text in texts.items():
        assert text, (name, account_id)
        assert text[0].isupper() or text[0].isdigit(), (name, text)
        for syntax in RAW_SYNTAX:
            assert syntax not in text, (name, syntax, text)
    missing = "none" if fld.type.value == "set" else "no data"  # a set can be empty, not missing
    assert missing in texts[3].lower() or texts[3].startswith("No "), (name, texts[3])


def test_numbers_read_with_their_units_and_direction():
    frame = pd.DataFrame(
        {
            "health_colour": ["red", "green"],
            "health_score": [36.0, 88.0],
            "overdue_invoice_max_days": [171.0, 1.0],
            "indicator.tickets_over_sla.raw": [3.0, 1.0],
            "indicator.usage_trend.raw": [-42.0, 15.0],
            "score_change_7d": [-12.0, 1.0],
        },
        index=[1, 2],
    )

    def read(name):
        return phrase_texts(TRIGGER_FIELDS[name], frame).tolist()

    assert read("health_colour") == ["Health is red (36)", "Health is green (88)"]
    assert read("overdue_invoice_max_days") == [
        "The oldest unpaid invoice is 171 days overdue",
        "The oldest unpaid invoice is 1 day overdue",
    ]
    assert read("indicator.tickets_over_sla.raw") == [
        "3 tickets over SLA in the last 90 days",
        "1 ticket over SLA in the last 90 days",
    ]
    assert read("indicator.usage_trend.raw") == [
        "Usage fell 42% over 30 days",
        "Usage rose 15% over 30 days",
    ]
    assert read("score_change_7d") == [
        "The health score fell 12 points in 7 days",
        "The health score rose 1 point in 7 days",
    ]


def test_a_negated_comparison_states_the_value_that_made_it_count():
    node = compile_condition({"not": {"field": "tier", "op": "in", "value": ["diamond"]}})
    mask, _ = evaluate(node, FRAME)
    texts = evidence_texts(node, FRAME, mask)
    assert texts[101] == "The tier is gold"
    assert texts[103] == "The tier is silver"
