"""The condition builder: every valid tree renders to the form and the form, posted as a
browser would post it, parses back to the same tree; the buttons change the structure; the
language's errors land on their rows; the JSON view is checked the same way."""

from __future__ import annotations

import datetime as dt
import json

from django.template.loader import render_to_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.personas import ACCOUNT_FIELDS
from conditions import OPERATORS, FieldType, parse
from configuration.builder import ConditionBuilder, apply_action, tree_from_post
from tests.builders import posted
from triggers.fields import TRIGGER_FIELDS

URL = "/configuration/triggers/new/"

# Text a browser carries in a text input and in one line of a list: no line breaks and no
# control characters (the builder's documented limit; the JSON view takes the rest).
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=0, max_size=40)
LINE = TEXT.filter(lambda s: s != "")
NUMBER = st.one_of(
    st.integers(min_value=-(10**9), max_value=10**9),
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False),
)
DATE = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)).map(
    lambda d: d.isoformat()
)
CODE = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)


def _scalar(fld):
    return {
        FieldType.NUMBER: NUMBER,
        FieldType.DATE: DATE,
        FieldType.STRING: TEXT,
        FieldType.BOOL: st.booleans(),
        FieldType.SET: CODE,
        FieldType.CHOICE: st.sampled_from(fld.choices) if fld.choices else TEXT,
    }[fld.type]


@st.composite
def comparison(draw, catalogue):
    fld = catalogue[draw(st.sampled_from(sorted(catalogue)))]
    op = draw(st.sampled_from(OPERATORS[fld.type]))
    if op == "is_empty":
        value = draw(st.booleans())
    elif op == "between":
        low, high = sorted(draw(st.lists(_scalar(fld), min_size=2, max_size=2)))
        value = [low, high]
    elif op == "in" and fld.type is FieldType.CHOICE:
        # ticked boxes are posted in the catalogue's order, without repeats
        picked = draw(st.sets(st.sampled_from(fld.choices), min_size=1))
        value = [c for c in fld.choices if c in picked]
    elif op == "in":
        item = LINE if fld.type is FieldType.STRING else _scalar(fld)
        value = draw(st.lists(item, min_size=1, max_size=4))
    else:
        value = draw(_scalar(fld))
    return {"field": fld.name, "op": op, "value": value}


def trees(catalogue):
    return st.recursive(
        comparison(catalogue),
        lambda children: st.one_of(
            st.builds(lambda xs: {"all": xs}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda xs: {"any": xs}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, children),
        ),
        max_leaves=8,
    )


def round_trip(tree, catalogue, **extra):
    builder = ConditionBuilder(catalogue=catalogue, tree=tree)
    html = render_to_string("configuration/_builder.html", {"builder": builder, "builder_url": URL})
    again = ConditionBuilder(catalogue=catalogue, data=posted(html, **extra))
    return again, html


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(TRIGGER_FIELDS))
def test_every_valid_trigger_tree_renders_and_parses_back_to_itself(tree):
    parse(tree, TRIGGER_FIELDS)  # the strategy makes valid trees only
    again, _html = round_trip(tree, TRIGGER_FIELDS)
    assert again.tree == tree
    assert again.is_valid(), [n.errors for n in [again.root]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(ACCOUNT_FIELDS))
def test_every_valid_persona_rule_renders_and_parses_back_to_itself(tree):
    again, _html = round_trip(tree, ACCOUNT_FIELDS)
    assert again.tree == tree
    assert again.is_valid()


def test_every_field_kind_and_operator_round_trips():
    """One comparison per (field type, operator) the catalogue offers, named explicitly so a
    kind hypothesis rarely draws is never left out."""
    samples = {
        FieldType.NUMBER: (5000, [1, 2.5], [-3, 7.25]),
        FieldType.DATE: ("2024-06-30", None, ["2024-01-01", "2024-12-31"]),
        FieldType.STRING: ("Retail & <Co>", ["Retail", "Health care"], None),
        FieldType.CHOICE: (None, None, None),
        FieldType.SET: ("analytics", None, None),
        FieldType.BOOL: (False, None, None),
    }
    seen = set()
    for fld in TRIGGER_FIELDS.values():
        if fld.type in seen and fld.type is not FieldType.CHOICE:
            continue
        seen.add(fld.type)
        one, many, pair = samples[fld.type]
        if fld.type is FieldType.CHOICE:
            one, many = fld.choices[0], list(fld.choices[:2])
        for op in OPERATORS[fld.type]:
            value = {"is_empty": True, "in": many, "between": pair}.get(op, one)
            tree = {"all": [{"field": fld.name, "op": op, "value": value}]}
            again, _ = round_trip(tree, TRIGGER_FIELDS)
            assert again.tree == tree, (fld.name, op)
    assert seen == {t for t in FieldType if any(f.type is t for f in TRIGGER_FIELDS.values())}


