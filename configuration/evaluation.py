"""The dry run ("if it ran tonight") and the backtest of a trigger, published or a draft.
Both read through the night's own pieces: the same frame (triggers.fields.load_frame), the
same scope (triggers.conditions.trigger_scope), the same evaluation and evidence
(triggers.conditions.evaluate, evidence_texts) and the same cool-downs
(triggers.selectors.accounts_cooling_down), so they cannot disagree with it. Reads only:
nothing here writes a row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from django.conf import settings
from django.db.models import Max

from accounts.models import Account, MrrMovement, MrrMovementKind
from health.models import HealthScore
from orgs.models import User
from triggers.caps import dry_run_split
from triggers.conditions import (
    compile_condition,
    evaluate,
    evidence_texts,
    frame_fields,
    trigger_scope,
)
from triggers.fields import USAGE_WINDOWS, frames_read_ahead, load_frame
from triggers.models import Schedule, Trigger
from triggers.selectors import (
    accounts_cooling_down,
    caps_in_force,
    firings_delivered_in_week,
    firings_queued_count,
)

from . import selectors
from .backtest import HORIZON_DAYS, Backtest, backtest_figures

PAGE_SIZE = 25
# Beyond one account in MANY_FIRE_SHARE of the frame firing, the shown columns are read for
# the whole frame (one scan) rather than for the firing accounts by id.
MANY_FIRE_SHARE = 4
BACKTEST_DEFAULT_DAYS = 180
BACKTEST_MAX_DAYS = 730
BACKTEST_STEP_DAYS = 7


def longest_usage_window() -> int:
    return max(USAGE_WINDOWS)


def backtest_max_days() -> int:
    """The longest backtest: BACKTEST_MAX_DAYS, or less when raw daily usage is kept for fewer
    days (USAGE_RAW_RETENTION_DAYS): the oldest replayed day's usage fields read up to the
    longest usage window before it, and those days must still be raw."""
    kept = settings.USAGE_RAW_RETENTION_DAYS
    if not kept:
        return BACKTEST_MAX_DAYS
    return max(7, min(BACKTEST_MAX_DAYS, kept - longest_usage_window()))


def dry_run_day(today: dt.date) -> dt.date:
    """The day a dry run evaluates: the latest day with health scores (tonight's frame is
    that day's until tonight's scoring), else today."""
    latest = HealthScore.objects.filter(date__lte=today).aggregate(d=Max("date"))["d"]
    return latest or today


@dataclass
class DryRun:
    day: dt.date
    in_scope: int
    matched: int
    held_back: int
    accounts: pd.DataFrame  # the accounts that would fire: name, owner_id, ... by account_id
    # {"owner_id", "owner", "count", "this_week", "receives", "held", "week_total"}
    per_owner: list[dict] = field(default_factory=list)
    action: str = ""
    cap: int | None = None  # the weekly cap per CSM of the trigger's firings (None: no cap)
    held_by_cap: int = 0  # of would_fire, what would wait in the queue
    waiting: int = 0  # the trigger's firings already waiting in the queue

    @property
    def would_fire(self) -> int:
        return len(self.accounts)

    @property
    def would_create(self) -> int:
        return self.would_fire - self.held_by_cap

    def as_dict(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "in_scope": self.in_scope,
            "matched": self.matched,
            "held_back_by_cooldown": self.held_back,
            "would_fire": self.would_fire,
            "cap_per_csm": self.cap,
            "held_back_by_cap": self.held_by_cap,
            "would_create": self.would_create,
            "waiting_in_queue": self.waiting,
            "action": self.action,
            "per_csm": self.per_owner,
        }


def _owner_names(ids) -> dict[int, str]:
    users = User.objects.filter(pk__in=[i for i in ids if i is not None])
    return {u.pk: u.get_full_name() or u.username for u in users}


def _accounts_shown(
    frame: pd.DataFrame, fire: pd.Series, *, day: dt.date, persona_id: int | None
) -> pd.DataFrame:
    """Name, owner and MRR of the accounts that would fire, by account id. Read for those
    accounts only (the frame the condition is evaluated on carries only the columns it reads,
    which at 100,000 accounts halves its read); when they are most of the frame, the frame's
    own columns are read for all at once instead."""
    ids = frame.index[fire.to_numpy()]
    if len(ids) * MANY_FIRE_SHARE <= len(frame):
        return selectors.accounts_shown(ids=ids)
    shown = list(selectors.DRY_RUN_SHOWN)
    whole = load_frame(day=day, fields=set(shown), persona_id=persona_id)
    return whole.loc[ids, shown]


def trigger_dry_run(*, trigger: Trigger, day: dt.date, week_of: dt.date | None = None) -> DryRun:
    """What the trigger would fire on `day` as the night would evaluate it: how many
    accounts are in its scope, how many its condition holds for, how many its cool-downs hold
    back, which would fire (with their evidence computed on demand: `dry_run_evidence`) and
    how many each CSM would receive: under the weekly cap, what they already received in the
    week of `week_of` (default `day`), what tonight would add and what would wait in the queue
    (at most: the queue of other triggers competes for the same capacity, retention first).
    ConditionError for a condition that does not validate."""
    node = compile_condition(trigger.condition)
    # the night's frame with the columns the trigger reads, only for the trigger's persona
    frame = load_frame(day=day, fields=frame_fields(trigger, node), persona_id=trigger.persona_id)
    if frame.empty:
        none = pd.DataFrame(columns=list(selectors.DRY_RUN_SHOWN), index=frame.index)
        return DryRun(day, 0, 0, 0, none, action=trigger.action)
    scope = trigger_scope(trigger, frame)
    mask, _evidence = evaluate(node, frame, within=scope)
    held = pd.Series(False, index=frame.index)
    if trigger.pk is not None:
        blocked = accounts_cooling_down(triggers=[trigger], day=day).get(trigger.pk)
        if blocked is not None:
            held = mask & frame.index.isin(blocked)
    fire = mask & ~held
    accounts = _accounts_shown(frame, fire, day=day, persona_id=trigger.persona_id)
    if "health_score" in frame:
        accounts["health_score"] = frame.loc[fire, "health_score"]
    counts = accounts.groupby(accounts["owner_id"].fillna(0).astype(int)).size()
    names = _owner_names(counts.index.tolist())
    caps = caps_in_force()
    bucket = caps.bucket(trigger.persona_id)
    capped = trigger.schedule == Schedule.NIGHTLY and caps.caps_trigger(trigger.persona_id)
    split = dry_run_split(
        would_fire=pd.DataFrame(
            {"owner_id": [int(k) or None for k in counts.index], "count": counts.to_numpy()}
        ),
        used=firings_delivered_in_week(day=week_of or day, caps=caps),
        bucket=bucket,
        caps=caps if capped else type(caps)(organization=None, personas={}),
    )
    per_owner = sorted(
        (
            {
                "owner_id": None if pd.isna(r["owner_id"]) else int(r["owner_id"]),
                "owner": names.get(0 if pd.isna(r["owner_id"]) else int(r["owner_id"]), ""),
                **{k: int(r[k]) for k in ("count", "this_week", "receives", "held", "week_total")},
            }
            for r in split.to_dict("records")
        ),
        key=lambda r: (-r["count"], r["owner"]),
    )
    out = DryRun(
        day=day,
        in_scope=int(scope.sum()),
        matched=int(mask.sum()),
        held_back=int(held.sum()),
        accounts=accounts.sort_values("name", kind="stable"),
        per_owner=per_owner,
        action=trigger.action,
        cap=caps.cap(bucket) if capped else None,
        held_by_cap=sum(r["held"] for r in per_owner),
        waiting=firings_queued_count(trigger=trigger) if trigger.pk is not None else 0,
    )
    out._node, out._frame = node, frame  # for the evidence of a page or the CSV
    return out


def dry_run_evidence(run: DryRun, account_ids: list[int]) -> dict[int, str]:
    """The evidence texts (as the firing would record them) of these accounts of the run."""
    if not account_ids or not hasattr(run, "_frame"):
        return {}
    frame = run._frame
    mask = pd.Series(frame.index.isin(account_ids), index=frame.index)
    return evidence_texts(run._node, frame, mask).to_dict()


def backtest_days(*, today: dt.date, days: int, step: int = BACKTEST_STEP_DAYS) -> list[dt.date]:
    """The replayed days: one every `step` days back from `today`, over `days`, oldest first."""
    return sorted(today - dt.timedelta(days=i) for i in range(0, days + 1, step))


def trigger_backtest(
    *, trigger: Trigger, today: dt.date, days: int = BACKTEST_DEFAULT_DAYS
) -> Backtest:
    """Replay the trigger over the stored history, one day a week over `days`: the same frame
    as the night on each day (load_frame, its account-side families read once for all the
    days: triggers.fields.frames_read_ahead), its own cool-down between replayed firings
    (open playbooks are not replayed), then backtest.backtest_figures."""
    node = compile_condition(trigger.condition)
    needed = frame_fields(trigger, node)
    replayed = backtest_days(today=today, days=days)
    # the accounts, subscriptions and unpaid invoices of every replayed day in one read each
    ahead = frames_read_ahead(days=replayed, fields=needed, persona_id=trigger.persona_id)
    hits, population = [], []
    for day in replayed:
        frame = load_frame(day=day, fields=needed, persona_id=trigger.persona_id, read_ahead=ahead)
        if frame.empty:
            continue
        scope = trigger_scope(trigger, frame)
        mask, _ = evaluate(node, frame, within=scope)
        population.append(pd.DataFrame({"day": day, "account_id": frame.index[scope.to_numpy()]}))
        hits.append(pd.DataFrame({"day": day, "account_id": frame.index[mask.to_numpy()]}))
    empty = pd.DataFrame({"day": [], "account_id": []})
    hits_df = pd.concat(hits, ignore_index=True) if hits else empty
    population_df = pd.concat(population, ignore_index=True) if population else empty
    first = replayed[0]
    last_outcome = today
    churned = pd.Series(
        dict(
            Account.objects.filter(churned_at__gt=first, churned_at__lte=last_outcome).values_list(
                "pk", "churned_at"
            )
        ),
        dtype="object",
    )
    expansions = pd.DataFrame(
        list(
            MrrMovement.objects.filter(
                kind=MrrMovementKind.EXPANSION,
                date__gt=first,
                date__lte=min(last_outcome, replayed[-1] + dt.timedelta(days=HORIZON_DAYS)),
            )
            .values_list("account_id", "date")
            .distinct()
        ),
        columns=["account_id", "date"],
    )
    return backtest_figures(
        days=replayed,
        hits=hits_df,
        population=population_df,
        cooldown_days=trigger.cooldown_days,
        churned_on=churned,
        expansions=expansions,
        today=today,
    )
