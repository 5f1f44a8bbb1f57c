"""The condition language on a hand-built frame (no database): every operator on every field
kind with nulls, nesting, the fields read, every refusal with its path and message, and trees
that try to be code staying data."""

import datetime as dt
import math
import os
from decimal import Decimal

import pandas as pd
import pytest

from accounts.personas import ACCOUNT_FIELDS
from conditions import (
    OPERATORS,
    Comparison,
    ConditionError,
    FieldType,
    Group,
    Negation,
    fields_read,
    language,
    parse,
)
from tests.builders import CATALOGUE, FRAME, cmp, mask, refused

T, F = True, False


# -- every operator on every field kind --------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", 50, [T, F, F, F, T]),
        ("<=", 50, [T, T, F, F, T]),
        (">", 10, [F, T, F, T, F]),
        (">=", 10, [T, T, F, T, F]),
        (">", -1, [T, T, F, T, T]),  # zero is a value, not a missing one
        ("=", 50, [F, T, F, F, F]),
        ("=", 75.5, [F, F, F, T, F]),
        ("!=", 50, [T, F, F, T, T]),
        ("in", [0, 75.5], [F, F, F, T, T]),
        ("between", [10, 50], [T, T, F, F, F]),
        ("between", [10.5, 10.5], [F, F, F, F, F]),
        ("is_empty", True, [F, F, T, F, F]),
        ("is_empty", False, [T, T, F, T, T]),
    ],
)
def test_number(op, value, expected):
    assert mask(cmp("score", op, value)) == expected


def test_a_column_of_decimals_and_none_is_compared_as_numbers():
    """What `values_list` gives for a DecimalField: Decimal objects and None."""
    frame = pd.DataFrame(
        {"score": [Decimal("10.00"), None, Decimal("7.00"), Decimal("0.00")]}, index=[1, 2, 3, 4]
    )
    assert mask(cmp("score", ">=", 7), frame) == [T, F, T, F]
    assert mask(cmp("score", "=", 0), frame) == [F, F, F, T]
    assert mask(cmp("score", "=", 10.0), frame) == [T, F, F, F]
    assert mask(cmp("score", "is_empty", True), frame) == [F, T, F, F]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", "2024-03-01", [T, F, F, T, F]),
        ("<=", "2024-03-01", [T, T, F, T, T]),
        (">", "2024-01-10", [F, T, F, F, T]),
        (">=", "2024-01-10", [T, T, F, F, T]),
        ("=", "2024-03-01", [F, T, F, F, T]),
        ("!=", "2024-03-01", [T, F, F, T, F]),
        ("between", ["2024-01-01", "2024-01-31"], [T, F, F, F, F]),
        ("between", ["2023-12-31", "2024-01-10"], [T, F, F, T, F]),
        ("is_empty", True, [F, F, T, F, F]),
        ("is_empty", False, [T, T, F, T, T]),
    ],
)
def test_date(op, value, expected):
    assert mask(cmp("since", op, value)) == expected


def test_date_column_of_timestamps_or_iso_strings_compares_the_same():
    as_timestamps = FRAME.assign(since=pd.to_datetime(FRAME["since"]))
    as_strings = FRAME.assign(since=[d.isoformat() if d else None for d in FRAME["since"]])
    for frame in (as_timestamps, as_strings):
        assert mask(cmp("since", "<", "2024-03-01"), frame) == [T, F, F, T, F]
        assert mask(cmp("since", "is_empty", True), frame) == [F, F, T, F, F]


