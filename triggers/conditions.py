"""Trigger condition evaluation, pure: from the nightly frame to the accounts that fire and
their evidence. Never eval: the tree is compiled by the condition language (conditions/)."""

from __future__ import annotations

import math
import re

import pandas as pd
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from conditions import (
    Comparison,
    Field,
    FieldType,
    Group,
    Negation,
    Node,
    Phrase,
    fields_read,
    parse,
)
from conditions.phrases import phrase_key

from .fields import TRIGGER_FIELDS


def compile_condition(tree) -> Node:
    return parse(tree, TRIGGER_FIELDS)


def needed_fields(node: Node) -> set[str]:
    return set(fields_read(node))


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return str(_("no data"))
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}".rstrip("0").rstrip(".")
    if isinstance(value, tuple | list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def evaluate(
    node: Node, frame: pd.DataFrame, within: pd.Series | None = None
) -> tuple[pd.Series, pd.DataFrame]:
    """The mask of accounts (among `within`, if given) for which the condition holds, and for
    those accounts the evidence: the value of every field the condition read."""
    mask = node.to_mask(frame)
    if within is not None:
        mask &= within
    evidence = frame.loc[mask, fields_read(node)]
    return mask, evidence


def frame_fields(trigger, node: Node) -> set[str]:
    """The columns of the evaluation frame (triggers.fields.load_frame) the trigger needs:
    what its condition reads, and the products held when it offers a product."""
    return set(fields_read(node)) | ({"products"} if trigger.product_id else set())


def trigger_scope(trigger, frame: pd.DataFrame) -> pd.Series:
    """The accounts of `frame` the trigger may fire for before cool-downs: those of its
    persona (any, without one), and for a trigger with a product, those not holding it (the
    frame then has the `products` column). The night and the configuration's dry run and
    backtest all ask this, so they cannot disagree on who is in scope."""
    scope = pd.Series(True, index=frame.index)
    if trigger.persona_id:
        scope &= frame["persona_id"] == trigger.persona_id
    if trigger.product_id:
        scope &= ~frame["products"].str.contains(f"|{trigger.product.code}|", regex=False)
    return scope


def evidence_texts(node: Node, frame: pd.DataFrame, mask: pd.Series) -> pd.Series:
    """Per fired account, the comparisons that made the condition true, each as a sentence
    from its field's phrase: "The health score is 43; Transacted volume fell 38% over 90
    days". Under a `not`, a comparison counts when it did not hold; its phrase still says
    what the value was. The one place evidence texts are made."""
    fired = frame.loc[mask]
    if fired.empty:
        return pd.Series("", index=fired.index, dtype="object")
    parts = list(_reasons(node, fired, positive=True))
    if not parts:
        return pd.Series("", index=fired.index, dtype="object")
    table = pd.concat(parts, axis=1).fillna("")
    return table.apply(lambda row: "; ".join(t for t in row if t), axis=1)


def _reasons(node: Node, fired: pd.DataFrame, positive: bool, say=None):
    say = say or phrase_texts
    if isinstance(node, Negation):
        yield from _reasons(node.child, fired, not positive, say)
    elif isinstance(node, Group):
        for child in node.children:
            yield from _reasons(child, fired, positive, say)
    elif isinstance(node, Comparison):
        held = node.to_mask(fired)
        counts = held if positive else ~held
        yield say(node.field, fired).where(counts, "")


_PLACEHOLDER = re.compile(r"%\((\w+)\)")


_GENERIC = Phrase(_("%(label)s is %(value)s"))


def phrase_texts(fld: Field, frame: pd.DataFrame) -> pd.Series:
    """The field's value on each row of `frame`, read as its phrase says (conditions.phrases);
    other columns a phrase names come from the same row (a frame without them gets the plain
    "<label> is <value>")."""
    out = [template % params for template, params in _phrase_items(fld, frame)]
    return pd.Series(out, index=frame.index, dtype="object")


def phrase_records(fld: Field, frame: pd.DataFrame) -> pd.Series:
    """What phrase_texts says, as data: each row's phrase msgid(s) and values
    (conditions.phrases.phrase_key), for the reader's language to render."""
    out = []
    for template, params in _phrase_items(fld, frame):
        stored = {k: _stored(v) for k, v in params.items()}
        if fld.type is FieldType.CHOICE and isinstance(stored.get("value"), str):
            stored["value"] = {"s": stored["value"]}  # a code the catalogue may name ("green")
        out.append({**phrase_key(template), "a": stored})
    return pd.Series(out, index=frame.index, dtype="object")


def _stored(value):
    """A placeholder's value as JSON: a lazy label keeps its msgid ({"s": ...})."""
    if isinstance(value, Promise):
        return phrase_key(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def evidence_phrases(node: Node, frame: pd.DataFrame, mask: pd.Series) -> pd.Series:
    """evidence_texts as data: per fired account, the list of its sentences' records."""
    fired = frame.loc[mask]
    if fired.empty:
        return pd.Series([], index=fired.index, dtype="object")
    parts = list(_reasons(node, fired, positive=True, say=phrase_records))
    if not parts:
        return pd.Series([[] for _ in range(len(fired))], index=fired.index, dtype="object")
    table = pd.concat(parts, axis=1)
    return table.apply(lambda row: [r for r in row if isinstance(r, dict)], axis=1)


def _phrase_items(fld: Field, frame: pd.DataFrame) -> list[tuple[object, dict]]:
    phrase = fld.phrase or _GENERIC
    args = {"label": fld.label or fld.name, **dict(phrase.args)}
    others = {
        name: None
        for template in (phrase.text, phrase.down)
        if template is not None
        for name in _PLACEHOLDER.findall(str(template))
        if name not in ("value", "count", *args)
    }
    if any(name not in frame for name in others):
        phrase, others = Phrase(_GENERIC.text, missing=phrase.missing), {}
    columns = {name: frame[name].tolist() for name in others}
    out = []
    for i, value in enumerate(frame[fld.name].tolist()):
        params = dict(args)
        for name, column in columns.items():
            params[name] = _fmt(column[i])
        out.append(_said(fld, phrase, value, params))
    return out


def _missing(fld: Field, value) -> bool:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return True
    if fld.type is FieldType.SET:
        return False
    # the frame spells a missing colour "none" (no score that day)
    return value == "" or (fld.type is FieldType.CHOICE and value == "none")


def _said(fld: Field, phrase: Phrase, value, params: dict) -> tuple[object, dict]:
    """The template and the values of the field's sentence for one value."""
    if _missing(fld, value):
        return phrase.missing or _("%(label)s: no data"), params
    template = phrase.text
    if fld.type is FieldType.NUMBER:
        number = float(value)
        if number < 0 and phrase.down is not None:
            template, number = phrase.down, -number
        params["value"] = _fmt(number)
        params["count"] = round(abs(number)) if math.isfinite(number) else 0
    else:
        # a yes/no field's phrase may say the "no" in words of its own (`down`)
        if fld.type is FieldType.BOOL and not value and phrase.down is not None:
            template = phrase.down
        params["value"] = _fmt_value(value)
        params["count"] = 1
    return template, params


def _fmt_value(value) -> str:
    if isinstance(value, str) and (value.startswith("|") or value == ""):
        return ", ".join(v for v in value.split("|") if v) or str(_("none"))
    if hasattr(value, "date") and callable(value.date):  # a Timestamp: the day is what counts
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return _fmt(value)


def evidence_records(evidence: pd.DataFrame) -> list[dict]:
    """JSON-safe evidence per fired account (NaN becomes None)."""
    clean = evidence.astype(object).where(evidence.notna(), None)
    out = []
    for record in clean.to_dict(orient="records"):
        out.append(
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}
        )
    return out
