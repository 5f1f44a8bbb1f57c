"""How a field's value reads as a sentence in a firing's evidence ("Health is red (36)"),
kept beside the field in its catalogue; triggers/conditions.py evidence_texts renders them.

A phrase is a translatable template (gettext_lazy, or ngettext_lazy keyed on "count" when the
noun follows the number) with named %-placeholders: `value` (the field's value, formatted),
any constant in `args` (such as the window in days), and any other column of the evaluation
frame by its name (health_colour's phrase shows health_score). A field whose value is a change
gives `down` for negative values, which then read as their size ("Usage fell 42% over 30
days", never "rose -42%"); `missing` is what a missing value reads as ("No health score").
Phrases state the value, never the comparison's operator: the evidence is the fact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Phrase:
    text: Any
    down: Any = None
    args: tuple[tuple[str, Any], ...] = ()
    # When the value is missing; without it, "<label>: no data".
    missing: Any = None