def test_dates_at_the_limits_are_still_dates():
    assert mask(cmp("since", ">", "1900-01-01")) == [T, T, F, T, T]
    assert mask(cmp("since", "<", "2200-12-31")) == [T, T, F, T, T]
    assert mask(cmp("since", "between", ["1900-01-01", "2200-12-31"])) == [T, T, F, T, T]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", "Retail", [T, F, F, F, T]),
        ("=", "retail", [F, F, F, F, F]),  # case matters
        ("!=", "Retail", [F, T, F, F, F]),  # "" and None are missing: false
        ("in", ["Health", "Retail"], [T, T, F, F, T]),
        ("in", ["Nowhere"], [F, F, F, F, F]),
        # the empty string is a missing value: a comparison with it is never true
        ("=", "", [F, F, F, F, F]),
        ("in", ["", "Health"], [F, T, F, F, F]),
        ("is_empty", True, [F, F, T, T, F]),
        ("is_empty", False, [T, T, F, F, T]),
    ],
)
def test_string(op, value, expected):
    assert mask(cmp("industry", op, value)) == expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", "gold", [T, F, F, F, F]),
        ("!=", "gold", [F, T, F, F, T]),
        ("in", ["silver", "bronze"], [F, T, F, F, T]),
        ("is_empty", True, [F, F, T, T, F]),
        ("is_empty", False, [T, T, F, F, T]),
    ],
)
def test_choice(op, value, expected):
    assert mask(cmp("tier", op, value)) == expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", True, [T, F, F, T, F]),
        ("=", False, [F, T, F, F, T]),
        ("is_empty", True, [F, F, T, F, F]),
        ("is_empty", False, [T, T, F, T, T]),
    ],
)
def test_bool(op, value, expected):
    assert mask(cmp("active", op, value)) == expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("contains", "core", [T, T, F, F, F]),
        ("contains", "analytics", [T, F, F, F, F]),
        ("contains", "cor", [F, F, F, F, F]),  # a code, not a substring
        ("not_contains", "analytics", [F, T, T, T, T]),
        ("not_contains", "billing", [T, T, T, T, T]),
        ("is_empty", True, [F, F, T, T, T]),
        ("is_empty", False, [T, T, F, F, F]),
    ],
)
def test_set(op, value, expected):
    assert mask(cmp("products", op, value)) == expected


@pytest.mark.parametrize("value", [".*", "analytics|core", "a b", ""])
def test_set_values_must_be_codes(value):
    """A product code is a slug: no pattern or separator can reach the pandas matcher."""
    with pytest.raises(ConditionError) as exc:
        parse(cmp("products", "contains", value), CATALOGUE)
    assert exc.value.path == "condition.value"
    assert "is not a code" in exc.value.message


def test_every_operator_of_every_field_kind_is_exercised():
    """Guards the tables above: a new operator or field kind needs its hand-computed case."""
    covered = {
        FieldType.NUMBER: {"<", "<=", ">", ">=", "=", "!=", "in", "between", "is_empty"},
        FieldType.DATE: {"<", "<=", ">", ">=", "=", "!=", "between", "is_empty"},
        FieldType.STRING: {"=", "!=", "in", "is_empty"},
        FieldType.CHOICE: {"=", "!=", "in", "is_empty"},
        FieldType.BOOL: {"=", "is_empty"},
        FieldType.SET: {"contains", "not_contains", "is_empty"},
    }
    assert {t: set(ops) for t, ops in OPERATORS.items()} == covered


# -- nesting -----------------------------------------------------------------------------


def test_all_any_not():
    retail_low = {"all": [cmp("score", "<", 50), cmp("industry", "=", "Retail")]}
    assert mask(retail_low) == [T, F, F, F, T]
    silver_or_analytics = {
        "any": [cmp("tier", "=", "silver"), cmp("products", "contains", "analytics")]
    }
    assert mask(silver_or_analytics) == [T, T, F, F, F]
    assert mask({"not": silver_or_analytics}) == [F, F, T, T, T]
    nested = {
        "all": [
            {"not": cmp("score", "is_empty", True)},
            {"any": [cmp("since", "<", "2024-03-01"), cmp("active", "=", False)]},
        ]
    }
    assert mask(nested) == [T, T, F, T, T]


def test_not_flips_a_comparison_that_is_false_for_missing_values():
    """A comparison on a missing value is false, so its negation is true (documented)."""
    assert mask(cmp("score", "<", 50)) == [T, F, F, F, T]
    assert mask({"not": cmp("score", "<", 50)}) == [F, T, T, T, F]
    assert mask({"not": cmp("industry", "!=", "Retail")}) == [T, F, T, T, T]
    assert mask({"not": {"not": cmp("score", "<", 50)}}) == [T, F, F, F, T]


def test_single_child_groups_and_deep_nesting_are_their_child():
    leaf = cmp("tier", "in", ["gold", "bronze"])
    wrapped = leaf
    for kind in ("all", "any", "all", "any"):
        wrapped = {kind: [wrapped]}
    assert mask(wrapped) == mask(leaf) == [T, F, F, F, T]


def test_parse_returns_the_node_tree():
    node = parse(
        {"all": [cmp("score", "in", [1, 2]), {"not": cmp("since", "=", "2024-01-01")}]}, CATALOGUE
    )
    assert isinstance(node, Group)
    assert node.kind == "all"
    first, second = node.children
    assert first == Comparison(CATALOGUE["score"], "in", (1, 2))
    assert isinstance(second, Negation)
    assert second.child == Comparison(CATALOGUE["since"], "=", dt.date(2024, 1, 1))


