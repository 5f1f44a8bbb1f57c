"""The condition builder: a condition tree of the one language (conditions/) as a form that
posts it, and back. Server-rendered and complete without JavaScript (every change to the
structure is a submit button that posts the whole form; htmx only swaps the builder in place).

Each node of the tree has a key: "c" for the root, "c-0" for its first child, "c-0-2" for the
third child of that one. Its inputs are named after the key: `<key>.kind` (all, any, not or
cmp), and for a comparison `<key>.field`, `<key>.op`, `<key>.value` (one value, the low end of
a range, or a list one per line), `<key>.value2` (the high end of a range) and `<key>.values`
(the ticked choices of an enumeration). The language's own errors carry a path in the tree
("condition.all[0].any[1].value"); every node knows its path, so each error lands on its row.

What the builder does not write: a text value with a line break (browsers drop them from text
inputs, and lists are one value per line); those are for the JSON view. The ticked values of
an enumeration's `in` are posted in the catalogue's order, without repeats (the same rule)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from conditions import MAX_DEPTH, MAX_NODES, OPERATORS, ConditionError, FieldType, parse
from conditions.forms import condition_loads

ROOT = "c"
GROUP_KINDS = ("all", "any")
ACTION_NAME = "builder_action"
_KEY = re.compile(r"^c(?:-\d{1,3})*$")
_INT = re.compile(r"^-?\d{1,15}$")

# -- what the rows say ------------------------------------------------------------------

OPERATOR_LABELS: dict[str, Promise] = {
    "<": _("is less than"),
    "<=": _("is at most"),
    ">": _("is more than"),
    ">=": _("is at least"),
    "=": _("is"),
    "!=": _("is not"),
    "in": _("is one of"),
    "between": _("is between"),
    "is_empty": _("is empty or not"),
    "contains": _("includes"),
    "not_contains": _("does not include"),
}
DATE_OPERATOR_LABELS: dict[str, Promise] = {
    "<": _("is before"),
    "<=": _("is on or before"),
    ">": _("is after"),
    ">=": _("is on or after"),
    "=": _("is on"),
    "!=": _("is not on"),
    "between": _("is between"),
}
# Relative days: the numbers counted from today read as what they mean.
FIELD_OPERATOR_LABELS: dict[str, dict[str, Promise]] = {
    "days_to_renewal": {
        "<": _("renews in less than"),
        "<=": _("renews within the next"),
        ">": _("renews in more than"),
        ">=": _("renews in at least"),
        "=": _("renews in exactly"),
        "between": _("renews in between"),
    },
    "tenure_days": {
        "<": _("became a customer less than"),
        "<=": _("became a customer at most"),
        ">": _("became a customer more than"),
        ">=": _("became a customer at least"),
        "between": _("became a customer between"),
    },
}
UNIT_AFTER: dict[str, Promise] = {"tenure_days": _("days ago")}
UNITS: dict[str, Promise] = {
    "days_to_renewal": _("days"),
    "tenure_days": _("days"),
    "overdue_invoice_max_days": _("days"),
    "health_score": _("points"),
    "score_change_7d": _("points"),
    "score_change_30d": _("points"),
    "score_change_90d": _("points"),
    "csm_sentiment": _("of 5"),
}
HINTS: dict[str, Promise] = {
    "days_to_renewal": _("Counted from today: 60 is two months ahead; below 0, it has passed."),
    "tenure_days": _("Counted back from today: 30 is a month ago."),
    "score_change_7d": _("Negative: the score fell."),
    "score_change_30d": _("Negative: the score fell."),
    "score_change_90d": _("Negative: the score fell."),
}

# The catalogue grouped by meaning, in the order the field picker shows them.
GROUPS: tuple[tuple[str, Promise], ...] = (
    ("account", _("Account")),
    ("health", _("Health and colour")),
    ("change", _("Score change")),
    ("indicators", _("Indicators")),
    ("usage", _("Usage")),
    ("billing", _("Billing")),
    ("renewal", _("Renewal and tenure")),
    ("journey", _("Lifecycle and activation")),
)
_GROUP_OF = {
    "mrr": "billing",
    "overdue_invoice_max_days": "billing",
    "overdue_invoice_count": "billing",
    "customer_since": "renewal",
    "renewal_date": "renewal",
    "days_to_renewal": "renewal",
    "tenure_days": "renewal",
    "health_score": "health",
    "health_colour": "health",
    "csm_sentiment": "health",
    "days_since_promoter_answer": "health",
    "days_since_first_subscription": "journey",
    "activated": "journey",
    "stage_entered_today": "journey",
    "days_in_stage": "journey",
    "products_used_30d": "journey",
}


def group_of(name: str) -> str:
    if name in _GROUP_OF:
        return _GROUP_OF[name]
    if name.startswith("score_change"):
        return "change"
    if name.startswith("indicator."):
        return "indicators"
    if name.startswith("usage."):
        return "usage"
    return "account"


def field_groups(catalogue) -> list[tuple[str, list[tuple[str, str]]]]:
    """The picker's option groups: (group label, [(field name, label)]), empty groups left out."""
    out = []
    for key, label in GROUPS:
        names = [n for n in catalogue if group_of(n) == key]
        if names:
            out.append((str(label), [(n, field_label(catalogue[n])) for n in names]))
    return out


