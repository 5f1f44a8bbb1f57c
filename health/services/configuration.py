"""Health models and their indicators created and changed: validated like the admin's forms,
and a change to what scores is a new version of the model (each score records the version
that made it)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Subquery

from orgs.models import User
from orgs.services import field_value, model_update
from orgs.tenancy import org_context

from ..models import HealthModel, HealthModelVersion, Indicator
from ..versions import INDICATOR_SNAPSHOT_FIELDS, model_snapshot, snapshot_changes

logger = logging.getLogger(__name__)

# What may change on a model (never its organization: its persona is that organization's).
HEALTH_MODEL_EDITABLE_FIELDS = ("name", "persona", "red_max", "yellow_max", "description")
# The model's fields that change a score: which accounts it scores (persona) and where its
# colour bands end. A new name or description is the same model. Every field of an indicator
# changes scores, so any indicator added, changed or deleted makes a new version too.
HEALTH_MODEL_VERSIONED_FIELDS = frozenset({"persona", "red_max", "yellow_max"})
# What an indicator sets (its model's page edits these inline), and what may change on it.
INDICATOR_SETTINGS = INDICATOR_SNAPSHOT_FIELDS
INDICATOR_EDITABLE_FIELDS = ("model", *INDICATOR_SETTINGS)


@dataclass(frozen=True)
class IndicatorChanges:
    """Indicators written together with their model (the admin page's inline rows): rows to
    save (new, or changed on the instance) and rows to delete."""

    saved: Sequence[Indicator] = ()
    deleted: Sequence[Indicator] = ()


def _models_next_version(model_ids: Collection[int], *, acting_user: User | None = None) -> None:
    """A new version of each model, recorded on every score it makes from now on, and its
    immutable record (HealthModelVersion: the snapshot, what changed since the version
    before, who), written in the caller's transaction."""
    ids = list(model_ids)
    HealthModel.objects.filter(pk__in=ids).update(version=F("version") + 1)
    health_model_versions_record(model_ids=ids, acting_user=acting_user)


def health_model_versions_record(
    *, model_ids: Collection[int], acting_user: User | None = None
) -> None:
    """Record the current version of each model (a new model's first, a version made
    elsewhere): a few queries for any number of models. In the caller's transaction."""
    models = list(HealthModel.objects.filter(pk__in=list(model_ids)).prefetch_related("indicators"))
    # each model's newest recorded version (a subquery: the demo's SQLite has no DISTINCT ON)
    newest = (
        HealthModelVersion.objects.filter(model=OuterRef("model"))
        .order_by("-version")
        .values("version")[:1]
    )
    previous = {
        v.model_id: v.snapshot
        for v in HealthModelVersion.objects.filter(model__in=models, version=Subquery(newest))
    }
    rows = []
    for model in models:
        snapshot = model_snapshot(model, model.indicators.all())
        rows.append(
            HealthModelVersion(
                organization_id=model.organization_id,
                model=model,
                version=model.version,
                snapshot=snapshot,
                changes=snapshot_changes(previous.get(model.pk), snapshot),
                created_by=acting_user,
            )
        )
    HealthModelVersion.objects.bulk_create(rows)


def _indicator_key(indicator: Indicator) -> tuple:
    """What a model holds once (indicator_unique_measure_per_model)."""
    return (indicator.measure, indicator.window_days, indicator.metric)


def _indicators_write(*, model: HealthModel, changes: IndicatorChanges) -> bool:
    """Delete and save `model`'s indicators in a fixed number of queries; whether any row
    really changed (a saved row equal to the stored one is not written). Each row is
    validated, and the set too (a measure, window and metric once per model):
    ValidationError, and nothing is written."""
    deleted = [i.pk for i in changes.deleted if i.pk is not None]
    stored = Indicator.objects.select_for_update().filter(model=model).in_bulk()
    to_create, to_update = [], []
    for indicator in changes.saved:
        indicator.model = model
        indicator.organization_id = model.organization_id
        before = stored.get(indicator.pk)
        if before is not None and all(
            field_value(before, name) == field_value(indicator, name)
            for name in INDICATOR_EDITABLE_FIELDS
        ):
            continue
        # the model and organization were just set; the set's uniqueness is checked below
        indicator.full_clean(exclude=["model", "organization"], validate_constraints=False)
        (to_update if before is not None else to_create).append(indicator)
    kept = [i for pk, i in stored.items() if pk not in deleted]
    final = {i.pk: i for i in kept} | {i.pk: i for i in to_update}
    keys = [_indicator_key(i) for i in [*final.values(), *to_create]]
    if len(keys) != len(set(keys)):
        raise ValidationError(
            {"measure": "this model already has an indicator of that measure, window and metric"}
        )
    if deleted:
        Indicator.objects.filter(model=model, pk__in=deleted).delete()
    Indicator.objects.bulk_update(to_update, fields=list(INDICATOR_EDITABLE_FIELDS))
    Indicator.objects.bulk_create(to_create)
    return bool(deleted or to_update or to_create)


def health_model_create(
    *, model: HealthModel, indicators: Sequence[Indicator] = (), acting_user: User | None = None
) -> HealthModel:
    """Save a new model (built by the caller, a form) and its indicators at version 1, once
    they validate (bands in order, known measures, valid thresholds): ValidationError
    otherwise, and nothing is written."""
    with org_context(model.organization_id), transaction.atomic():
        model.version = 1
        model.full_clean()
        model.save()
        _indicators_write(model=model, changes=IndicatorChanges(saved=indicators))
        health_model_versions_record(model_ids=[model.pk], acting_user=acting_user)
    logger.info(
        "health model created id=%s org=%s indicators=%s by=%s",
        model.pk,
        model.organization_id,
        len(indicators),
        getattr(acting_user, "pk", None),
    )
    return model


def health_model_update(
    *,
    model: HealthModel,
    data: Mapping[str, Any],
    indicators: IndicatorChanges = IndicatorChanges(),
    acting_user: User | None = None,
) -> HealthModel:
    """Change the model's fields in `data` (names of HEALTH_MODEL_EDITABLE_FIELDS) and its
    indicators, in one transaction: one new version when a field that changes scores
    (HEALTH_MODEL_VERSIONED_FIELDS) or any indicator changed, however many did. Validates
    like health_model_create; what equals the stored rows changes nothing."""
    with org_context(model.organization_id), transaction.atomic():
        changed = model_update(instance=model, data=data, fields=HEALTH_MODEL_EDITABLE_FIELDS)
        rescored = _indicators_write(model=model, changes=indicators)
        if rescored or HEALTH_MODEL_VERSIONED_FIELDS.intersection(changed):
            _models_next_version([model.pk], acting_user=acting_user)
        model.refresh_from_db(fields=["version"])
    logger.info(
        "health model updated id=%s version=%s fields=%s indicators=%s by=%s",
        model.pk,
        model.version,
        ",".join(changed),
        "changed" if rescored else "unchanged",
        getattr(acting_user, "pk", None),
    )
    return model


def indicator_save(*, indicator: Indicator, acting_user: User | None = None) -> Indicator:
    """Save one indicator on its own (new or changed): a new version of its model, and of the
    model it left if it moved to another. Unchanged, nothing is written."""
    with org_context(indicator.organization_id), transaction.atomic():
        before = (
            Indicator.objects.select_for_update().filter(pk=indicator.pk).first()
            if indicator.pk is not None
            else None
        )
        if before is not None and all(
            field_value(before, name) == field_value(indicator, name)
            for name in INDICATOR_EDITABLE_FIELDS
        ):
            return indicator
        indicator.full_clean()
        indicator.save()
        _models_next_version(
            {indicator.model_id, getattr(before, "model_id", indicator.model_id)},
            acting_user=acting_user,
        )
    logger.info(
        "indicator saved id=%s model=%s by=%s",
        indicator.pk,
        indicator.model_id,
        getattr(acting_user, "pk", None),
    )
    return indicator


def indicators_delete(*, indicators: Sequence[Indicator], acting_user: User | None = None) -> int:
    """Delete indicators: a new version of each model that lost one. Returns how many were
    deleted (a superuser's selection may span organizations: each is deleted in its own)."""
    by_org: dict[int, list[int]] = defaultdict(list)
    for indicator in indicators:
        by_org[indicator.organization_id].append(indicator.pk)
    deleted = 0
    with transaction.atomic():
        for org_id, ids in by_org.items():
            with org_context(org_id):
                rows = Indicator.objects.filter(pk__in=ids)
                model_ids = set(rows.values_list("model_id", flat=True))
                deleted += rows.delete()[0]
                _models_next_version(model_ids, acting_user=acting_user)
            logger.info(
                "indicators deleted org=%s count=%s models=%s by=%s",
                org_id,
                len(ids),
                sorted(model_ids),
                getattr(acting_user, "pk", None),
            )
    return deleted