def test_fields_read_in_order_of_first_appearance_without_duplicates():
    tree = {
        "all": [
            cmp("score", "<", 50),
            {"any": [cmp("industry", "=", "Retail"), cmp("score", ">", 1)]},
            {"not": cmp("products", "contains", "core")},
            cmp("industry", "is_empty", False),
            cmp("since", "<", "2024-01-01"),
        ]
    }
    assert fields_read(parse(tree, CATALOGUE)) == ["score", "industry", "products", "since"]
    assert fields_read(parse(cmp("tier", "=", "gold"), CATALOGUE)) == ["tier"]


def test_a_column_missing_from_the_frame_is_a_clear_error():
    with pytest.raises(ConditionError) as info:
        parse(cmp("score", "<", 1), CATALOGUE).to_mask(FRAME.drop(columns=["score"]))
    assert info.value.path == "score"
    assert "no such column" in info.value.message


# -- refusals: each with its place in the tree and a message that says what to do -------


def test_unknown_field_lists_the_known_fields():
    err = refused(cmp("colour", "=", "red"))
    assert err.path == "condition.field"
    assert err.message == (
        "unknown field 'colour'; known fields: active, industry, products, score, since, tier"
    )
    assert str(err) == f"condition.field: {err.message}"
    assert isinstance(err, ValueError)


def test_unknown_account_field_lists_the_account_catalogue():
    err = refused(cmp("revenue", ">", 1), ACCOUNT_FIELDS)
    assert err.path == "condition.field"
    assert err.message.startswith("unknown field 'revenue'; known fields: ")
    assert err.message.split("known fields: ")[1].split(", ") == sorted(ACCOUNT_FIELDS)


@pytest.mark.parametrize(
    ("field", "op", "value", "message"),
    [
        (
            "industry",
            "<",
            "Retail",
            "operator '<' does not apply to string field 'industry'; "
            "use one of: =, !=, in, is_empty",
        ),
        (
            "tier",
            "between",
            ["gold", "silver"],
            "operator 'between' does not apply to choice field 'tier'; "
            "use one of: =, !=, in, is_empty",
        ),
        (
            "since",
            "in",
            ["2024-01-01"],
            "operator 'in' does not apply to date field 'since'; "
            "use one of: <, <=, >, >=, =, !=, between, is_empty",
        ),
        (
            "score",
            "contains",
            1,
            "operator 'contains' does not apply to number field 'score'; "
            "use one of: <, <=, >, >=, =, !=, in, between, is_empty",
        ),
        (
            "active",
            "!=",
            True,
            "operator '!=' does not apply to bool field 'active'; use one of: =, is_empty",
        ),
        (
            "products",
            "=",
            "core",
            "operator '=' does not apply to set field 'products'; "
            "use one of: contains, not_contains, is_empty",
        ),
        ("score", "==", 1, None),
        ("score", "__lt__", 1, None),
        ("score", None, 1, None),
    ],
)
def test_operator_not_allowed_for_the_type(field, op, value, message):
    err = refused(cmp(field, op, value))
    assert err.path == "condition.op"
    if message is not None:
        assert err.message == message
    else:
        assert err.message.startswith(f"operator {op!r} does not apply to ")


def test_missing_operator():
    err = refused({"field": "score", "value": 1})
    assert err.path == "condition.op"
    assert err.message.startswith("operator None does not apply to number field 'score'")