def field_label(fld) -> str:
    """The field's label in the active language: a plain label is a msgid, a composed one
    (triggers.fields.ComposedLabel: "Tenure: value (months)") translates its parts."""
    if not fld.label:
        return fld.name
    translated = getattr(fld.label, "translated", None)
    return translated() if translated else gettext(fld.label)


def operator_label(name: str | None, ftype: FieldType | None, op: str) -> str:
    by_field = FIELD_OPERATOR_LABELS.get(name or "", {})
    if op in by_field:
        return str(by_field[op])
    if ftype is FieldType.DATE and op in DATE_OPERATOR_LABELS:
        return str(DATE_OPERATOR_LABELS[op])
    return str(OPERATOR_LABELS.get(op, op))


# -- the tree as nodes to render ---------------------------------------------------------


@dataclass
class Option:
    value: str
    label: str
    selected: bool = False


@dataclass
class BuilderNode:
    key: str
    kind: str  # all, any, not, cmp
    path: str  # the language's path of this node
    children: list[BuilderNode] = _field(default_factory=list)
    errors: list[str] = _field(default_factory=list)
    index: int = 0
    siblings: int = 1
    depth: int = 0
    # a comparison's inputs
    field: str = ""
    op: str = ""
    ops: list[Option] = _field(default_factory=list)
    input: str = "text"  # text, number, date, select, choices, lines, range, range-date, none
    value: str = ""
    value2: str = ""
    options: list[Option] = _field(default_factory=list)
    unit: str = ""
    hint: str = ""

    @property
    def is_group(self) -> bool:
        return self.kind in GROUP_KINDS

    @property
    def can_move_up(self) -> bool:
        return self.index > 0

    @property
    def can_move_down(self) -> bool:
        return self.index < self.siblings - 1

    @property
    def can_add(self) -> bool:
        return self.depth < MAX_DEPTH - 1


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class _Renderer:
    def __init__(self, catalogue, choices: dict[str, list[tuple[str, str]]], currency: str):
        self.catalogue = catalogue
        self.choices = choices
        self.currency = currency

    def node(self, tree: Any, key: str, path: str, depth: int, index=0, siblings=1) -> BuilderNode:
        common = dict(key=key, path=path, depth=depth, index=index, siblings=siblings)
        if isinstance(tree, dict):
            for kind in GROUP_KINDS:
                if kind in tree:
                    items = tree[kind] if isinstance(tree[kind], list) else []
                    node = BuilderNode(kind=kind, **common)
                    node.children = [
                        self.node(
                            item, f"{key}-{i}", f"{path}.{kind}[{i}]", depth + 1, i, len(items)
                        )
                        for i, item in enumerate(items[: MAX_NODES + 1])
                    ]
                    return node
            if "not" in tree:
                node = BuilderNode(kind="not", **common)
                node.children = [self.node(tree["not"], f"{key}-0", f"{path}.not", depth + 1)]
                return node
            return self.comparison(tree, common)
        return self.comparison({}, common)

    def comparison(self, tree: dict, common: dict) -> BuilderNode:
        name = tree.get("field") if isinstance(tree.get("field"), str) else ""
        fld = self.catalogue.get(name)
        op = tree.get("op") if isinstance(tree.get("op"), str) else ""
        value = tree.get("value")
        node = BuilderNode(kind="cmp", field=name, op=op, **common)
        allowed = OPERATORS[fld.type] if fld else ()
        if fld and op not in allowed:
            op = node.op = allowed[0]
        ftype = fld.type if fld else None
        node.ops = [Option(o, operator_label(name, ftype, o), o == op) for o in allowed]
        if fld is None:
            node.input, node.value = "text", _text(value) if not isinstance(value, list) else ""
            return node
        node.unit = str(UNITS.get(name, "")) or (self.currency if name == "mrr" else "")
        if name in UNIT_AFTER:
            node.unit = str(UNIT_AFTER[name])
        node.hint = str(HINTS.get(name, ""))
        choices = self._choices(fld)
        if op == "is_empty":
            node.input = "select"
            node.options = [
                Option("true", gettext("is empty"), value is True),
                Option("false", gettext("has a value"), value is False),
            ]
            node.unit = node.hint = ""
            return node
        if op == "between":
            node.input = "range-date" if ftype is FieldType.DATE else "range"
            low, high = (value if isinstance(value, list) and len(value) == 2 else ["", ""])[:2]
            node.value, node.value2 = _text(low), _text(high)
            return node
        if op == "in":
            items = value if isinstance(value, list) else []
            if ftype is FieldType.CHOICE:
                node.input = "choices"
                node.options = [Option(v, lab, v in items) for v, lab in choices]
                node.options += [
                    Option(_text(v), _text(v), True) for v in items if v not in fld.choices
                ]
            else:
                node.input = "lines"
                node.value = "\n".join(_text(v) for v in items)
            return node
        if ftype is FieldType.BOOL:
            node.input = "select"
            node.options = [
                Option("true", gettext("true"), value is True),
                Option("false", gettext("false"), value is False),
            ]
            return node
        if choices:
            node.input = "select"
            node.options = [Option(v, lab, v == value) for v, lab in choices]
            if value not in (None, "") and not any(o.selected for o in node.options):
                node.options.append(Option(_text(value), _text(value), True))
            return node
        node.input = {FieldType.NUMBER: "number", FieldType.DATE: "date"}.get(ftype, "text")
        node.value = _text(value)
        return node

    def _choices(self, fld) -> list[tuple[str, str]]:
        if fld.name in self.choices:
            return self.choices[fld.name]
        if fld.type is FieldType.CHOICE:
            return [(c, c.replace("_", " ")) for c in fld.choices]
        return []


