"""Writes of the health model editor: a draft of a model started (from the live model, from a
suggestion's weights, from an old version restored), saved, published through
health_model_update (a new immutable version, recorded in the same transaction) and
discarded. Analysts and admins draft; only admins publish (the views say who may call)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from health.models import HealthModel, HealthModelVersion, Indicator
from health.services import IndicatorChanges, health_model_update
from health.versions import INDICATOR_SNAPSHOT_FIELDS, indicator_key, indicator_row
from orgs.models import User
from orgs.tenancy import org_context

from .models import HealthModelDraft

logger = logging.getLogger(__name__)

MAX_INDICATORS = 20
DRAFT_MODEL_FIELDS = ("name", "description", "red_max", "yellow_max")


def row_key(row: Mapping[str, Any]) -> str:
    return indicator_key(row["measure"], row.get("window_days"), row.get("metric") or "")


def indicator_rows_validate(rows: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The rows as a draft stores them, each validated as a published indicator would be
    (a known measure, a window it takes, thresholds in the direction's order, a positive
    weight), once per measure, window and metric, at least one. ValidationError naming the
    row and the field otherwise."""
    if not rows:
        raise ValidationError({"indicators": _("A model needs at least one indicator.")})
    if len(rows) > MAX_INDICATORS:
        raise ValidationError(
            {"indicators": _("At most %(n)d indicators.") % {"n": MAX_INDICATORS}}
        )
    clean, seen, errors = [], {}, []
    for number, row in enumerate(rows, start=1):
        values = {name: row.get(name) for name in INDICATOR_SNAPSHOT_FIELDS}
        values["metric"] = values["metric"] or ""
        candidate = Indicator(**values)
        try:
            candidate.clean_fields(exclude=["model", "organization"])
            candidate.clean()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.append(
                    _("Indicator %(n)d, %(field)s: %(error)s")
                    % {"n": number, "field": field, "error": "; ".join(messages)}
                )
            continue
        out = indicator_row(candidate)
        out["id"] = row.get("id")
        key = row_key(out)
        if key in seen:
            errors.append(
                _("Indicator %(n)d repeats indicator %(m)d (the same measure, window and metric).")
                % {"n": number, "m": seen[key]}
            )
        seen[key] = number
        clean.append(out)
    if errors:
        raise ValidationError({"indicators": errors})
    return clean


def _bands_validate(red_max: int, yellow_max: int) -> None:
    HealthModel(red_max=red_max, yellow_max=yellow_max).clean()


def health_model_draft_from_model(*, model: HealthModel) -> HealthModelDraft:
    """An unsaved draft holding the live model's values (the editor's start)."""
    return HealthModelDraft(
        organization_id=model.organization_id,
        model=model,
        base_version=model.version,
        indicators=[indicator_row(i) for i in model.indicators.all()],
        **{name: getattr(model, name) for name in DRAFT_MODEL_FIELDS},
    )


def health_model_draft_save(
    *,
    draft: HealthModelDraft,
    indicators: Sequence[Mapping[str, Any]],
    acting_user: User | None,
) -> HealthModelDraft:
    """Save the draft (new or not) with `indicators`, once they and the bands validate
    (ValidationError naming `indicators`, `red_max` or `yellow_max`). The night never reads
    drafts: saving one changes no score."""
    with org_context(draft.organization_id), transaction.atomic():
        draft.indicators = indicator_rows_validate(indicators)
        _bands_validate(draft.red_max, draft.yellow_max)
        if draft.pk is None:
            draft.created_by = acting_user
        draft.updated_by = acting_user
        draft.full_clean(exclude=["indicators"])
        draft.save()
    logger.info(
        "health model draft saved id=%s model=%s org=%s by=%s",
        draft.pk,
        draft.model_id,
        draft.organization_id,
        getattr(acting_user, "pk", None),
    )
    return draft


def _draft_for(*, model: HealthModel) -> HealthModelDraft:
    """The model's draft, locked, or a new one from the live model."""
    existing = HealthModelDraft.objects.select_for_update().filter(model=model).first()
    return existing or health_model_draft_from_model(model=model)


def health_model_draft_use_weights(
    *, model: HealthModel, weights: Mapping[str, float], acting_user: User | None, origin: str
) -> HealthModelDraft:
    """A draft of `model` with `weights` (by indicator key, e.g. a suggestion's) on its
    indicators: the model's draft if there is one, else a new one from the live model. The
    live model never changes. Keys the draft does not hold are ignored; ValidationError if a
    weight is not positive."""
    with org_context(model.organization_id), transaction.atomic():
        draft = _draft_for(model=model)
        rows = [dict(r) for r in draft.indicators]
        for row in rows:
            weight = weights.get(row_key(row))
            if weight is not None:
                row["weight"] = float(weight)
        draft.origin = origin
        return health_model_draft_save(draft=draft, indicators=rows, acting_user=acting_user)


def health_model_draft_restore(
    *, version: HealthModelVersion, acting_user: User | None
) -> HealthModelDraft:
    """A draft holding an old version's model and indicators (replacing the model's draft's
    content if it has one). Indicators still published are matched by measure, window and
    metric, so publishing it edits them rather than replacing them. Nothing live changes."""
    model = version.model
    with org_context(model.organization_id), transaction.atomic():
        draft = _draft_for(model=model)
        snap = version.snapshot
        live = {row_key(indicator_row(i)): i.pk for i in model.indicators.all()}
        rows = [{**r, "id": live.get(row_key(r))} for r in snap.get("indicators", [])]
        for name in DRAFT_MODEL_FIELDS:
            if name in snap:
                setattr(draft, name, snap[name])
        draft.base_version = model.version
        draft.origin = _("restored from version %(v)d") % {"v": version.version}
        return health_model_draft_save(draft=draft, indicators=rows, acting_user=acting_user)


def health_model_draft_publish(*, draft: HealthModelDraft, acting_user: User | None) -> HealthModel:
    """Make the draft the model: its fields and indicators through health_model_update (one
    new version when what scores changed, its HealthModelVersion written in the same
    transaction), then the draft is deleted. Draft rows edit the published indicator they came
    from (by id, else by measure, window and metric); published indicators the draft no
    longer holds are deleted."""
    with org_context(draft.organization_id), transaction.atomic():
        draft = HealthModelDraft.objects.select_for_update().get(pk=draft.pk)
        model = HealthModel.objects.select_for_update().get(pk=draft.model_id)
        rows = indicator_rows_validate(draft.indicators)
        stored = {i.pk: i for i in model.indicators.all()}
        by_key = {row_key(indicator_row(i)): i for i in stored.values()}
        saved, used = [], set()
        for row in rows:
            indicator = stored.get(row.get("id")) or by_key.get(row_key(row))
            if indicator is None or indicator.pk in used:
                indicator = Indicator(organization_id=model.organization_id, model=model)
            else:
                used.add(indicator.pk)
            for name in INDICATOR_SNAPSHOT_FIELDS:
                setattr(indicator, name, row[name])
            saved.append(indicator)
        deleted = [i for pk, i in stored.items() if pk not in used]
        model = health_model_update(
            model=model,
            data={name: getattr(draft, name) for name in DRAFT_MODEL_FIELDS},
            indicators=IndicatorChanges(saved=saved, deleted=deleted),
            acting_user=acting_user,
        )
        draft.delete()
    logger.info(
        "health model draft published model=%s version=%s org=%s by=%s",
        model.pk,
        model.version,
        model.organization_id,
        getattr(acting_user, "pk", None),
    )
    return model
