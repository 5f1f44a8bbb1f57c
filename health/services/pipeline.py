"""The nightly scoring pipeline (runs, chunks, bulk score writes). For one organization and
day:
1. `health_run_start` creates the HealthRun (unique per organization and day: a second start
   of the same night finds it and starts nothing new; a re-run of a day still running is
   refused with NightRunning, never re-planned under it) and its chunks (ranges of account
   ids), and queues one task per chunk once that transaction commits.
2. `health_chunk_process` scores one chunk: it counts the attempt and takes a lease first
   (committed on its own, so a chunk whose worker keeps dying is given up after
   MAX_CHUNK_ATTEMPTS; see chunks.py), then in one transaction locks the chunk (SKIP LOCKED: a
   duplicate delivery leaves), reads the measures with SQL aggregates, scores in pandas,
   upserts the day's scores and the accounts' latest-score columns, marks the chunk done and
   counts it on the run. The chunk that brings the count to the total finishes the run in
   that same transaction.
3. A finished chained run sends `health_run_completed` after commit, the hook later stages
   (triggers) listen to; they also find it by its row (DONE, chained), so a lost hand-off is
   picked up by the sweeper (`health_runs_sweep` here, the whole night in triggers).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from accounts.selectors import customer_on
from csplatform.celery import enqueue_on_commit
from csplatform.db.bulk import update_from_values, upsert
from orgs.models import Organization
from orgs.tenancy import org_context
from orgs.timezones import org_zone

from ..compact import Layout, array_text
from ..measures import MEASURES, MeasureContext, load_accounts
from ..models import HealthModel, HealthRun, HealthRunChunk, HealthScore, RunState, ScoreLayout
from ..scoring import ModelSpec, changes, score_frame
from ..signals import health_colours_changed, health_run_completed
from ..usage import DenseUsage
from ..versions import indicator_row, spec_from_rows
from .chunks import (
    MAX_CHUNK_ATTEMPTS,
    SWEEP_WINDOW,
    chunk_begin,
    chunk_lock,
    chunks_sweep,
    run_is_live,
)
from .chunks import repair_record as _repair_record

logger = logging.getLogger(__name__)


class NightRunning(Exception):
    """The day's run is still running: it is not re-planned under its workers."""

    def __init__(self, *, org: Organization, day: dt.date, stage: str, done: int, total: int):
        self.org, self.day, self.stage, self.done, self.total = org, day, stage, done, total
        super().__init__(
            f"the night of {day} for {org.slug} is running ({stage}: {done} of {total} chunks "
            "closed); it was not re-planned"
        )


def model_specs(
    *, replace: dict[int, ModelSpec] | None = None
) -> tuple[dict[int, ModelSpec], ModelSpec | None]:
    """The current organization's models: by persona id, and the default one. `replace`
    (model id -> spec) scores a model with another spec (a draft's preview) and assigns the
    accounts as the night would once that spec is published."""
    replace = replace or {}
    by_persona: dict[int, ModelSpec] = {}
    default = None
    for model in HealthModel.objects.prefetch_related("indicators"):
        spec = replace.get(model.pk) or spec_from_rows(
            model_id=model.pk,
            version=model.version,
            red_max=model.red_max,
            yellow_max=model.yellow_max,
            indicators=[indicator_row(i) for i in model.indicators.all()],
            known=MEASURES,
        )
        if not spec.indicators:
            continue
        if model.persona_id is None:
            default = spec
        else:
            by_persona[model.persona_id] = spec
    return by_persona, default


# -- computing a chunk ------------------------------------------------------------------


@dataclass
class ChunkTimings:
    read: float = 0.0
    compute: float = 0.0
    write: float = 0.0
    accounts: int = 0
    extra: dict = field(default_factory=dict)


@dataclass
class ScoreInputs:
    """What a chunk is scored from: each model's spec (by id), the model of each account, and
    the raw frame (index: account id; a column per indicator key of every spec used)."""

    specs: dict[int, ModelSpec]
    model_of: pd.Series
    raw: pd.DataFrame


