"""Health writes, one module per concern:

- pipeline: the nightly scoring of one organization and day (runs, chunks, bulk score
  writes), queued chunk by chunk or in the foreground (backfills, the score_health command);
- chunks: the lease every nightly chunk (health's and triggers') works under, and the sweep
  of the open chunks whose message was lost or whose worker died;
- judgement: the CSM's judgement beside the score, and managers' resolutions of
  disagreements with the model;
- fitness: fitness and weight suggestions computed in the background, kept per model
  version and day;
- configuration: health models and their indicators created and changed, each change to
  what scores a new version of the model.

Callers import from here."""

from ..versions import indicator_key
from .chunks import (
    MAX_CHUNK_ATTEMPTS,
    SWEEP_WINDOW,
    chunk_begin,
    chunk_lock,
    chunks_sweep,
    lease_seconds,
    repair_record,
    run_is_live,
)
from .configuration import (
    HEALTH_MODEL_EDITABLE_FIELDS,
    HEALTH_MODEL_VERSIONED_FIELDS,
    INDICATOR_EDITABLE_FIELDS,
    INDICATOR_SETTINGS,
    IndicatorChanges,
    health_model_create,
    health_model_update,
    health_model_versions_record,
    indicator_save,
    indicators_delete,
)
from .fitness import fitness_snapshot_compute, fitness_snapshot_request
from .judgement import (
    JUDGEMENT_DAYS,
    can_judge,
    csm_judgement_set,
    disagreement_resolve,
)
from .pipeline import (
    ChunkTimings,
    NightRunning,
    compute_scores,
    health_chunk_process,
    health_run_finish,
    health_run_start,
    health_runs_sweep,
    health_score_day,
    health_scores_write,
    model_specs,
    score_inputs,
    usage_preload,
)

__all__ = [
    "HEALTH_MODEL_EDITABLE_FIELDS",
    "HEALTH_MODEL_VERSIONED_FIELDS",
    "INDICATOR_EDITABLE_FIELDS",
    "INDICATOR_SETTINGS",
    "JUDGEMENT_DAYS",
    "MAX_CHUNK_ATTEMPTS",
    "SWEEP_WINDOW",
    "ChunkTimings",
    "NightRunning",
    "IndicatorChanges",
    "chunk_begin",
    "chunk_lock",
    "chunks_sweep",
    "can_judge",
    "compute_scores",
    "csm_judgement_set",
    "disagreement_resolve",
    "fitness_snapshot_compute",
    "fitness_snapshot_request",
    "health_chunk_process",
    "health_model_create",
    "health_model_update",
    "health_model_versions_record",
    "health_run_finish",
    "health_run_start",
    "health_runs_sweep",
    "health_score_day",
    "health_scores_write",
    "indicator_key",
    "indicator_save",
    "indicators_delete",
    "lease_seconds",
    "model_specs",
    "repair_record",
    "run_is_live",
    "score_inputs",
    "usage_preload",
]