@pytest.mark.parametrize(
    ("field", "op", "value", "path", "message"),
    [
        ("score", "<", "5", "condition.value", "field 'score' is a number; got '5'"),
        ("score", "=", True, "condition.value", "field 'score' is a number; got True"),
        ("score", "=", None, "condition.value", "field 'score' is a number; got None"),
        ("score", "<", [5], "condition.value", "field 'score' is a number; got [5]"),
        ("score", "<", math.nan, "condition.value", "numbers must be finite"),
        ("score", ">", math.inf, "condition.value", "numbers must be finite"),
        ("score", ">", -math.inf, "condition.value", "numbers must be finite"),
        ("score", "in", [1, "2"], "condition.value[1]", "field 'score' is a number; got '2'"),
        ("score", "between", [0, math.inf], "condition.value[1]", "numbers must be finite"),
        (
            "since",
            "<",
            20240101,
            "condition.value",
            "field 'since' is a date (YYYY-MM-DD); got 20240101",
        ),
        (
            "since",
            "<",
            "2024-13-01",
            "condition.value",
            "'2024-13-01' is not a date (YYYY-MM-DD)",
        ),
        (
            "since",
            "<",
            "next tuesday",
            "condition.value",
            "'next tuesday' is not a date (YYYY-MM-DD)",
        ),
        (
            "since",
            "between",
            ["2024-01-01", "2024-02-30"],
            "condition.value[1]",
            "'2024-02-30' is not a date (YYYY-MM-DD)",
        ),
        ("industry", "=", 5, "condition.value", "field 'industry' is text; got 5"),
        (
            "industry",
            "in",
            ["Retail", None],
            "condition.value[1]",
            "field 'industry' is text; got None",
        ),
        ("products", "contains", 5, "condition.value", "field 'products' is text; got 5"),
        ("active", "=", "true", "condition.value", "field 'active' is true/false; got 'true'"),
        ("active", "=", 1, "condition.value", "field 'active' is true/false; got 1"),
        ("score", "is_empty", "yes", "condition.value", "is_empty takes true or false"),
        ("industry", "is_empty", 1, "condition.value", "is_empty takes true or false"),
        (
            "tier",
            "=",
            "platinum",
            "condition.value",
            "'platinum' is not a value of 'tier'; use one of: gold, silver, bronze",
        ),
        (
            "tier",
            "in",
            ["gold", "Gold"],
            "condition.value[1]",
            "'Gold' is not a value of 'tier'; use one of: gold, silver, bronze",
        ),
    ],
)
def test_wrong_value_type(field, op, value, path, message):
    err = refused(cmp(field, op, value))
    assert err.path == path
    if message is not None:
        assert err.message == message


@pytest.mark.parametrize("value", [[], "gold", ("gold",), {"gold": 1}, None])
def test_in_takes_a_non_empty_list(value):
    err = refused(cmp("tier", "in", value))
    assert (err.path, err.message) == ("condition.value", "'in' takes a non-empty list")


@pytest.mark.parametrize("value", [[1], [1, 2, 3], [], 5, "1,2", None])
def test_between_takes_two_values(value):
    err = refused(cmp("score", "between", value))
    assert (err.path, err.message) == (
        "condition.value",
        "'between' takes a list of two values [low, high]",
    )


def test_between_needs_low_not_above_high():
    err = refused(cmp("score", "between", [50, 10]))
    assert (err.path, err.message) == (
        "condition.value",
        "'between' needs low <= high, got 50 > 10",
    )
    err = refused(cmp("since", "between", ["2024-02-01", "2024-01-01"]))
    assert err.path == "condition.value"
    assert err.message == "'between' needs low <= high, got 2024-02-01 > 2024-01-01"


def test_missing_value():
    err = refused({"field": "score", "op": "<"})
    assert (err.path, err.message) == ("condition.value", "missing value")


def test_extra_keys_are_refused():
    err = refused({"field": "score", "op": "<", "value": 1, "label": "x", "eval": "1"})
    assert (err.path, err.message) == ("condition", "unknown key(s): eval, label")


@pytest.mark.parametrize("kind", ["all", "any"])
@pytest.mark.parametrize("items", [[], {"field": "score", "op": "<", "value": 1}, "x", None])
def test_groups_take_a_non_empty_list(kind, items):
    err = refused({kind: items})
    assert (err.path, err.message) == (
        f"condition.{kind}",
        "expected a non-empty list of conditions",
    )


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        (
            {"all": [cmp("score", "<", 1)], "field": "score"},
            "'all' must be the only key of its object",
        ),
        ({"all": [cmp("score", "<", 1)], "any": []}, "'all' must be the only key of its object"),
        ({"any": [cmp("score", "<", 1)], "not": {}}, "'any' must be the only key of its object"),
        ({"not": cmp("score", "<", 1), "op": "<"}, "'not' must be the only key of its object"),
    ],
)
def test_group_keys_stand_alone(tree, message):
    err = refused(tree)
    assert (err.path, err.message) == ("condition", message)


@pytest.mark.parametrize(
    ("tree", "got"),
    [
        ([cmp("score", "<", 1)], "list"),
        ("score < 1", "str"),
        (None, "NoneType"),
        (42, "int"),
        (("field", "score"), "tuple"),
    ],
)
def test_nodes_must_be_objects(tree, got):
    err = refused(tree)
    assert (err.path, err.message) == ("condition", f"expected an object, got {got}")


