"""Trigger writes, one module per stage of a trigger's life:

- evaluation: evaluate the triggers set-based, record what fired (exactly once per trigger,
  account and period) and turn each firing into its playbook or alert;
- alerts: the CSM confirms (the playbook starts) or dismisses an alert; a churn closes them;
- monthly: day 1's retention triggers and the forecast (its maths: triggers/forecast.py);
- configuration: triggers created and changed, each change to what fires a new version;
- nightly: the chain after scoring (fan out over chunks, count them, queue what follows),
  the night's problems, and the whole chain in the foreground;
- caps: the weekly per-CSM cap's settings, and the night's release of its queue;
- sweep: the nightly sweeper, which sends or does what the runs' rows say is owed and lost.

Callers import from here."""

from .alerts import (
    alert_confirm,
    alert_dismiss,
    alerts_close_for_churn,
    alerts_handover,
    alerts_handover_member,
)
from .caps import Release, firings_release, weekly_cap_clear, weekly_cap_set
from .configuration import (
    TRIGGER_EDITABLE_FIELDS,
    TRIGGER_SNAPSHOT_FIELDS,
    TRIGGER_VERSIONED_FIELDS,
    trigger_create,
    trigger_pause,
    trigger_snapshot,
    trigger_update,
    trigger_versions_record_initial,
)
from .evaluation import (
    TriggerStats,
    alerts_raise_for_firings,
    firings_materialize,
    period_of,
    playbooks_open_for_firings,
    triggers_evaluate,
)
from .monthly import retention_forecast_compute, triggers_run_monthly
from .nightly import (
    nightly_run_inline,
    problems_notify_admins,
    problems_record,
    trigger_chunk_close,
    trigger_run_chunk,
    trigger_run_digest,
    trigger_run_monthly,
    trigger_run_start,
)
from .sweep import nightly_sweep, scheduled_night

__all__ = [
    "Release",
    "firings_release",
    "weekly_cap_clear",
    "weekly_cap_set",
    "TRIGGER_EDITABLE_FIELDS",
    "TRIGGER_SNAPSHOT_FIELDS",
    "TRIGGER_VERSIONED_FIELDS",
    "TriggerStats",
    "alert_confirm",
    "alert_dismiss",
    "alerts_close_for_churn",
    "alerts_handover",
    "alerts_handover_member",
    "alerts_raise_for_firings",
    "firings_materialize",
    "nightly_run_inline",
    "nightly_sweep",
    "period_of",
    "playbooks_open_for_firings",
    "problems_notify_admins",
    "problems_record",
    "retention_forecast_compute",
    "scheduled_night",
    "trigger_chunk_close",
    "trigger_run_chunk",
    "trigger_run_digest",
    "trigger_run_monthly",
    "trigger_create",
    "trigger_pause",
    "trigger_snapshot",
    "trigger_run_start",
    "trigger_update",
    "trigger_versions_record_initial",
    "triggers_evaluate",
    "triggers_run_monthly",
]