# -- the posted form as a tree -------------------------------------------------------------


def _posted_keys(data) -> list[tuple[int, ...]]:
    keys = []
    for name in data:
        if name.endswith(".kind") and _KEY.match(name[:-5]):
            parts = name[:-5].split("-")[1:]
            if len(parts) <= MAX_DEPTH + 1:
                keys.append(tuple(int(p) for p in parts))
    # Beyond the language's limit the rest is cut (Django bounds how many fields a post has);
    # what is kept still reaches `parse`, which names the limit.
    return sorted(keys)[: MAX_NODES + 1]


def _key(parts: tuple[int, ...]) -> str:
    return "-".join([ROOT, *(str(p) for p in parts)])


def _scalar(ftype: FieldType | None, text: str) -> Any:
    if ftype is FieldType.NUMBER:
        text = text.strip()
        if _INT.match(text):
            return int(text)
        try:
            return float(text) if len(text) <= 40 else text
        except ValueError:
            return text
    if ftype is FieldType.BOOL:
        return {"true": True, "false": False}.get(text, text)
    if ftype is FieldType.DATE:
        return text.strip()
    return text


def _posted_comparison(data, key: str, catalogue) -> dict:
    name = data.get(f"{key}.field", "")
    fld = catalogue.get(name)
    op = data.get(f"{key}.op", "")
    if fld is not None and op not in OPERATORS[fld.type]:
        op = OPERATORS[fld.type][0]
    ftype = fld.type if fld else None
    raw = data.get(f"{key}.value", "")
    if op == "is_empty":
        value: Any = {"true": True, "false": False}.get(raw, raw)
    elif op == "between":
        value = [_scalar(ftype, raw), _scalar(ftype, data.get(f"{key}.value2", ""))]
    elif op == "in" and ftype is FieldType.CHOICE:
        ticked = set(data.getlist(f"{key}.values"))
        value = [c for c in fld.choices if c in ticked] + sorted(ticked - set(fld.choices))
    elif op == "in":
        value = [_scalar(ftype, line) for line in raw.replace("\r", "").split("\n") if line != ""]
    else:
        value = _scalar(ftype, raw)
    return {"field": name, "op": op, "value": value}


