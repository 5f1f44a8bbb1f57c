"""Health writes, one module per concern:

- pipeline: the nightly scoring of one organization and day (runs, chunks, bulk score
  writes), queued chunk by chunk or in the foreground (backfills, the score_health command);
- configuration: health models and their indicators created and changed, each change to
  what scores a new version of the model.

Callers import from here."""

from .configuration import (
    HEALTH_MODEL_EDITABLE_FIELDS,
    HEALTH_MODEL_VERSIONED_FIELDS,
    INDICATOR_EDITABLE_FIELDS,
    INDICATOR_SETTINGS,
    IndicatorChanges,
    health_model_create,
    health_model_update,
    indicator_save,
    indicators_delete,
)
from .pipeline import (
    MAX_CHUNK_ATTEMPTS,
    ChunkTimings,
    compute_scores,
    health_chunk_process,
    health_run_finish,
    health_run_start,
    health_score_day,
    health_scores_write,
    indicator_key,
    model_specs,
    usage_preload,
)

__all__ = [
    "HEALTH_MODEL_EDITABLE_FIELDS",
    "HEALTH_MODEL_VERSIONED_FIELDS",
    "INDICATOR_EDITABLE_FIELDS",
    "INDICATOR_SETTINGS",
    "MAX_CHUNK_ATTEMPTS",
    "ChunkTimings",
    "IndicatorChanges",
    "compute_scores",
    "health_chunk_process",
    "health_model_create",
    "health_model_update",
    "health_run_finish",
    "health_run_start",
    "health_score_day",
    "health_scores_write",
    "indicator_key",
    "indicator_save",
    "indicators_delete",
    "model_specs",
    "usage_preload",
]
