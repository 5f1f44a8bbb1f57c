"""Writes of the configuration area: trigger drafts saved, published (through the triggers'
versioning services: a new trigger at version 1, or the next version of the one edited),
discarded, or made from an old version (restored: publishing it makes a new version, history
is never rewritten). Personas the same way: a draft saved, published (accounts.services.
persona_save, which refreshes membership at once, and an immutable PersonaVersion), discarded
or made from an old version."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account, Persona, Product
from accounts.personas import validate_persona_rules
from accounts.services import PersonaAssignment, persona_save
from orgs.models import User
from orgs.tenancy import org_context
from playbooks.models import PlaybookTemplate
from triggers.fields import validate_condition
from triggers.models import Trigger, TriggerVersion
from triggers.services import TRIGGER_VERSIONED_FIELDS, trigger_create, trigger_update

from .models import (
    DRAFT_FIELDS,
    PERSONA_SNAPSHOT_FIELDS,
    Draft,
    PersonaDraft,
    PersonaVersion,
    TriggerDraft,
    persona_snapshot,
)

logger = logging.getLogger(__name__)


def trigger_draft_from_trigger(*, trigger: Trigger) -> TriggerDraft:
    """An unsaved draft holding the published trigger's values (the edit form's start)."""
    return TriggerDraft(
        organization_id=trigger.organization_id,
        trigger=trigger,
        **{name: getattr(trigger, name) for name in DRAFT_FIELDS},
    )


def trigger_draft_save(
    *, draft: TriggerDraft, condition: Any, acting_user: User | None
) -> TriggerDraft:
    """Save the draft (new or not) with `condition`, once the condition validates against the
    trigger catalogue (ValidationError naming `condition` otherwise). The night never reads
    drafts: saving one changes no firing."""
    with org_context(draft.organization_id), transaction.atomic():
        validate_condition(condition)
        draft.condition = condition
        if draft.pk is None:
            draft.created_by = acting_user
        draft.updated_by = acting_user
        draft.full_clean()
        draft.save()
    logger.info(
        "trigger draft saved id=%s trigger=%s org=%s by=%s",
        draft.pk,
        draft.trigger_id,
        draft.organization_id,
        getattr(acting_user, "pk", None),
    )
    return draft


def trigger_draft_to_trigger(*, draft: TriggerDraft) -> Trigger:
    """An unsaved Trigger with the draft's values, for the dry run and the backtest: its pk is
    the published trigger's (whose cool-downs the draft would inherit), None for a new one.
    Never saved."""
    return Trigger(
        pk=draft.trigger_id,
        organization_id=draft.organization_id,
        is_active=True,
        version=0,
        **draft.fields(),
    )


def trigger_draft_publish(*, draft: TriggerDraft, acting_user: User | None) -> Trigger:
    """Make the draft the trigger: trigger_create for a new one (version 1), trigger_update
    for an edit (a new version when what fires changes); the draft is then deleted. Validates
    as those services do (ValidationError: a name taken, a template of another kind)."""
    with org_context(draft.organization_id), transaction.atomic():
        draft = TriggerDraft.objects.select_for_update().get(pk=draft.pk)
        if draft.trigger_id is None:
            trigger = trigger_create(
                trigger=Trigger(
                    organization_id=draft.organization_id, is_active=True, **draft.fields()
                ),
                acting_user=acting_user,
            )
        else:
            trigger = trigger_update(
                trigger=Trigger.objects.select_for_update().get(pk=draft.trigger_id),
                data=draft.fields(),
                acting_user=acting_user,
            )
        draft.delete()
    logger.info(
        "trigger draft published trigger=%s version=%s org=%s by=%s",
        trigger.pk,
        trigger.version,
        trigger.organization_id,
        getattr(acting_user, "pk", None),
    )
    return trigger


def draft_discard(*, draft: Draft, acting_user: User | None) -> None:
    """Delete a draft (of a trigger, a persona or a health model): nothing published moves."""
    with org_context(draft.organization_id), transaction.atomic():
        type(draft).objects.filter(pk=draft.pk).delete()
    logger.info(
        "%s discarded id=%s org=%s by=%s",
        type(draft).__name__,
        draft.pk,
        draft.organization_id,
        getattr(acting_user, "pk", None),
    )


_RELATIONS = {"persona": Persona, "product": Product, "template": PlaybookTemplate}


def trigger_draft_from_version(
    *, version: TriggerVersion, acting_user: User | None
) -> TriggerDraft:
    """A new draft of the version's trigger holding that version's fields (what fired; the
    trigger keeps its current name). Publishing it makes the next version. ValidationError
    when the trigger already has a draft (publish or discard it first), or when a persona,
    product or template the version named is gone, or its condition no longer validates."""
    with org_context(version.organization_id), transaction.atomic():
        trigger = Trigger.objects.select_for_update().get(pk=version.trigger_id)
        if TriggerDraft.objects.filter(trigger=trigger).exists():
            raise ValidationError(
                _("“%(name)s” already has a draft: publish or discard it first.")
                % {"name": trigger.name}
            )
        values = {name: getattr(trigger, name) for name in DRAFT_FIELDS}
        for name in TRIGGER_VERSIONED_FIELDS:
            stored = version.fields.get(name)
            model = _RELATIONS.get(name)
            if model is None:
                values[name] = stored
            elif stored is None:
                values[name] = None
            else:
                # the tenant manager: only this organization's rows
                values[name] = model.objects.filter(pk=stored).first()
                if values[name] is None:
                    raise ValidationError(
                        {
                            name: _("Version %(v)s names a %(field)s that no longer exists.")
                            % {"v": version.version, "field": name}
                        }
                    )
        try:
            validate_condition(values["condition"])
        except ValidationError as exc:
            raise ValidationError(
                {
                    "condition": _("Version %(v)s's condition no longer validates: %(error)s")
                    % {"v": version.version, "error": " ".join(exc.messages)}
                }
            ) from None
        draft = TriggerDraft(
            organization_id=version.organization_id,
            trigger=trigger,
            created_by=acting_user,
            updated_by=acting_user,
            **values,
        )
        draft.full_clean()
        draft.save()
    logger.info(
        "trigger draft restored from version trigger=%s version=%s draft=%s org=%s by=%s",
        version.trigger_id,
        version.version,
        draft.pk,
        version.organization_id,
        getattr(acting_user, "pk", None),
    )
    return draft


# -- personas ---------------------------------------------------------------------------

_PERSONA_OWN_FIELDS = tuple(n for n in PERSONA_SNAPSHOT_FIELDS if n != "hand_picked")


def persona_draft_from_persona(*, persona: Persona) -> PersonaDraft:
    """An unsaved draft holding the published persona's values (the edit form's start; its
    hand-picked accounts are the form's initial ticks)."""
    return PersonaDraft(
        organization_id=persona.organization_id,
        persona=persona,
        **{name: getattr(persona, name) for name in _PERSONA_OWN_FIELDS},
    )


