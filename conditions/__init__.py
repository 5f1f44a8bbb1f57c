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
"""

from .language import (
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

__all__ = [
    "OPERATORS",
    "Comparison",
    "ConditionError",
    "Field",
    "FieldType",
    "Group",
    "Negation",
    "Node",
    "fields_read",
    "parse",
]
