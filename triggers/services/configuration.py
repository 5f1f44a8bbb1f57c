"""Triggers created and changed: validated like the admin's form, and a change to what fires
is a new version (each firing records the version that fired), recorded once as an immutable
TriggerVersion in the same transaction; pausing and resuming (not a version) recorded as a
TriggerSwitch."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F

from orgs.models import User
from orgs.services import model_update
from orgs.tenancy import org_context

from ..models import Trigger, TriggerSwitch, TriggerVersion

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


# What a version row keeps of the trigger: the versioned fields and the name it had then
# (relations by id). Restoring a version hands these back to a draft.
TRIGGER_SNAPSHOT_FIELDS = ("name", *sorted(TRIGGER_VERSIONED_FIELDS))


def trigger_snapshot(trigger: Trigger) -> dict[str, Any]:
    """The trigger's TRIGGER_SNAPSHOT_FIELDS as JSON data: relations as their ids."""
    out: dict[str, Any] = {}
    for name in TRIGGER_SNAPSHOT_FIELDS:
        field = Trigger._meta.get_field(name)
        out[name] = getattr(trigger, field.attname)
    return out


def _version_record(
    *, trigger: Trigger, acting_user: User | None, changed: list[str] | None = None
) -> TriggerVersion:
    """Write the row of the trigger's current version (its caller holds the transaction):
    `changed` against the previous version's snapshot when there is one, else as given."""
    fields = trigger_snapshot(trigger)
    previous = (
        TriggerVersion.objects.filter(trigger=trigger, version__lt=trigger.version)
        .order_by("-version")
        .first()
    )
    if previous is not None:
        changed = [n for n in TRIGGER_SNAPSHOT_FIELDS if previous.fields.get(n) != fields[n]]
    return TriggerVersion.objects.create(
        organization_id=trigger.organization_id,
        trigger=trigger,
        version=trigger.version,
        fields=fields,
        changed=sorted(changed or []),
        created_by=acting_user,
    )


def trigger_versions_record_initial(*, triggers: list[Trigger]) -> int:
    """Version rows for triggers saved without these services (the demo's bulk insert): each
    one's current state as its current version, where no row has it yet. Returns how many."""
    have = set(
        TriggerVersion.all_objects.filter(trigger__in=triggers).values_list("trigger_id", "version")
    )
    rows = [
        TriggerVersion(
            organization_id=t.organization_id,
            trigger_id=t.pk,
            version=t.version,
            fields=trigger_snapshot(t),
        )
        for t in triggers
        if (t.pk, t.version) not in have
    ]
    TriggerVersion.all_objects.bulk_create(rows)
    return len(rows)


def trigger_create(*, trigger: Trigger, acting_user: User | None = None) -> Trigger:
    """Save a new trigger (built by the caller, a form) at version 1, once it validates
    (its condition against the catalogue, its template's kind): ValidationError otherwise."""
    with org_context(trigger.organization_id), transaction.atomic():
        trigger.version = 1
        trigger.full_clean()
        trigger.save()
        _version_record(trigger=trigger, acting_user=acting_user)
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
    values equal to what is stored change nothing. The new version is recorded (its snapshot,
    what changed, who) in the same transaction; a change of is_active is recorded as a
    TriggerSwitch."""
    with org_context(trigger.organization_id), transaction.atomic():
        changed = model_update(instance=trigger, data=data, fields=TRIGGER_EDITABLE_FIELDS)
        if TRIGGER_VERSIONED_FIELDS.intersection(changed):
            Trigger.objects.filter(pk=trigger.pk).update(version=F("version") + 1)
        trigger.refresh_from_db(fields=["version"])
        if TRIGGER_VERSIONED_FIELDS.intersection(changed):
            _version_record(
                trigger=trigger,
                acting_user=acting_user,
                changed=[n for n in changed if n in TRIGGER_SNAPSHOT_FIELDS],
            )
        if "is_active" in changed:
            TriggerSwitch.objects.create(
                organization_id=trigger.organization_id,
                trigger=trigger,
                is_active=trigger.is_active,
                created_by=acting_user,
            )
    if changed:
        logger.info(
            "trigger updated id=%s version=%s fields=%s by=%s",
            trigger.pk,
            trigger.version,
            ",".join(changed),
            getattr(acting_user, "pk", None),
        )
    return trigger


def trigger_pause(*, trigger: Trigger, paused: bool, acting_user: User | None) -> Trigger:
    """Pause (`paused`) or resume the trigger: is_active, not a new version; who and when are
    recorded (TriggerSwitch) and logged. Pausing a paused trigger changes nothing."""
    trigger = trigger_update(
        trigger=trigger, data={"is_active": not paused}, acting_user=acting_user
    )
    logger.info(
        "trigger %s id=%s org=%s by=%s",
        "paused" if paused else "resumed",
        trigger.pk,
        trigger.organization_id,
        getattr(acting_user, "pk", None),
    )
    return trigger