def test_a_non_object_deep_in_the_tree_is_located():
    err = refused({"all": [cmp("score", "<", 1), {"any": [cmp("score", ">", 0), "oops"]}]})
    assert (err.path, err.message) == ("condition.all[1].any[1]", "expected an object, got str")
    err = refused({"not": [cmp("score", "<", 1)]})
    assert (err.path, err.message) == ("condition.not", "expected an object, got list")


def test_an_object_that_is_no_node():
    for tree in ({}, {"op": "<", "value": 1}, {"ALL": []}):
        err = refused(tree)
        assert err.path == "condition"
        assert err.message == "expected one of 'all', 'any', 'not' or a comparison with 'field'"


def test_errors_deep_in_the_tree_name_their_place():
    tree = {
        "all": [
            cmp("score", "<", 1),
            {"any": [cmp("industry", "=", "Retail"), {"not": cmp("score", "<", "x")}]},
        ]
    }
    err = refused(tree)
    assert err.path == "condition.all[1].any[1].not.value"
    assert str(err) == "condition.all[1].any[1].not.value: field 'score' is a number; got 'x'"


def test_nesting_deeper_than_the_limit_is_refused():
    limit = language.MAX_DEPTH
    assert 3 <= limit <= 50  # deep enough for real rules, shallow enough for the stack
    tree = cmp("score", "<", 1)
    for _ in range(limit):
        tree = {"not": tree}
    parse(tree, CATALOGUE)  # exactly at the limit: fine
    err = refused({"not": tree})
    assert err.path == "condition" + ".not" * (limit + 1)
    assert err.message == f"nested deeper than {limit} levels"


def test_a_very_deep_tree_is_refused_without_exhausting_the_stack():
    tree = cmp("score", "<", 1)
    for _ in range(5000):
        tree = {"all": [tree]}
    err = refused(tree)
    assert err.message.startswith("nested deeper than")


# -- a tree is data, never code ------------------------------------------------------------

CODE = "__import__('os').system('rm -rf /')"


def test_a_value_that_looks_like_code_is_a_plain_string(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    node = parse(cmp("industry", "=", CODE), ACCOUNT_FIELDS)
    assert node == Comparison(ACCOUNT_FIELDS["industry"], "=", CODE)
    frame = pd.DataFrame(
        {"industry": ["Retail", CODE, CODE + " ", "__import__('os')", None]},
        index=[1, 2, 3, 4, 5],
    )
    assert [bool(x) for x in node.to_mask(frame)] == [F, T, F, F, F]
    # in SQL too it is a bound value of an equality (beside "industry is present")
    assert ("industry", CODE) in node.to_q().children
    assert calls == []


@pytest.mark.parametrize(
    "value",
    [
        "{{ settings.SECRET_KEY }}",
        "'; DROP TABLE accounts_account; --",
        "lambda: 1",
        "@frame.industry",
        "industry == industry",
    ],
)
def test_strings_that_look_like_templates_sql_or_expressions_are_data(value):
    frame = pd.DataFrame({"industry": ["Retail", value]}, index=[1, 2])
    assert mask(cmp("industry", "=", value), frame, ACCOUNT_FIELDS) == [F, T]
    assert mask(cmp("industry", "!=", value), frame, ACCOUNT_FIELDS) == [T, F]
    assert mask(cmp("industry", "in", [value]), frame, ACCOUNT_FIELDS) == [F, T]


@pytest.mark.parametrize(
    "name",
    [
        "__class__",
        "mrr.__class__",
        "mrr__class__",
        "__import__('os')",
        "mrr; DROP TABLE accounts_account",
        "organization__name",
        "tier ",
        "Tier",
        "",
    ],
)
def test_field_names_that_are_not_in_the_catalogue_are_unknown(name):
    err = refused(cmp(name, "=", "x"), ACCOUNT_FIELDS)
    assert err.path == "condition.field"
    assert err.message.startswith(f"unknown field {name!r}; known fields: ")


@pytest.mark.parametrize("name", [["mrr"], {"mrr": 1}, 5, None])
def test_field_names_must_be_strings(name):
    err = refused({"field": name, "op": "=", "value": 1}, ACCOUNT_FIELDS)
    assert err.path == "condition.field"
    assert err.message.startswith(f"unknown field {name!r}")