def persona_draft_save(
    *, draft: PersonaDraft, rules: Any, hand_picked: list[Account], acting_user: User | None
) -> PersonaDraft:
    """Save the draft (new or not) with `rules` (validated against the account catalogue:
    ValidationError naming `rules`) and its hand-picked accounts. Changes no membership."""
    with org_context(draft.organization_id), transaction.atomic():
        draft.rules = rules or {}
        validate_persona_rules(draft.rules)
        if draft.pk is None:
            draft.created_by = acting_user
        draft.updated_by = acting_user
        draft.full_clean()
        draft.save()
        draft.hand_picked.set(hand_picked)
    logger.info(
        "persona draft saved id=%s persona=%s org=%s by=%s",
        draft.pk,
        draft.persona_id,
        draft.organization_id,
        getattr(acting_user, "pk", None),
    )
    return draft


def persona_version_record(
    *, persona: Persona, acting_user: User | None, members: int = 0
) -> PersonaVersion | None:
    """Record the persona's saved state as its next version (its caller holds the
    transaction): None when it equals the latest version (nothing to record)."""
    fields = persona_snapshot(persona=persona)
    latest = PersonaVersion.objects.filter(persona=persona).order_by("-version").first()
    if latest is not None and latest.fields == fields:
        return None
    changed = (
        []
        if latest is None
        else sorted(n for n in PERSONA_SNAPSHOT_FIELDS if latest.fields.get(n) != fields[n])
    )
    return PersonaVersion.objects.create(
        organization_id=persona.organization_id,
        persona=persona,
        version=(latest.version + 1) if latest else 1,
        fields=fields,
        changed=changed,
        members=members,
        created_by=acting_user,
    )


def persona_draft_publish(
    *, draft: PersonaDraft, acting_user: User | None
) -> tuple[Persona, PersonaVersion | None, PersonaAssignment]:
    """Make the draft the persona (a new one, or the one it edits): saved through
    persona_save, which refreshes every account's persona now (not at night); its next
    version recorded (what changed, who, how many members); the draft deleted; all in one
    transaction. ValidationError as the persona's own (a slug taken, rules that fail)."""
    with org_context(draft.organization_id), transaction.atomic():
        draft = PersonaDraft.objects.select_for_update().get(pk=draft.pk)
        if draft.persona_id is None:
            persona = Persona(organization_id=draft.organization_id)
        else:
            persona = Persona.objects.select_for_update().get(pk=draft.persona_id)
            if not PersonaVersion.objects.filter(persona=persona).exists():
                # saved before versions (the demo's seed, the Django admin): what it was
                # becomes version 1, so the history shows what this publish changed
                persona_version_record(
                    persona=persona,
                    acting_user=None,
                    members=Account.objects.filter(persona=persona).count(),
                )
        for name in _PERSONA_OWN_FIELDS:
            setattr(persona, name, getattr(draft, name))
        assigned = persona_save(
            persona=persona, hand_picked=list(draft.hand_picked.all()), acting_user=acting_user
        )
        version = persona_version_record(
            persona=persona,
            acting_user=acting_user,
            members=assigned.counts.get(persona.slug, 0),
        )
        draft.delete()
    logger.info(
        "persona draft published persona=%s version=%s org=%s by=%s",
        persona.pk,
        getattr(version, "version", None),
        persona.organization_id,
        getattr(acting_user, "pk", None),
    )
    return persona, version, assigned


def persona_draft_from_version(
    *, version: PersonaVersion, acting_user: User | None
) -> PersonaDraft:
    """A new draft of the version's persona with that version's rules, order and hand-picked
    accounts (those still in the organization; the persona keeps its current name and slug).
    ValidationError when the persona already has a draft."""
    with org_context(version.organization_id), transaction.atomic():
        persona = Persona.objects.select_for_update().get(pk=version.persona_id)
        if PersonaDraft.objects.filter(persona=persona).exists():
            raise ValidationError(
                _("“%(name)s” already has a draft: publish or discard it first.")
                % {"name": persona.name}
            )
        draft = persona_draft_from_persona(persona=persona)
        for name in ("description", "priority", "rules"):
            setattr(draft, name, version.fields.get(name, getattr(draft, name)))
        picked = list(Account.objects.filter(pk__in=version.fields.get("hand_picked") or []))
        draft = persona_draft_save(
            draft=draft, rules=draft.rules, hand_picked=picked, acting_user=acting_user
        )
    return draft
