"""The stage rules and activation as pure functions on a hand-built frame (no database)."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lifecycle import rules as r
from lifecycle.models import LifecycleSettings


def frame():
    """Five accounts, by hand:

    | id | days since 1st sub | days to renewal | activated | logins days 30d | products 30d |
    | 1  | 5                  | 300             | no        | 12              | 1            |
    | 2  | 40                 | 60              | no        | 3               | 0            |
    | 3  | 40                 | 200             | no        | 2               | 1            |
    | 4  | 400                | 200             | yes       | 0               | 0            |
    | 5  | (none)             | (none)          | no        | 0               | 0            |

    Defaults (onboarding < 30 days, renewal 0-90 days, adoption while not activated):
    1 onboarding (first rule wins; it also activates today: 12 >= 10 and 1 >= 1),
    2 renewal (60 <= 90; renewal is tried before adoption), 3 adoption, 4 ongoing,
    5 adoption (never activated, no subscription dates to put it anywhere else)."""
    return pd.DataFrame(
        {
            "days_since_first_subscription": [5.0, 40.0, 40.0, 400.0, np.nan],
            "days_to_renewal": [300.0, 60.0, 200.0, 200.0, np.nan],
            "activated_on": [None, None, None, dt.date(2024, 1, 1), None],
            "activated": [False, False, False, True, False],
            "usage.logins.active_days_30d": [12.0, 3.0, 2.0, 0.0, 0.0],
            "products_used_30d": [1.0, 0.0, 1.0, 0.0, 0.0],
            "lifecycle_stage": ["ongoing", "ongoing", "adoption", "ongoing", "ongoing"],
        },
        index=pd.Index([1, 2, 3, 4, 5], name="account_id"),
    )


def test_default_stages_first_rule_wins_else_ongoing():
    rules = r.rules_of(LifecycleSettings())
    f = frame()
    assert r.assign_stages(f, rules).tolist() == [
        "onboarding",
        "renewal",
        "adoption",
        "ongoing",
        "adoption",
    ]


def test_activation_is_the_first_day_met_only():
    """Account 1 meets the default activation; account 4 would not today but keeps its date."""
    rules = r.rules_of(LifecycleSettings())
    assert r.newly_activated(frame(), rules.activation).tolist() == [
        True,
        False,
        False,
        False,
        False,
    ]


def test_the_days_move_the_default_rules():
    """Onboarding for 60 days puts account 2 (40 days) and 3 in onboarding too; renewal
    within 30 days takes account 2 out of renewal, so 2 is onboarding either way."""
    rules = r.rules_of(LifecycleSettings(onboarding_days=60, renewal_days=30))
    assert r.assign_stages(frame(), rules).tolist()[:3] == ["onboarding"] * 3


def test_a_stored_rule_replaces_its_default_and_moves_show_from_and_to():
    settings = LifecycleSettings(
        rules={"adoption": {"field": "usage.logins.active_days_30d", "op": "<", "value": 3}}
    )
    f = frame()
    stages = r.assign_stages(f, r.rules_of(settings))
    # adoption is now "fewer than 3 login days": 3 (2 days), 4 and 5 (0 days, 4 although
    # activated); 1 and 2 are taken by the rules tried before it
    assert stages.tolist() == ["onboarding", "renewal", "adoption", "adoption", "adoption"]
    moves = r.stage_moves(f["lifecycle_stage"], stages)
    assert moves.to_dict("index") == {
        1: {"from_stage": "ongoing", "to_stage": "onboarding"},
        2: {"from_stage": "ongoing", "to_stage": "renewal"},
        4: {"from_stage": "ongoing", "to_stage": "adoption"},
        5: {"from_stage": "ongoing", "to_stage": "adoption"},
    }


def test_a_rule_outside_the_language_is_refused_naming_the_condition():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        r.validate_rule({"field": "no_such_field", "op": "=", "value": 1})
    assert "condition" in exc.value.message_dict