def tree_from_post(data, catalogue) -> dict | None:
    """The tree the builder's inputs describe (None: the builder holds no condition)."""
    keys = _posted_keys(data)
    if () not in keys:
        return None
    present = set(keys)

    def build(parts: tuple[int, ...]) -> dict:
        key = _key(parts)
        kind = data.get(f"{key}.kind")
        children = sorted(k for k in present if len(k) == len(parts) + 1 and k[:-1] == parts)
        if kind in GROUP_KINDS:
            return {kind: [build(c) for c in children]}
        if kind == "not":
            return {"not": build(children[0]) if children else {}}
        return _posted_comparison(data, key, catalogue)

    return build(())


# -- the buttons that change the structure ------------------------------------------------

BLANK = {"field": "", "op": "", "value": ""}


def _locate(tree, parts: tuple[int, ...]):
    """(parent, list holding the node, index) for the node at `parts` (parent None: root)."""
    node, parent, holder, index = tree, None, None, None
    for p in parts:
        if not isinstance(node, dict):
            raise LookupError(parts)
        if "not" in node:
            parent, holder, index = node, None, "not"
            node = node["not"]
            continue
        kind = next((k for k in GROUP_KINDS if k in node), None)
        if kind is None or not isinstance(node[kind], list) or p >= len(node[kind]):
            raise LookupError(parts)
        parent, holder, index = node, node[kind], p
        node = node[kind][p]
    return parent, holder, index, node