def score_inputs(
    *,
    day: dt.date,
    first_id: int,
    last_id: int,
    tz: str,
    dense: DenseUsage | None = None,
    replace: dict[int, ModelSpec] | None = None,
    only_model: int | None = None,
    extra: tuple[ModelSpec, ...] = (),
) -> ScoreInputs | None:
    """The accounts with ids in [first_id, last_id] on `day` (organization in context), the
    model that scores each and their raw measures: the night's frame. `replace` scores a model
    with another spec (model_specs), `only_model` keeps the accounts of one model, `extra`
    specs have their indicators computed too (a preview's other side). None: nothing to score."""
    by_persona, default = model_specs(replace=replace)
    accounts = load_accounts(first_id=first_id, last_id=last_id, day=day)
    if accounts.empty or (default is None and not by_persona):
        return None
    specs = {spec.id: spec for spec in [default, *by_persona.values()] if spec is not None}
    persona_model = {persona: spec.id for persona, spec in by_persona.items()}
    default_id = default.id if default else np.nan
    model_of = accounts["persona_id"].map(persona_model).fillna(default_id)
    keep = model_of.notna() if only_model is None else model_of == only_model
    accounts = accounts[keep]
    model_of = model_of[keep].astype("int64")
    if accounts.empty:
        return None
    ctx = MeasureContext(day=day, accounts=accounts, tz=tz, dense=dense)
    used = [specs[m] for m in model_of.unique()]
    needed = {ind.key: ind for spec in [*used, *extra] for ind in spec.indicators}
    reads = [MEASURES[i.measure].usage_read(day, i.window, i.metric) for i in needed.values()]
    ctx.usage.prefetch([read for read in reads if read is not None])
    raw = pd.DataFrame(
        {
            key: MEASURES[ind.measure].compute(ctx, ind.window, ind.metric)
            for key, ind in needed.items()
        },
        index=accounts.index,
    )
    return ScoreInputs(specs=specs, model_of=model_of, raw=raw)


def compute_scores(
    *,
    day: dt.date,
    first_id: int,
    last_id: int,
    tz: str,
    timings: ChunkTimings | None = None,
    dense: DenseUsage | None = None,
) -> pd.DataFrame:
    """Score the accounts with ids in [first_id, last_id] on `day` (organization in context).

    Returns a frame indexed by account id: model_id, model_version, score, colour, layout
    (health.compact.Layout), raws and scores (a list per account, in the layout's order),
    change_7d, change_30d.
    """
    timings = timings or ChunkTimings()
    t0 = time.perf_counter()
    inputs = score_inputs(day=day, first_id=first_id, last_id=last_id, tz=tz, dense=dense)
    if inputs is None:
        return pd.DataFrame()
    raw, model_of = inputs.raw, inputs.model_of
    previous = _previous_scores(day=day, first_id=first_id, last_id=last_id)
    t1 = time.perf_counter()
    parts = []
    for model_id in model_of.unique():
        spec = inputs.specs[model_id]
        ids = model_of.index[model_of.to_numpy() == spec.id]
        scored = score_frame(raw.loc[ids], spec)
        scored["model_id"] = spec.id
        scored["model_version"] = spec.version
        layout = _layout(spec)
        scored["layout"] = [layout] * len(scored)
        scored["raws"] = _columns_as_rows(raw.loc[ids], [ind.key for ind in spec.indicators], 2)
        scored["scores"] = _columns_as_rows(scored, [f"s:{ind.key}" for ind in spec.indicators], 1)
        parts.append(
            scored[
                [
                    "model_id",
                    "model_version",
                    "score",
                    "colour",
                    "layout",
                    "raws",
                    "scores",
                ]
            ]
        )
    out = pd.concat(parts).sort_index()
    out["change_7d"] = changes(out["score"], previous.get(day - dt.timedelta(days=7)))
    out["change_30d"] = changes(out["score"], previous.get(day - dt.timedelta(days=30)))
    timings.read += t1 - t0
    timings.compute += time.perf_counter() - t1
    timings.accounts += len(out)
    return out


