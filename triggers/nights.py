"""What a night's rows say, as one summary (no queries: the selector loads the rows, this
reads them): the state of each stage of the nightly chain, the chunks done, failed and late,
the attempts, the last error, the durations and what the sweeper did. The status command, the
operations page, the admins' banner and the sweeper's notifications all read it."""

from __future__ import annotations

import datetime as dt

from health.models import RunState

# The night's states, worst first (the banner shows a night whose state is in TROUBLE).
FAILED, LATE, RUNNING, NOT_STARTED, DONE = "failed", "late", "running", "not started", "done"
TROUBLE = (FAILED, LATE)


def _chunk_counts(chunks: list, *, now: dt.datetime, older_than: int) -> dict:
    lost_before = now - dt.timedelta(seconds=older_than)
    counts = {"total": len(chunks), "done": 0, "failed": 0, "running": 0, "late": 0}
    for c in chunks:
        if c.state == RunState.DONE:
            counts["done"] += 1
        elif c.state == RunState.FAILED:
            counts["failed"] += 1
        else:
            counts["running"] += 1
            if c.started_at is None:
                queued = c.queued_at or c.run.started_at
                late = queued is not None and queued < lost_before
            else:
                late = c.lease_expires_at is not None and c.lease_expires_at < now
            counts["late"] += int(late)
    return counts


def _seconds(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> int | None:
    if start is None:
        return None
    return int(((end or now) - start).total_seconds())


def _stage(run, chunks: list, *, name: str, now: dt.datetime, older_than: int) -> dict:
    counts = _chunk_counts(chunks, now=now, older_than=older_than)
    errors = [c for c in chunks if c.error]
    last_error = max(errors, key=lambda c: c.finished_at or now).error if errors else ""
    return {
        "stage": name,
        "state": run.state,
        "chained": run.chained,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "seconds": _seconds(run.started_at, run.finished_at, now),
        "chunks": counts,
        "attempts": sum(c.attempts for c in chunks),
        "max_attempts": max((c.attempts for c in chunks), default=0),
        "last_error": last_error,
    }


def night_summary(
    *,
    health_run,
    health_chunks: list,
    trigger_run,
    trigger_chunks: list,
    now: dt.datetime,
    older_than: int,
    late_seconds: int,
) -> dict:
    """The night of one organization and day (see the module). Owed stages (the trigger
    stage of a DONE chained scoring run, the digest and monthly run of a finished chained
    trigger run) count as running until done: late once owed for longer than `older_than`."""
    if health_run is None:
        return {"state": NOT_STARTED, "stages": [], "sweeper": [], "seconds": None}
    for c in health_chunks:
        c.run = health_run
    for c in trigger_chunks:
        c.run = trigger_run
    stages = [_stage(health_run, health_chunks, name="scoring", now=now, older_than=older_than)]
    owed_since: list[dt.datetime] = []  # when each stage still owed became owed
    if trigger_run is not None:
        stage = _stage(trigger_run, trigger_chunks, name="triggers", now=now, older_than=older_than)
        stage["fired"] = trigger_run.fired
        stage["problems"] = len(trigger_run.problems)
        stages.append(stage)
        finished = trigger_run.finished_at
        chained = trigger_run.chained
        for name, done_at, owed in (
            ("digest", trigger_run.digest_done_at, chained),
            ("monthly", trigger_run.monthly_done_at, chained and trigger_run.date.day == 1),
        ):
            if not owed:
                continue
            if done_at is not None:
                state = RunState.DONE
            elif finished is not None:
                state = "owed"
                owed_since.append(finished)
            else:
                state = "waiting"
            stages.append(
                {
                    "stage": name,
                    "state": state,
                    "finished_at": done_at.isoformat() if done_at else None,
                    "seconds": _seconds(finished, done_at, now) if finished else None,
                }
            )
    elif health_run.chained and health_run.state == RunState.DONE:
        stages.append({"stage": "triggers", "state": "owed", "finished_at": None})
        owed_since.append(health_run.finished_at or now)
    repairs = sorted(
        [{**r, "stage": "scoring"} for r in health_run.repairs]
        + [{**r, "stage": "triggers"} for r in (trigger_run.repairs if trigger_run else [])],
        key=lambda r: r["at"],
    )
    # a chunk given up fails its run once the others are closed: the night is failed already
    failed = any(s["state"] == RunState.FAILED or s.get("chunks", {}).get("failed") for s in stages)
    running = [s for s in stages[:2] if s["state"] == RunState.RUNNING]
    lost_before = now - dt.timedelta(seconds=older_than)
    if failed:
        state = FAILED
    elif running or owed_since:
        late_before = now - dt.timedelta(seconds=late_seconds)
        late = (
            any(s["chunks"]["late"] for s in running)
            or any(since < lost_before for since in owed_since)
            or (bool(running) and health_run.started_at < late_before)
        )
        state = LATE if late else RUNNING
    else:
        state = DONE
    ends = [dt.datetime.fromisoformat(s["finished_at"]) for s in stages if s.get("finished_at")]
    finished_at = max(ends) if state == DONE and ends else None
    return {
        "state": state,
        "stages": stages,
        "sweeper": repairs,
        "seconds": _seconds(health_run.started_at, finished_at, now) if finished_at else None,
        "health_run_id": health_run.pk,
    }