def test_a_choice_field_offers_its_values_and_a_number_its_unit():
    tree = {
        "all": [
            {"field": "tier", "op": "in", "value": ["gold", "silver"]},
            {"field": "days_to_renewal", "op": "<=", "value": 60},
        ]
    }
    builder = ConditionBuilder(catalogue=TRIGGER_FIELDS, tree=tree)
    html = render_to_string("configuration/_builder.html", {"builder": builder, "builder_url": URL})
    assert 'name="c-0.values" value="diamond"' in html
    assert 'name="c-0.values" value="gold" checked' in html
    assert 'type="number"' in html and ">days</span>" in html
    assert (
        builder.sentence
        == "Tier is one of gold or silver and Days to renewal renews within the next 60 days"
    )
    # the picker groups the catalogue by meaning
    groups = [label for label, _ in builder.field_groups]
    assert groups == [
        "Account",
        "Health and colour",
        "Score change",
        "Indicators",
        "Usage",
        "Billing",
        "Renewal and tenure",
        "Lifecycle and activation",
    ]


def test_the_buttons_add_remove_move_and_negate():
    tree = {"all": [{"field": "tier", "op": "=", "value": "gold"}]}
    blank = {"field": "", "op": "", "value": ""}
    grown = apply_action(tree, "add-any:c")
    assert grown == {"all": [tree["all"][0], {"any": [blank]}]}
    moved = apply_action(grown, "up:c-1")
    assert moved == {"all": [{"any": [blank]}, tree["all"][0]]}
    assert apply_action(moved, "down:c-0") == grown
    negated = apply_action(grown, "not:c-0")
    assert negated["all"][0] == {"not": tree["all"][0]}
    assert apply_action(negated, "not:c-0") == grown
    # removing the last row of a group removes the group; the last row of all, the condition
    assert apply_action(grown, "remove:c-1-0") == tree
    assert apply_action(tree, "remove:c-0") is None
    # a lone comparison at the root becomes a group when a row is added
    assert apply_action(tree["all"][0], "add-cmp:c") == {"all": [tree["all"][0], blank]}
    # a key naming nothing changes nothing
    assert apply_action(tree, "remove:c-7") == tree
    assert apply_action(None, "start") == {"all": [blank]}


def test_a_button_posted_with_the_form_changes_the_tree_and_focuses_the_new_row():
    tree = {"all": [{"field": "tier", "op": "=", "value": "gold"}]}
    builder = ConditionBuilder(catalogue=TRIGGER_FIELDS, tree=tree)
    html = render_to_string("configuration/_builder.html", {"builder": builder, "builder_url": URL})
    after = ConditionBuilder(
        catalogue=TRIGGER_FIELDS, data=posted(html, builder_action="add-cmp:c")
    )
    assert after.tree["all"][1]["field"] == ""
    assert after.focus == "c-1"
    assert after.structural
    html = render_to_string("configuration/_builder.html", {"builder": after, "builder_url": URL})
    assert 'id="c-1-field" name="c-1.field" autofocus' in html


def test_the_languages_error_lands_on_its_row():
    tree = {
        "all": [
            {"field": "tier", "op": "=", "value": "gold"},
            {"any": [{"field": "mrr", "op": ">=", "value": "lots"}]},
        ]
    }
    builder = ConditionBuilder(catalogue=TRIGGER_FIELDS, tree=tree)
    assert not builder.is_valid()
    group = builder.root.children[1]
    assert builder.root.children[0].errors == []
    assert group.errors == []
    assert group.children[0].errors == ["field 'mrr' is a number; got 'lots'"]
    html = render_to_string("configuration/_builder.html", {"builder": builder, "builder_url": URL})
    assert 'id="c-1-0-error"' in html and "is a number" in html


def test_a_row_without_a_field_says_so():
    builder = ConditionBuilder(
        catalogue=TRIGGER_FIELDS, tree={"all": [{"field": "", "op": "", "value": ""}]}
    )
    assert not builder.is_valid()
    assert builder.root.children[0].errors == ["Choose a field."]


def test_the_json_view_is_validated_the_same_way():
    tree = {"all": [{"field": "tier", "op": "=", "value": "gold"}]}
    builder = ConditionBuilder(catalogue=TRIGGER_FIELDS, tree=tree)
    html = render_to_string("configuration/_builder.html", {"builder": builder, "builder_url": URL})
    typed = json.dumps({"any": [{"field": "mrr", "op": ">", "value": 10}]})
    data = posted(html)
    data["c.json"] = typed
    used = ConditionBuilder(catalogue=TRIGGER_FIELDS, data=data)
    assert used.tree == {"any": [{"field": "mrr", "op": ">", "value": 10}]}
    assert used.is_valid()
    data["c.json"] = json.dumps({"any": [{"field": "mrr", "op": "contains", "value": 10}]})
    wrong = ConditionBuilder(catalogue=TRIGGER_FIELDS, data=data)
    assert not wrong.is_valid()
    assert "operator 'contains' does not apply" in wrong.root.children[0].errors[0]
    data["c.json"] = "{not json"
    broken = ConditionBuilder(catalogue=TRIGGER_FIELDS, data=data)
    assert not broken.is_valid()
    assert broken.json_error.startswith("not valid JSON")
    assert broken.tree == tree  # the builder's own rows are kept


def test_a_posted_form_with_too_many_nodes_is_cut_not_crashed():
    data = posted("")
    for i in range(1000):
        data[f"c-{i}.kind"] = "cmp"
    data["c.kind"] = "all"
    tree = tree_from_post(data, TRIGGER_FIELDS)
    assert len(tree["all"]) <= 201