def _previous_scores(*, day, first_id, last_id) -> dict[dt.date, pd.Series]:
    wanted = [day - dt.timedelta(days=7), day - dt.timedelta(days=30)]
    rows = HealthScore.objects.filter(
        account_id__gte=first_id, account_id__lte=last_id, date__in=wanted
    ).values_list("date", "account_id", "score")
    frame = pd.DataFrame(list(rows), columns=["date", "account_id", "score"])
    out = {d: pd.Series(dtype="float64") for d in wanted}
    for d, group in frame.groupby("date"):
        out[d] = group.set_index("account_id")["score"].astype("float64")
    return out


def _round(values: np.ndarray, digits: int) -> list:
    # tolist() first: Python's round of a Python float, without a numpy scalar per value
    values = np.asarray(values, dtype="float64").tolist()
    return [None if v != v else round(v, digits) for v in values]


def _layout(spec: ModelSpec) -> Layout:
    return Layout(
        keys=tuple(ind.key for ind in spec.indicators),
        weights=tuple(float(ind.weight) for ind in spec.indicators),
    )


def _columns_as_rows(frame: pd.DataFrame, columns: list[str], digits: int) -> list[list]:
    """Each row's values of `columns`, rounded (None for NaN): a compact row's array."""
    if not columns:
        return [[] for _ in range(len(frame))]
    values = [_round(frame[c].to_numpy(), digits) for c in columns]
    return [list(row) for row in zip(*values, strict=True)]


def _layout_ids(*, org_id: int, layouts: list[Layout]) -> dict[str, int]:
    """The ids of the layouts (by digest), created where new (insert-if-absent)."""
    unique = {layout.digest: layout for layout in layouts}
    upsert(
        table=ScoreLayout._meta.db_table,
        columns=["organization_id", "keys", "weights", "digest"],
        rows=[
            [org_id, list(layout.keys), list(layout.weights), digest]
            for digest, layout in unique.items()
        ],
        conflict=["organization_id", "digest"],
        update=[],
    )
    return dict(
        ScoreLayout.all_objects.filter(organization_id=org_id, digest__in=list(unique)).values_list(
            "digest", "pk"
        )
    )


# A score row's columns besides its key (organization, account, date): what a re-run replaces.
_SCORE_VALUES = [
    "model_id",
    "model_version",
    "score",
    "colour",
    "breakdown",
    "missing",
    "layout_id",
    "raws",
    "scores",
]


def health_scores_write(*, org_id: int, day: dt.date, scores: pd.DataFrame) -> None:
    """Upsert the day's rows (re-running a day replaces them) and, where this day is the
    account's latest scored day and the account has not churned, its latest-score columns.
    Inside the caller's transaction."""
    if scores.empty:
        return
    ids = scores.index.to_numpy()
    score_values = _round(scores["score"].to_numpy(), 0)
    # compact: the arrays in their layout's order; the JSON columns left empty
    layouts = scores["layout"].tolist()
    layout_ids = _layout_ids(org_id=org_id, layouts=layouts)
    vendor = connection.vendor
    upsert(
        table=HealthScore._meta.db_table,
        columns=["organization_id", "account_id", "date", *_SCORE_VALUES],
        rows=zip(
            [org_id] * len(ids),
            ids.tolist(),
            [day] * len(ids),
            scores["model_id"].tolist(),
            scores["model_version"].tolist(),
            score_values,
            scores["colour"].tolist(),
            ["{}"] * len(ids),
            ["[]"] * len(ids),
            [layout_ids[layout.digest] for layout in layouts],
            [array_text(r, vendor) for r in scores["raws"].tolist()],
            [array_text(r, vendor) for r in scores["scores"].tolist()],
            strict=True,
        ),
        conflict=["account_id", "date"],
        update=_SCORE_VALUES,
    )
    changes = _colour_changes(org_id=org_id, day=day, ids=ids, scores=scores, values=score_values)
    update_from_values(
        table=Account._meta.db_table,
        key="id",
        columns=[
            ("health_score", "float8"),
            ("health_colour", "varchar"),
            ("health_change_7d", "float8"),
            ("health_change_30d", "float8"),
            ("health_scored_on", "date"),
        ],
        rows=zip(
            ids.tolist(),
            score_values,
            scores["colour"].tolist(),
            _round(scores["change_7d"].to_numpy(), 0),
            _round(scores["change_30d"].to_numpy(), 0),
            [day] * len(ids),
            strict=True,
        ),
        org_id=org_id,
        # a churned account shows no current health (its history stays in the scores)
        condition="(t.health_scored_on IS NULL OR t.health_scored_on <= v.health_scored_on)"
        " AND t.churned_at IS NULL AND t.lifecycle_stage <> 'churned'",
    )
    if changes:
        health_colours_changed.send(
            sender=HealthScore, organization_id=org_id, date=day, changes=changes
        )


