"""The stage rules and activation, pure: the defaults built from an organization's days, and
from the evaluation frame (triggers.fields.load_frame) to each account's stage and to the
accounts that reach activation. Conditions are the one language's trees (conditions/),
validated against the trigger catalogue, never evaluated as code."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError

from accounts.models import LifecycleStage
from conditions import ConditionError, Node, fields_read, parse
from triggers.fields import TRIGGER_FIELDS

# The stages with a rule, in the order they are tried: the first that holds wins; an account
# none holds for is ongoing. Churned is not a rule: it is the account's churn (churned_at).
RULED_STAGES: tuple[str, ...] = (
    LifecycleStage.ONBOARDING,
    LifecycleStage.RENEWAL,
    LifecycleStage.ADOPTION,
)
FALLBACK_STAGE = LifecycleStage.ONGOING
RULE_KEYS = (*RULED_STAGES, "activation")


def default_rule(stage: str, *, onboarding_days: int, renewal_days: int) -> dict:
    """Onboarding: the first N days after the first subscription; renewal: within N days of
    the renewal date; adoption: until activation is reached."""
    if stage == LifecycleStage.ONBOARDING:
        return {"field": "days_since_first_subscription", "op": "<", "value": onboarding_days}
    if stage == LifecycleStage.RENEWAL:
        return {"field": "days_to_renewal", "op": "between", "value": [0, renewal_days]}
    if stage == LifecycleStage.ADOPTION:
        return {"field": "activated", "op": "=", "value": False}
    raise ValueError(stage)


DEFAULT_ACTIVATION = {
    "all": [
        {"field": "usage.logins.active_days_30d", "op": ">=", "value": 10},
        {"field": "products_used_30d", "op": ">=", "value": 1},
    ]
}


def validate_rule(tree) -> Node:
    """A stage rule or activation condition: a non-empty tree over the trigger catalogue (the
    same parse the triggers get); ValidationError naming `condition` and the place."""
    if not tree:
        raise ValidationError({"condition": "the condition is empty"})
    try:
        return parse(tree, TRIGGER_FIELDS)
    except ConditionError as exc:
        raise ValidationError({"condition": f"{exc.path}: {exc.message}"}) from exc


@dataclass(frozen=True)
class Rules:
    """An organization's rules, parsed: (stage, node) in order, and activation."""

    stages: tuple[tuple[str, Node], ...]
    activation: Node

    def fields(self) -> set[str]:
        out = set(fields_read(self.activation))
        for _stage, node in self.stages:
            out |= set(fields_read(node))
        return out


def effective_trees(settings) -> dict[str, dict]:
    """Each rule's tree as it runs: the stored one, or the default."""
    days = {"onboarding_days": settings.onboarding_days, "renewal_days": settings.renewal_days}
    trees = {s: (settings.rules or {}).get(s) or default_rule(s, **days) for s in RULED_STAGES}
    trees["activation"] = settings.activation or DEFAULT_ACTIVATION
    return trees


def rules_of(settings) -> Rules:
    trees = effective_trees(settings)
    return Rules(
        stages=tuple((s, validate_rule(trees[s])) for s in RULED_STAGES),
        activation=validate_rule(trees["activation"]),
    )


def newly_activated(frame: pd.DataFrame, activation: Node) -> pd.Series:
    """Accounts that meet the activation condition and have no activation date yet (the date
    stored is the first day it was met, kept afterwards whatever the usage does)."""
    met = activation.to_mask(frame)
    return met & frame["activated_on"].isna()


def assign_stages(frame: pd.DataFrame, rules: Rules) -> pd.Series:
    """Each account's stage: the first ruled stage whose condition holds, else ongoing.
    Vectorized (one mask per rule, numpy.select), so a portfolio costs a handful of passes."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="object")
    masks = [node.to_mask(frame).to_numpy(dtype=bool) for _stage, node in rules.stages]
    stages = [str(stage) for stage, _node in rules.stages]
    out = np.select(masks, stages, default=str(FALLBACK_STAGE))
    return pd.Series(out, index=frame.index, dtype="object")


def stage_moves(current: pd.Series, new: pd.Series) -> pd.DataFrame:
    """The accounts whose stage changes: columns from_stage, to_stage, indexed by account."""
    changed = current.astype("object") != new
    return pd.DataFrame({"from_stage": current[changed], "to_stage": new[changed]})