def apply_action(tree: dict | None, action: str) -> dict | None:
    """The tree after a builder button: `add-cmp:<key>`, `add-all:<key>`, `add-any:<key>`
    (a row or group at the end of that group), `remove:<key>`, `up:<key>`, `down:<key>`,
    `not:<key>` (wrap in, or unwrap from, a negation), `start` (an empty builder's first row).
    An action naming no node of the tree changes nothing."""
    verb, _sep, key = action.partition(":")
    if verb == "start" or tree is None:
        return (
            {"all": [dict(BLANK)]} if verb in ("start", "add-cmp", "add-all", "add-any") else tree
        )
    if not _KEY.match(key or ""):
        return tree
    parts = tuple(int(p) for p in key.split("-")[1:])
    tree = json.loads(json.dumps(tree))
    try:
        parent, holder, index, node = _locate(tree, parts)
    except LookupError:
        return tree
    if verb.startswith("add-"):
        new = dict(BLANK) if verb == "add-cmp" else {verb[4:]: [dict(BLANK)]}
        kind = next((k for k in GROUP_KINDS if isinstance(node, dict) and k in node), None)
        if kind is not None and isinstance(node[kind], list):
            node[kind].append(new)
        elif parent is None:  # a lone comparison at the root becomes a group
            return {"all": [node, new]}
        elif holder is not None:
            holder[index] = {"all": [node, new]}
        return tree
    if verb == "not":
        unwrapped = node["not"] if isinstance(node, dict) and set(node) == {"not"} else None
        replacement = unwrapped if unwrapped is not None else {"not": node}
        if parent is None:
            return replacement
        if holder is None:
            parent["not"] = replacement
        else:
            holder[index] = replacement
        return tree
    if parent is None:
        return None if verb == "remove" else tree
    if holder is None:  # the child of a negation: remove drops the negation with it
        if verb == "remove":
            return apply_action(tree, f"remove:{_key(parts[:-1])}")
        return tree
    if verb == "remove":
        del holder[index]
        if not holder and len(parts) > 1:  # an emptied group goes with its last row
            return apply_action(tree, f"remove:{_key(parts[:-1])}")
        return tree if holder else None
    if verb == "up" and index > 0:
        holder[index - 1], holder[index] = holder[index], holder[index - 1]
    elif verb == "down" and index < len(holder) - 1:
        holder[index + 1], holder[index] = holder[index], holder[index + 1]
    return tree


# -- the condition as a sentence ------------------------------------------------------------


def _value_words(node: BuilderNode) -> str:
    if node.input in ("select", "choices"):
        chosen = [o.label for o in node.options if o.selected]
        return gettext(" or ").join(chosen) if chosen else "…"
    if node.input in ("range", "range-date"):
        return gettext("%(low)s and %(high)s") % {
            "low": node.value or "…",
            "high": node.value2 or "…",
        }
    if node.input == "lines":
        return ", ".join(v for v in node.value.split("\n") if v) or "…"
    return node.value or "…"


def sentence(node: BuilderNode | None, catalogue, top: bool = True) -> str:
    """The condition in words: "Tier is gold or silver and (MRR is at least 5000 USD or
    Health colour is red)"."""
    if node is None:
        return gettext("No condition yet.")
    if node.kind == "cmp":
        fld = catalogue.get(node.field)
        if fld is None:
            return gettext("(choose a field)")
        label = field_label(fld)
        if node.op == "is_empty":
            chosen = next((o.value for o in node.options if o.selected), "")
            return (
                gettext("%(field)s is empty")
                if chosen == "true"
                else gettext("%(field)s has a value")
            ) % {"field": label}
        op = operator_label(node.field, fld.type, node.op)
        words = f"{label} {op} {_value_words(node)}"
        return f"{words} {node.unit}" if node.unit else words
    if node.kind == "not":
        inner = sentence(node.children[0], catalogue, top=False) if node.children else "…"
        return gettext("not (%(inner)s)") % {"inner": inner}
    parts = [sentence(c, catalogue, top=False) for c in node.children]
    parts = [
        p if not (c.kind in GROUP_KINDS and len(c.children) > 1) else f"({p})"
        for p, c in zip(parts, node.children, strict=True)
    ]
    joiner = gettext(" and ") if node.kind == "all" else gettext(" or ")
    return joiner.join(parts) if parts else gettext("(an empty group)")


# -- the builder as one object a view holds -----------------------------------------------


def _attach(node: BuilderNode, error: ConditionError) -> bool:
    """Put the error on the deepest node whose path starts `error.path`."""
    path = error.path
    for child in node.children:
        if _within(path, child.path) and _attach(child, error):
            return True
    if _within(path, node.path):
        node.errors.append(error.message)
        return True
    return False


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))


def _walk(node: BuilderNode | None):
    if node is None:
        return
    yield node
    for child in node.children:
        yield from _walk(child)


