"""The weekly per-CSM cap of new playbooks and alerts, as pure maths (no database).

A firing of a capped trigger is not materialized at once: it waits in the queue (Firing
`queue_state` "queued") and the night's release, one organization-wide step after the chunks,
turns the queue into playbooks and alerts as far as each owner's capacity this week allows.

- The cap: the organization's (WeeklyCap without a persona; no row: DEFAULT_WEEKLY_CAP; empty:
  no cap), or, for the triggers of a persona that has its own row, that persona's. A persona
  with its own row is its own budget (its own bucket); every other trigger shares the
  organization's bucket. So a CSM receives at most the organization's cap from those, plus at
  most each persona's own cap from that persona's triggers.
- Capacity: the cap minus the firings of the bucket delivered to the owner this week (Monday to
  the night's day): their playbook or alert was created that week, counted per owner of that
  playbook or alert, whichever trigger or night created it, capped or not.
- Order: retention before renewal, onboarding and custom, expansion last; then the lower
  health score on the night (unscored after scored); then the older firing; then the firing id.
- Owner: the account's owner when released (an account handed to another CSM moves to that
  CSM's queue); accounts without an owner share one queue capped like a CSM's, so the
  unassigned pile grows by at most the cap a week too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

DEFAULT_WEEKLY_CAP = 15
ORG_BUCKET = 0  # the bucket of triggers without a persona of their own cap

# The release order of kinds: lower first.
KIND_RANK = {"retention": 0, "renewal": 1, "onboarding": 2, "custom": 3, "expansion": 4}


def week_start(day: dt.date) -> dt.date:
    """The Monday of `day`'s week: capacity is counted from it."""
    return day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class Caps:
    """The caps in force: the organization's (None: no cap) and the personas with their own
    (persona id: cap, None: their triggers are not capped)."""

    organization: int | None = DEFAULT_WEEKLY_CAP
    personas: dict[int, int | None] = field(default_factory=dict)

    def bucket(self, persona_id: int | None) -> int:
        """The budget a trigger of `persona_id` draws on."""
        return persona_id if persona_id in self.personas else ORG_BUCKET

    def cap(self, bucket: int) -> int | None:
        return self.organization if bucket == ORG_BUCKET else self.personas.get(bucket)

    def caps_trigger(self, persona_id: int | None) -> bool:
        """Whether the firings of a trigger of `persona_id` wait for capacity."""
        return self.cap(self.bucket(persona_id)) is not None

    @property
    def any(self) -> bool:
        return self.organization is not None or any(v is not None for v in self.personas.values())


def remaining_capacity(*, owners: pd.DataFrame, used: pd.DataFrame, caps: Caps) -> pd.Series:
    """Per (owner_id, bucket) of `owners`, what the cap leaves this week: cap minus `used`
    (owner_id, bucket, n), never below 0; None-capped buckets get a very large number.
    Owner None is a key like any other (the accounts without an owner)."""
    keys = owners[["owner_id", "bucket"]].drop_duplicates()
    keys = keys.assign(owner_key=keys["owner_id"].fillna(-1).astype("int64"))
    used = used.assign(owner_key=used["owner_id"].fillna(-1).astype("int64"))
    merged = keys.merge(
        used[["owner_key", "bucket", "n"]], on=["owner_key", "bucket"], how="left"
    ).fillna({"n": 0})
    cap = merged["bucket"].map(lambda b: caps.cap(int(b)))
    unlimited = cap.isna()
    left = (cap.fillna(0) - merged["n"]).clip(lower=0)
    left[unlimited] = 2**62
    return pd.Series(
        left.astype("int64").to_numpy(),
        index=pd.MultiIndex.from_frame(merged[["owner_key", "bucket"]]),
    )


def release_plan(*, ranked: pd.DataFrame, used: pd.DataFrame, caps: Caps) -> pd.DataFrame:
    """The queued firings to release tonight: `ranked` has firing_id, owner_id, bucket and rn
    (1 = first in its owner's and bucket's queue, by the release order); a firing goes if its
    rank is within what the cap leaves its owner in its bucket this week. Returns the rows of
    `ranked` that go, in rank order."""
    if ranked.empty:
        return ranked
    left = remaining_capacity(owners=ranked, used=used, caps=caps)
    key = pd.MultiIndex.from_arrays(
        [ranked["owner_id"].fillna(-1).astype("int64"), ranked["bucket"].astype("int64")]
    )
    allowed = left.reindex(key).to_numpy()
    return ranked[ranked["rn"].to_numpy() <= allowed].sort_values(["owner_id", "bucket", "rn"])


def dry_run_split(
    *, would_fire: pd.DataFrame, used: pd.DataFrame, bucket: int, caps: Caps
) -> pd.DataFrame:
    """The dry run's per-CSM view of one trigger: `would_fire` has owner_id and count (its
    firings tonight per owner); `used` the week's deliveries (owner_id, bucket, n). Returns
    owner_id, count, this_week (already delivered in the trigger's bucket), receives (what the
    cap lets through tonight), held (what would wait in the queue) and week_total."""
    out = would_fire[["owner_id", "count"]].copy()
    out["bucket"] = bucket
    if out.empty:
        return out.assign(this_week=0, receives=0, held=0, week_total=0).drop(columns="bucket")
    left = remaining_capacity(owners=out, used=used, caps=caps)
    key = pd.MultiIndex.from_arrays(
        [out["owner_id"].fillna(-1).astype("int64"), out["bucket"].astype("int64")]
    )
    out["remaining"] = left.reindex(key).to_numpy()
    used_key = used.assign(owner_key=used["owner_id"].fillna(-1).astype("int64"))
    used_key = used_key[used_key["bucket"] == bucket].set_index("owner_key")["n"]
    out["this_week"] = (
        out["owner_id"].fillna(-1).astype("int64").map(used_key).fillna(0).astype("int64")
    )
    out["receives"] = out[["count", "remaining"]].min(axis=1).astype("int64")
    out["held"] = (out["count"] - out["receives"]).astype("int64")
    out["week_total"] = out["this_week"] + out["receives"]
    return out.drop(columns=["bucket", "remaining"])
