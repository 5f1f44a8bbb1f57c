"""Triggers created and changed: validated like the admin's form, and a change to what fires
is a new version (each firing records the version that fired)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F

from orgs.models import User
from orgs.services import model_update
from orgs.tenancy import org_context

from ..models import Trigger

logger = logging.getLogger(__name__)

# What may change on a trigger (never its organization: its template, persona and product
# are that organization's).
TRIGGER_EDITABLE_FIELDS = (
    "name",
    "kind",
    "persona",
    "product",
    "condition",
    "schedule",
    "cooldown_days",
    "action",
    "template",
    "is_active",
)
# The fields that change what the trigger fires for or what a firing makes: who it may fire
# for (persona, product, cool-down), when it holds (condition, schedule), and what it opens
# (kind, action, template). A change to any of them is a new version, and each firing records
# the version that fired. A new name, or switching the trigger off and on, is not: the same
# rule fires the same way.
TRIGGER_VERSIONED_FIELDS = frozenset(
    {"kind", "persona", "product", "condition", "schedule", "cooldown_days", "action", "template"}
)


def trigger_create(*, trigger: Trigger, acting_user: User | None = None) -> Trigger:
    """Save a new trigger (built by the caller, a form) at version 1, once it validates
    (its condition against the catalogue, its template's kind): ValidationError otherwise."""
    with org_context(trigger.organization_id), transaction.atomic():
        trigger.version = 1
        trigger.full_clean()
        trigger.save()
    logger.info(
        "trigger created id=%s org=%s by=%s",
        trigger.pk,
        trigger.organization_id,
        getattr(acting_user, "pk", None),
    )
    return trigger


def trigger_update(
    *, trigger: Trigger, data: Mapping[str, Any], acting_user: User | None = None
) -> Trigger:
    """Change the trigger's fields in `data` (names of TRIGGER_EDITABLE_FIELDS); validates like
    trigger_create. A change to a field of TRIGGER_VERSIONED_FIELDS makes the next version;
    values equal to what is stored change nothing."""
    with org_context(trigger.organization_id), transaction.atomic():
        changed = model_update(instance=trigger, data=data, fields=TRIGGER_EDITABLE_FIELDS)
        if TRIGGER_VERSIONED_FIELDS.intersection(changed):
            Trigger.objects.filter(pk=trigger.pk).update(version=F("version") + 1)
        trigger.refresh_from_db(fields=["version"])
    if changed:
        logger.info(
            "trigger updated id=%s version=%s fields=%s by=%s",
            trigger.pk,
            trigger.version,
            ",".join(changed),
            getattr(acting_user, "pk", None),
        )
    return trigger