def _colour_changes(*, org_id, day, ids, scores, values) -> list[tuple]:
    """The accounts whose current colour this day's scores change (the same rule as the
    latest-score columns' update: the day is their latest, and they have not churned), read
    only when a layer above listens (health_colours_changed)."""
    if not health_colours_changed.has_listeners(HealthScore):
        return []
    current = {
        pk: colour
        for pk, colour, scored_on, churned_at, stage in Account.all_objects.filter(
            organization_id=org_id, pk__in=ids.tolist()
        ).values_list("pk", "health_colour", "health_scored_on", "churned_at", "lifecycle_stage")
        if colour
        and (scored_on is None or scored_on <= day)
        and churned_at is None
        and stage != "churned"
    }
    return [
        (pk, current[pk], colour, score)
        for pk, colour, score in zip(ids.tolist(), scores["colour"].tolist(), values, strict=True)
        if pk in current and current[pk] != colour
    ]


# -- runs and chunks --------------------------------------------------------------------


def _chunk_bounds(ids: list[int], size: int) -> list[tuple[int, int]]:
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def health_run_start(
    *,
    org: Organization,
    day: dt.date,
    replace: bool = False,
    chunk_size: int | None = None,
    queue: bool = True,
) -> tuple[HealthRun, list[int]]:
    """Create the day's run and its chunks; returns (run, chunk ids planned now).

    A run that already exists is left alone (no chunk ids) unless `replace`, which re-plans it
    (backfills and re-runs: the chunks then replace the day's scores) once it is finished; a
    run still running raises NightRunning (re-planning it would hand its workers' chunks to
    another run and let the first go on to a half-scored day). With `queue`, one Celery task
    per chunk is sent once the transaction commits and the run is chained (owed its trigger
    stage when done); otherwise the caller runs them.
    """
    chunk_size = chunk_size or settings.HEALTH_CHUNK_SIZE
    with org_context(org), transaction.atomic():
        run, created = HealthRun.objects.get_or_create(organization=org, date=day)
        if not created:
            if not replace:
                return run, []
            # Checked before the chunks are locked too, so a refused re-run never holds a
            # running run's chunks (its workers would wait behind the locks).
            _refuse_if_live(run, org=org, day=day)
            # Lock order everywhere is chunk, then run: a chunk being scored holds its row
            # until it commits, and only then can it be re-planned.
            list(HealthRunChunk.objects.select_for_update().filter(run=run).values_list("pk"))
            run = HealthRun.objects.select_for_update().get(pk=run.pk)
            _refuse_if_live(run, org=org, day=day)
            HealthRunChunk.objects.filter(run=run).delete()
        ids = list(
            Account.objects.filter(customer_on(day)).order_by("pk").values_list("pk", flat=True)
        )
        now = timezone.now()
        chunks = HealthRunChunk.objects.bulk_create(
            [
                HealthRunChunk(
                    organization=org,
                    run=run,
                    index=i,
                    first_account_id=lo,
                    last_account_id=hi,
                    queued_at=now if queue else None,
                )
                for i, (lo, hi) in enumerate(_chunk_bounds(ids, chunk_size))
            ]
        )
        run.state = RunState.RUNNING
        run.chunks_total = len(chunks)
        run.chunks_done = run.chunks_failed = run.accounts_scored = 0
        run.finished_at = None
        run.chained = queue
        run.started_at = now
        run.save(
            update_fields=[
                "started_at",
                "state",
                "chunks_total",
                "chunks_done",
                "chunks_failed",
                "accounts_scored",
                "finished_at",
                "chained",
            ]
        )
        chunk_ids = [c.pk for c in chunks]
        if queue:
            for chunk_id in chunk_ids:
                enqueue_on_commit("health.score_chunk", chunk_id)
        if not chunk_ids:  # nobody to score: the run is done now
            _run_finish_locked(run, notify=queue)
    logger.info("health run planned org=%s day=%s chunks=%s", org.slug, day, len(chunk_ids))
    return run, chunk_ids


