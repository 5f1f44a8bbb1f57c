"""The limits of the condition language (no database): depth, size, list and text lengths,
magnitude of numbers and dates. Every tree beyond a limit is a ConditionError that names its
place, never a RecursionError or OverflowError, and every tree within the limits evaluates."""

import json
import math

import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from conditions import language, parse
from conditions.forms import MAX_JSON_CHARS, ConditionJSONField, condition_loads, json_nesting
from tests.builders import CATALOGUE, FRAME, cmp, mask, refused

L = language


def nested_not(levels, leaf=None):
    tree = leaf or cmp("score", "<", 1)
    for _ in range(levels):
        tree = {"not": tree}
    return tree


def nested_all(levels):
    tree = cmp("score", "<", 1)
    for _ in range(levels):
        tree = {"all": [tree]}
    return tree


# -- depth -----------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [1000, 100_000])
@pytest.mark.parametrize("build", [nested_not, nested_all])
def test_a_tree_nested_a_thousand_or_100000_levels_is_a_condition_error(build, levels):
    err = refused(build(levels))
    assert err.message == f"nested deeper than {L.MAX_DEPTH} levels"
    assert err.path.count(".") == L.MAX_DEPTH + 1  # where the limit was crossed


# -- size ------------------------------------------------------------------------------


def test_a_tree_of_exactly_max_nodes_parts_is_fine():
    tree = {"any": [cmp("score", ">", i) for i in range(L.MAX_NODES - 1)]}  # + the group
    assert mask(tree) == [True, True, False, True, False]


def test_one_more_part_is_refused_where_the_budget_ran_out():
    tree = {"all": [{"any": [cmp("score", ">", i) for i in range(150)]}, {"any": []}]}
    tree["all"][1]["any"] = [cmp("score", "<", i) for i in range(60)]
    err = refused(tree)
    # 1 + 1 + 150 + 1 = 153 parts before the second group's children; the 48th of them is 201
    assert err.path == "condition.all[1].any[47]"
    assert f"more than {L.MAX_NODES} parts" in err.message


@pytest.mark.parametrize("count", [L.MAX_NODES + 1, 20_000, 100_000])
def test_tens_of_thousands_of_comparisons_are_refused_at_once(count):
    err = refused({"any": [cmp("score", ">", i) for i in range(count)]})
    assert err.path == "condition.any"
    assert err.message == f"a group holds at most {L.MAX_NODES} conditions; got {count}"


def test_many_small_groups_count_against_the_same_budget():
    tree = {"any": [{"all": [cmp("score", ">", 1), cmp("score", "<", 9)]} for _ in range(100)]}
    err = refused(tree)
    assert "more than 200 parts" in err.message
    assert err.path.startswith("condition.any[66]")  # 1 + 66 * 3 = 199, then the 67th group


def test_in_lists_and_values_in_all():
    ok = cmp("score", "in", list(range(L.MAX_IN_VALUES)))
    assert mask(ok) == [True, True, False, False, True]  # 10, 50 and 0
    err = refused(cmp("score", "in", list(range(L.MAX_IN_VALUES + 1))))
    assert (err.path, err.message) == (
        "condition.value",
        f"'in' takes at most {L.MAX_IN_VALUES} values; got {L.MAX_IN_VALUES + 1}",
    )
    per = L.MAX_IN_VALUES
    four = {"any": [cmp("score", "in", list(range(per))) for _ in range(L.MAX_VALUES // per)]}
    parse(four, CATALOGUE)
    five = {"any": four["any"] + [cmp("score", "=", 1)]}
    err = refused(five)
    assert err.path == f"condition.any[{L.MAX_VALUES // per}].value"
    assert f"more than {L.MAX_VALUES} values in all" in err.message


@pytest.mark.parametrize("field", ["industry", "tier", "products"])
def test_text_values_have_a_length_limit(field):
    err = refused(cmp(field, "in" if field != "products" else "contains", ["x" * 201]))
    if field == "products":  # a SET takes one code, not a list
        err = refused(cmp(field, "contains", "x" * 201))
    assert "at most 200 characters; got 201" in err.message
    assert len(str(err)) < 200


def test_a_text_of_exactly_the_limit_is_a_text():
    assert mask(cmp("industry", "=", "R" * L.MAX_TEXT)) == [False] * 5


# -- magnitude -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [10**400, -(10**400), 10**13, -1e13, 1e12 + 1, 2**63, 10**4000],
    ids=["10**400", "-10**400", "10**13", "-1e13", "1e12+1", "2**63", "10**4000"],
)
def test_numbers_beyond_a_trillion_are_refused_with_a_short_message(value):
    err = refused(cmp("score", "<", value))
    assert err.path == "condition.value"
    assert err.message.startswith("numbers must be between -1,000,000,000,000 and ")
    assert len(err.message) < 150


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, json.loads("1e309")])
def test_non_finite_numbers_are_refused(value):
    err = refused(cmp("score", "between", [0, value]))
    assert (err.path, err.message) == ("condition.value[1]", "numbers must be finite")


def test_a_huge_number_inside_an_in_list_is_located():
    err = refused({"all": [cmp("score", "in", [1, 2, 3, 10**400])]})
    assert err.path == "condition.all[0].value[3]"