class ConditionBuilder:
    """A condition's builder, bound to a posted form (`data`) or to a stored tree (`tree`).

    `tree` is the condition it describes (after any button it was posted with), `root` the
    nodes to render, `errors` what is wrong that belongs to no row, `json_text` the JSON view.
    `is_valid()` is the language's verdict (the same parse the night runs)."""

    def __init__(
        self,
        *,
        catalogue,
        data=None,
        tree: Any = None,
        choices: dict[str, list[tuple[str, str]]] | None = None,
        currency: str = "",
        required: bool = True,
    ):
        self.catalogue = catalogue
        self.required = required
        self.renderer = _Renderer(catalogue, choices or {}, currency)
        self.action = ""
        self.focus = ""  # the key of the node the keyboard goes to after a button
        self.json_error = ""
        self.errors: list[str] = []
        self.bound = data is not None
        if data is not None:
            tree = tree_from_post(data, catalogue)
            self.action = data.get(ACTION_NAME, "")
            text = data.get(f"{ROOT}.json", "")
            original = data.get(f"{ROOT}.json_original", "")
            if self.action == "json" or (text.strip() and _normal(text) != _normal(original)):
                try:
                    tree = condition_loads(text) if text.strip() else None
                except Exception as exc:  # ValidationError: the JSON view says why
                    self.json_error = " ".join(getattr(exc, "messages", [str(exc)]))
            if self.action and self.action != "json":
                tree = apply_action(tree, self.action)
                self.focus = _focus_after(tree, self.action)
        self.tree = tree if tree not in ({}, []) else None
        self.root = self.renderer.node(self.tree, ROOT, "condition", 0) if self.tree else None
        self._checked: bool | None = None

    @property
    def structural(self) -> bool:
        """Posted by a button that changes the structure: errors are not shown yet."""
        return bool(self.action) and self.action != "json"

    def is_valid(self) -> bool:
        if self._checked is None:
            self._checked = self._check()
        return self._checked

    def _check(self) -> bool:
        if self.json_error:
            return False
        if self.tree is None:
            if self.required:
                self.errors.append(gettext("Add at least one condition."))
                return False
            return True
        for node in _walk(self.root):
            if node.kind == "cmp" and not node.field:
                node.errors.append(gettext("Choose a field."))
        if any(n.errors for n in _walk(self.root)):
            return False
        try:
            parse(self.tree, self.catalogue)
        except ConditionError as exc:
            if not _attach(self.root, exc):
                self.errors.append(f"{exc.path}: {exc.message}")
            return False
        return True

    @property
    def json_text(self) -> str:
        return json.dumps(self.tree, indent=2, ensure_ascii=False) if self.tree else ""

    @property
    def sentence(self) -> str:
        return sentence(self.root, self.catalogue)

    @property
    def field_groups(self):
        return field_groups(self.catalogue)

    @property
    def row_errors(self) -> int:
        return sum(len(n.errors) for n in _walk(self.root))


def _focus_after(tree, action: str) -> str:
    """Where the keyboard goes after a structure button: the added row, the moved row, the
    group a row was removed from, the negated node."""
    verb, _sep, key = action.partition(":")
    if verb == "start":
        return f"{ROOT}-0"
    if not _KEY.match(key or ""):
        return ""
    parts = key.split("-")
    if verb.startswith("add-"):
        try:
            _p, _h, _i, node = _locate(tree, tuple(int(p) for p in parts[1:]))
        except LookupError:
            return ""
        kind = next((k for k in GROUP_KINDS if isinstance(node, dict) and k in node), None)
        return f"{key}-{len(node[kind]) - 1}" if kind else key
    if verb in ("up", "down") and len(parts) > 1:
        index = int(parts[-1]) + (-1 if verb == "up" else 1)
        return "-".join([*parts[:-1], str(max(index, 0))])
    if verb == "remove":
        return "-".join(parts[:-1]) or ROOT
    return key


def _normal(text: str) -> str:
    try:
        return json.dumps(condition_loads(text), sort_keys=True)
    except Exception:  # noqa: BLE001 - text that does not decode is compared as typed
        return text.strip()