def _refuse_if_live(run: HealthRun, *, org: Organization, day: dt.date) -> None:
    if run_is_live(run, HealthRunChunk, now=timezone.now()):
        raise NightRunning(
            org=org,
            day=day,
            stage="scoring",
            done=run.chunks_done + run.chunks_failed,
            total=run.chunks_total,
        )


def health_chunk_process(
    *,
    chunk_id: int,
    timings: ChunkTimings | None = None,
    queue: bool = True,
    dense: DenseUsage | None = None,
) -> tuple[str, bool]:
    """Score one chunk; safe to deliver twice or after a worker died.

    Returns (state, last): `last` is True for the chunk that completed the run; with `queue`,
    that chunk also queues the next stage once its transaction commits (no chord).
    """
    # 1. Count the attempt and take the lease in its own transaction, so both survive a
    # crash during the work.
    chunk, status = chunk_begin(HealthRunChunk, chunk_id)
    if status != "started":  # closed (a duplicate delivery) or re-planned meanwhile
        return status, False
    if chunk.attempts > MAX_CHUNK_ATTEMPTS:
        logger.error("health chunk %s given up after %s attempts", chunk_id, chunk.attempts - 1)
        return _chunk_close(
            chunk_id=chunk_id,
            state=RunState.FAILED,
            error=f"given up after {chunk.attempts - 1} attempts",
            queue=queue,
        )
    # 2. The work, the chunk's completion and the run's count commit together; the chunk's
    # row stays locked meanwhile (the sweeper leaves a locked chunk alone).
    org = Organization.objects.get(pk=chunk.organization_id)
    run = HealthRun.all_objects.get(pk=chunk.run_id)
    with org_context(org), transaction.atomic():
        chunk, status = chunk_lock(HealthRunChunk, chunk_id)
        if chunk is None:  # a duplicate delivery finished it meanwhile
            return status, False
        scores = compute_scores(
            day=run.date,
            first_id=chunk.first_account_id,
            last_id=chunk.last_account_id,
            tz=org_zone(org).key,
            timings=timings,
            dense=dense,
        )
        t0 = time.perf_counter()
        health_scores_write(org_id=org.pk, day=run.date, scores=scores)
        if timings is not None:
            timings.write += time.perf_counter() - t0
        return _chunk_close(
            chunk_id=chunk_id, state=RunState.DONE, accounts=len(scores), queue=queue
        )


def _chunk_close(
    *, chunk_id: int, state: str, accounts: int = 0, error: str = "", queue: bool = True
) -> tuple[str, bool]:
    """Close the chunk and count it on the run; the chunk that completes the run finishes it
    in the same transaction (so no hand-off can be lost between them)."""
    with transaction.atomic():
        chunk = HealthRunChunk.all_objects.select_for_update().get(pk=chunk_id)
        if chunk.state != RunState.RUNNING:
            return chunk.state, False
        chunk.state = state
        chunk.accounts_scored = accounts
        chunk.error = error
        chunk.finished_at = timezone.now()
        chunk.save(update_fields=["state", "accounts_scored", "error", "finished_at"])
        run = HealthRun.all_objects.select_for_update().get(pk=chunk.run_id)
        if state == RunState.DONE:
            run.chunks_done = F("chunks_done") + 1
        else:
            run.chunks_failed = F("chunks_failed") + 1
        run.accounts_scored = F("accounts_scored") + accounts
        run.save(update_fields=["chunks_done", "chunks_failed", "accounts_scored"])
        run.refresh_from_db()
        last = run.chunks_done + run.chunks_failed == run.chunks_total
        if last:
            _run_finish_locked(run, notify=queue and run.chained)
    return state, last


