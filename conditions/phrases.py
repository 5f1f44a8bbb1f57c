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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Phrase:
    text: Any
    down: Any = None
    args: tuple[tuple[str, Any], ...] = ()
    # When the value is missing; without it, "<label>: no data".
    missing: Any = None


# -- evidence as data ----------------------------------------------------------------------
# A firing keeps each sentence of its evidence as its msgid and its values
# ({"s": singular, "p": plural (optional), "a": the placeholders' values}) beside the text
# written at night, so every reader gets it in their own language; rows from before this
# have the text only, which is shown as it was written.

PHRASES_KEY = "_phrases"


def phrase_key(template) -> dict:
    """The msgid(s) of a phrase template (a gettext_lazy or ngettext_lazy proxy, or text)."""
    kw = getattr(template, "_kw", None) or {}
    if kw.get("singular") is not None:
        return {"s": str(kw["singular"]), "p": str(kw["plural"])}
    args = getattr(template, "_args", None)
    if args and isinstance(args[0], str):
        return {"s": args[0]}
    return {"s": str(template)}


def _value(value):
    """A placeholder's value: a {"s": msgid} (a choice's label) is translated too."""
    if isinstance(value, dict) and "s" in value:
        from django.utils.translation import gettext

        return gettext(value["s"])
    return value


def _same(value):
    return value


def render_phrase(record: dict, *, localize: Callable[[Any], Any] = _same) -> str:
    """One stored sentence in the active language. `localize` writes each stored figure
    ("12.5", "1,234", a day) in the reader's formats (the caller's: conditions knows no
    locale); the plural is chosen on the stored count, before."""
    from django.utils.translation import gettext, ngettext

    params = {k: _value(v) for k, v in (record.get("a") or {}).items()}
    if record.get("p"):
        template = ngettext(record["s"], record["p"], int(params.get("count") or 0))
    else:
        template = gettext(record["s"])
    params = {k: localize(v) for k, v in params.items()}
    try:
        return template % params
    except (KeyError, ValueError, TypeError):
        return record["s"] % params if params else record["s"]


def evidence_sentences(*, text: str, evidence, localize: Callable[[Any], Any] = _same) -> list[str]:
    """A firing's evidence, one sentence per comparison that held, in the reader's language
    and formats (its stored phrases; `localize` as in render_phrase), or its stored text
    split at "; " when it has none."""
    records = evidence.get(PHRASES_KEY) if isinstance(evidence, dict) else None
    if isinstance(records, list) and records:
        out = []
        for record in records:
            try:
                out.append(render_phrase(record, localize=localize))
            except Exception:  # noqa: BLE001 - a malformed record must not hide the page
                return [part.strip() for part in (text or "").split(";") if part.strip()]
        return out
    return [part.strip() for part in (text or "").split(";") if part.strip()]
