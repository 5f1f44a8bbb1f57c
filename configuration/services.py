"""Writes of the configuration area: trigger drafts saved, published (through the triggers'
versioning services: a new trigger at version 1, or the next version of the one edited),
discarded, or made from an old version (restored: publishing it makes a new version, history
is never rewritten). Personas are saved by accounts.services.persona_save."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Persona, Product
from orgs.models import User
from orgs.tenancy import org_context
from playbooks.models import PlaybookTemplate
from triggers.fields import validate_condition
from triggers.models import Trigger, TriggerVersion
from triggers.services import TRIGGER_VERSIONED_FIELDS, trigger_create, trigger_update

from .models import DRAFT_FIELDS, TriggerDraft

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


def trigger_draft_discard(*, draft: TriggerDraft, acting_user: User | None) -> None:
    with org_context(draft.organization_id), transaction.atomic():
        TriggerDraft.objects.filter(pk=draft.pk).delete()
    logger.info(
        "trigger draft discarded id=%s org=%s by=%s",
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
