"""The form field a condition tree is typed into: JSON text, decoded within the language's
limits so that no text (nested a thousand levels, a number of five thousand digits, megabytes)
can crash the decoder, the page that shows the form again, or the save."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from .language import MAX_DEPTH

# A tree within MAX_DEPTH nests its JSON at most two levels per group ({"all": [...]}), plus
# the comparison's object and a value list: anything deeper cannot be a valid condition, and
# is refused before the decoder (which would recurse once per level) sees it.
MAX_JSON_DEPTH = 2 * MAX_DEPTH + 2
# Far above what MAX_NODES comparisons with their values take, far below a denial of service.
MAX_JSON_CHARS = 100_000
# Digits of one JSON integer: below Python's limit on converting text to int (4300 digits,
# which raises ValueError), so a long number (10**400) reaches the language, which refuses it
# with its place in the tree; only a longer one is refused here.
MAX_NUMBER_DIGITS = 4000

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_nesting(text: str) -> int:
    """How deep the objects and arrays of a JSON text nest (strings do not count)."""
    depth = deepest = 0
    for ch in _STRING.sub('""', text):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValidationError(
            gettext("a number with %(count)d digits is out of range"),
            code="out_of_range",
            params={"count": len(digits.lstrip("-"))},
        )
    return int(digits)


def condition_loads(text: str) -> Any:
    """Decode a condition's JSON text, or raise ValidationError saying what is wrong."""
    if len(text) > MAX_JSON_CHARS:
        raise ValidationError(
            gettext("the condition is %(size)d characters long; at most %(limit)d are allowed"),
            code="too_long",
            params={"size": len(text), "limit": MAX_JSON_CHARS},
        )
    if json_nesting(text) > MAX_JSON_DEPTH:
        raise ValidationError(
            gettext("the condition is nested deeper than %(limit)d levels"),
            code="too_deep",
            params={"limit": MAX_DEPTH},
        )
    try:
        return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            gettext("not valid JSON: %(reason)s (line %(line)d, column %(column)d)"),
            code="invalid",
            params={"reason": exc.msg, "line": exc.lineno, "column": exc.colno},
        ) from None
    except RecursionError:  # unreachable after json_nesting; kept so a decoder change is safe
        raise ValidationError(
            gettext("the condition is nested deeper than %(limit)d levels"),
            code="too_deep",
            params={"limit": MAX_DEPTH},
        ) from None


class ConditionJSONField(forms.JSONField):
    """A JSON field for condition trees (trigger conditions, persona rules)."""

    def to_python(self, value):
        if self.disabled:
            return value
        if value in self.empty_values:
            return None
        if isinstance(value, list | dict | int | float | forms.fields.JSONString):
            return value
        converted = condition_loads(str(value))
        return forms.fields.JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data, initial):
        # Shown back as typed, never decoded and re-encoded: an invalid text stays the user's.
        if self.disabled:
            return initial
        if data is None:
            return None
        return forms.fields.InvalidJSONInput(data)

    def has_changed(self, initial, data):
        if self.disabled:
            return False
        try:
            value = self.to_python(data)
        except ValidationError:
            return True
        return json.dumps(initial, sort_keys=True) != json.dumps(value, sort_keys=True)