@pytest.mark.parametrize("value", [1e12, -1e12, 10**12, -(10**12), 1e-300])
def test_numbers_at_the_limit_evaluate_in_pandas(value):
    for op in ("<", "<=", ">", ">=", "=", "!=", "between", "in"):
        v = [-abs(value), abs(value)] if op == "between" else [value] if op == "in" else value
        out = parse(cmp("score", op, v), CATALOGUE).to_mask(FRAME)
        assert out.dtype == bool


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "2201-01-01", "9999-12-31"], ids=str)
def test_dates_outside_1900_to_2200_are_refused(value):
    err = refused(cmp("since", ">", value))
    assert (err.path, err.message) == (
        "condition.value",
        f"dates must be between 1900-01-01 and 2200-12-31; got {value}",
    )


def test_every_accepted_extreme_compiles_to_sql_and_pandas():
    tree = {
        "all": [
            cmp("score", "between", [-1e12, 10**12]),
            cmp("since", "between", ["1900-01-01", "2200-12-31"]),
            cmp("industry", "in", ["x" * L.MAX_TEXT]),
        ]
    }
    node = parse(tree, CATALOGUE)
    assert str(node.to_q())
    frame = FRAME.assign(since=pd.to_datetime(FRAME["since"]))
    assert list(node.to_mask(frame)) == [False] * 5


# -- messages stay short, whatever was sent ----------------------------------------------


@pytest.mark.parametrize(
    "tree",
    [
        {"field": "x" * 1_000_000, "op": "=", "value": 1},
        {"field": "score", "op": "<" * 1_000_000, "value": 1},
        {"field": "score", "op": ["<"], "value": 1},
        {"field": "score", "op": "<", "value": "9" * 1_000_000},
        {"field": "score", "op": "<", "value": nested_all(100_000)},
        {"field": "tier", "op": "=", "value": "gold" * 40},
        {"field": "since", "op": "<", "value": "2024" * 100},
        {"field": "score", "op": "<", "value": 1, 7: 1, "k" * 10_000: 2},
    ],
    ids=["field", "op", "op-list", "value", "deep-value", "choice", "date", "keys"],
)
def test_refusals_quote_values_shortly(tree):
    err = refused(tree)
    assert len(str(err)) < 800


# -- the JSON text a form receives ---------------------------------------------------------


def json_not(levels):
    return '{"not":' * levels + '{"field":"score","op":"<","value":1}' + "}" * levels


def json_all(levels):
    return '{"all":[' * levels + '{"field":"score","op":"<","value":1}' + "]}" * levels


@pytest.mark.parametrize(
    "levels, words",
    [(1000, f"nested deeper than {L.MAX_DEPTH} levels"), (100_000, "characters long")],
)
@pytest.mark.parametrize("text", [json_not, json_all])
def test_json_nested_a_thousand_levels_is_refused_before_decoding(text, levels, words):
    with pytest.raises(RecursionError):
        json.loads(text(levels))  # what Django's JSONField does, and why it gave a 500
    with pytest.raises(ValidationError) as info:
        condition_loads(text(levels))
    assert words in info.value.messages[0]
    assert json_nesting(text(levels)) >= levels  # the scan itself never recurses


def test_json_nesting_ignores_brackets_in_strings():
    assert json_nesting('{"all": [{"field": "industry", "op": "=", "value": "[[{{\\"]]"}]}') == 3
    assert json_nesting(json_all(12)) == 25


def test_a_valid_tree_at_the_depth_limit_decodes():
    text = json_all(L.MAX_DEPTH).replace('"value":1', '"value":[1, 2]').replace('"<"', '"in"')
    parse(condition_loads(text), CATALOGUE)


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"field": "score", "op": "<", "value": ' + "1" * 5000 + "}", "5000 digits"),
        ('{"field": "score", "op": "<", "value": -' + "9" * 4001 + "}", "4001 digits"),
        ('{"field": "score", "op": "<"', "not valid JSON"),
        ("[" * 100 + "]" * 100, "nested deeper"),
        (" " * (MAX_JSON_CHARS + 1), "characters long"),
    ],
    ids=["5000-digits", "4001-digits", "truncated", "brackets", "too-long"],
)
def test_json_the_decoder_cannot_take_is_a_validation_error(text, words):
    with pytest.raises(ValidationError) as info:
        condition_loads(text)
    assert words in info.value.messages[0]


def test_1e309_decodes_to_infinity_which_the_language_refuses():
    tree = condition_loads('{"field": "score", "op": ">", "value": 1e309}')
    assert refused(tree).message == "numbers must be finite"


def test_the_form_field_shows_the_text_back_as_typed_and_never_reencodes_it():
    field = ConditionJSONField()
    deep = json_all(100_000)
    with pytest.raises(ValidationError):
        field.clean(deep)
    assert field.prepare_value(field.bound_data(deep, None)) == deep
    assert field.has_changed({"field": "score"}, deep)
    assert not field.has_changed({"a": 1}, '{"a": 1}')
    assert field.clean('{"a": 1}') == {"a": 1}


@pytest.mark.parametrize("digits", [401, 4000])
def test_a_long_integer_decodes_and_the_language_names_its_place(digits):
    tree = condition_loads(
        '{"any": [{"field": "score", "op": "<", "value": ' + "9" * digits + "}]}"
    )
    err = refused(tree)
    assert err.path == "condition.any[0].value"
    assert err.message.startswith("numbers must be between") and len(err.message) < 150
