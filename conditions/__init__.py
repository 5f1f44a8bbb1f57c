"""The one condition language: persona rules, trigger conditions and report filters.

A condition is data, a JSON tree, never code:

    {"all": [ {"field": "tier", "op": "in", "value": ["diamond", "platinum"]},
              {"any": [ {"field": "mrr", "op": ">=", "value": 5000},
                        {"not": {"field": "products", "op": "contains", "value": "analytics"}} ]} ]}

`parse(tree, catalogue)` validates it against a catalogue of fields (each layer brings its own:
accounts offers account fields, triggers adds health and signal fields) and returns a node tree.
A node compiles to a Django Q (`to_q`) for live counts and lists, and to a vectorized pandas
mask (`to_mask`) for the nightly run; `fields_read` says which fields to keep as evidence.
Nothing in a tree is ever evaluated as code: a string that looks like code is just a string.

Nulls: a comparison with a missing value is false, both in SQL and in pandas, and `not` flips
it; `is_empty` is the way to ask for missing values.

Limits (checked by `parse`, so on save and again each night, each refusal naming its place):
at most MAX_DEPTH nested levels, MAX_NODES groups and comparisons, MAX_IN_VALUES values in one
`in` and MAX_VALUES in all, MAX_TEXT characters per text, numbers within +-MAX_NUMBER and
finite, dates from MIN_DATE to MAX_DATE. `conditions.forms.ConditionJSONField` decodes the
JSON text a form receives within the same bounds.
"""

from .language import (
    MAX_DEPTH,
    MAX_IN_VALUES,
    MAX_NODES,
    MAX_NUMBER,
    MAX_TEXT,
    MAX_VALUES,
    OPERATORS,
    Comparison,
    ConditionError,
    Field,
    FieldType,
    Group,
    Negation,
    Node,
    fields_read,
    parse,
)
from .phrases import Phrase

__all__ = [
    "MAX_DEPTH",
    "MAX_IN_VALUES",
    "MAX_NODES",
    "MAX_NUMBER",
    "MAX_TEXT",
    "MAX_VALUES",
    "OPERATORS",
    "Comparison",
    "ConditionError",
    "Field",
    "FieldType",
    "Group",
    "Negation",
    "Node",
    "Phrase",
    "fields_read",
    "parse",
]