def _run_finish_locked(run: HealthRun, *, notify: bool) -> None:
    """Mark the (locked, every chunk closed) run done or failed; with `notify`, send
    health_run_completed once the transaction commits."""
    run.state = RunState.FAILED if run.chunks_failed else RunState.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "finished_at"])
    org_id, day, state = run.organization_id, run.date, run.state
    if notify:
        transaction.on_commit(
            lambda: health_run_completed.send(
                sender=HealthRun, organization_id=org_id, date=day, state=state
            )
        )
    logger.info(
        "health run finished org=%s day=%s state=%s chunks=%s failed=%s",
        org_id,
        day,
        state,
        run.chunks_total,
        run.chunks_failed,
    )


def health_run_finish(*, run_id: int, notify: bool = True) -> HealthRun:
    """Mark the run done once every chunk is accounted for (the sweeper's repair; the last
    chunk does it itself); with `notify`, send health_run_completed after commit."""
    with transaction.atomic():
        run = HealthRun.all_objects.select_for_update().get(pk=run_id)
        if run.state != RunState.RUNNING or run.chunks_done + run.chunks_failed < run.chunks_total:
            return run
        _run_finish_locked(run, notify=notify)
    return run


def health_runs_sweep(*, older_than: int, now: dt.datetime | None = None) -> list[dict]:
    """The health half of the nightly sweep: re-send the chunks whose message was lost,
    re-queue (or give up) those whose worker died, and finish the runs whose chunks are all
    closed but that were left running. Returns what it did."""
    now = now or timezone.now()
    done = chunks_sweep(
        HealthRunChunk,
        task="health.score_chunk",
        close_failed=lambda chunk_id, error: _chunk_close(
            chunk_id=chunk_id, state=RunState.FAILED, error=error
        ),
        older_than=older_than,
        now=now,
    )
    stuck = HealthRun.all_objects.filter(
        state=RunState.RUNNING,
        started_at__gte=now - SWEEP_WINDOW,
        chunks_total__lte=F("chunks_done") + F("chunks_failed"),
    ).values_list("pk", flat=True)
    for run_id in list(stuck):
        run = health_run_finish(run_id=run_id, notify=True)
        detail = f"every chunk was closed but the run was still running: finished {run.state}"
        _repair_record(HealthRun, run_id=run_id, action="run_finished", detail=detail, now=now)
        logger.warning(
            "nightly sweep: health run org=%s day=%s %s", run.organization_id, run.date, detail
        )
        done.append(
            {
                "stage": "health",
                "action": "run_finished",
                "organization_id": run.organization_id,
                "date": run.date.isoformat(),
                "run": run_id,
                "detail": detail,
            }
        )
    return done


def health_score_day(
    *,
    org: Organization,
    day: dt.date,
    timings: ChunkTimings | None = None,
    dense: DenseUsage | None = None,
) -> HealthRun:
    """Score one day in this process, chunk after chunk (the command's and backfill's path);
    re-running a day replaces its scores (NightRunning while it is running). The caller runs
    any later stage itself, when the run is DONE."""
    run, chunk_ids = health_run_start(org=org, day=day, replace=True, queue=False)
    for chunk_id in chunk_ids:
        health_chunk_process(chunk_id=chunk_id, timings=timings, queue=False, dense=dense)
    run = health_run_finish(run_id=run.pk, notify=False)
    run.refresh_from_db()
    return run


def usage_preload(*, org: Organization, first_day: dt.date, last_day: dt.date) -> DenseUsage:
    """Usage of every account for scoring the days [first_day, last_day] (a backfill), with
    the look-back the longest window needs."""
    from ..measures import USAGE_TREND_BASELINE_DAYS

    with org_context(org):
        ids = Account.objects.values_list("pk", flat=True)
        return DenseUsage(
            account_ids=list(ids),
            first=first_day - dt.timedelta(days=USAGE_TREND_BASELINE_DAYS + 40),
            last=last_day,
        )
