"""The health model editor's preview: over today's accounts of the organization, each account
the model scores, scored by the live model and by the draft. Both sides go through the night's
own frame (health.services.score_inputs) and its pure scoring function
(health.scoring.score_frame), so the preview cannot disagree with what the night writes once
the draft is published. Reads only; nothing is written.

`preview_figures` is pure: the distribution before and after, the colour matrix, the counts.

Reading the measures of every account a model scores is most of the cost (seconds at 100,000
accounts), and an editing session changes weights, thresholds and bands far more often than
which measures are read: the frame of raw measures is kept in the cache for FRAME_SECONDS per
organization, model, day and set of indicators, so those edits re-score from it in
milliseconds. A new measure or window reads afresh."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db.models import Max, Min
from django.utils import timezone

from accounts.models import Account
from health.measures import MEASURES
from health.scoring import score_frame
from health.services import model_specs, score_inputs
from health.versions import spec_from_rows
from orgs.tenancy import org_context
from orgs.timezones import org_zone

from .models import HealthModelDraft

COLOURS = ("red", "yellow", "green", "none")
FRAME_SECONDS = 600
# 0-10, 11-20, ... 91-100: the whole numbers a score can be, in ten bins
BIN_EDGES = [-0.5, 10.5, 20.5, 30.5, 40.5, 50.5, 60.5, 70.5, 80.5, 90.5, 100.5]
BIN_LABELS = [
    "0-10",
    "11-20",
    "21-30",
    "31-40",
    "41-50",
    "51-60",
    "61-70",
    "71-80",
    "81-90",
    "91-100",
]


@dataclass
class HealthPreview:
    day: dt.date
    # index: account id; before, before_colour, after, after_colour
    accounts: pd.DataFrame
    figures: dict
    read_at: dt.datetime | None = None  # when the raw measures were read


def preview_frame_key(org_id: int, model_id: int, day: dt.date, specs) -> str:
    keys = sorted({ind.key for spec in specs for ind in spec.indicators})
    digest = hashlib.sha1("|".join(keys).encode()).hexdigest()[:16]
    return f"health-preview:{org_id}:{model_id}:{day.isoformat()}:{digest}"


def preview_figures(frame: pd.DataFrame) -> dict:
    """From a frame of before, before_colour, after, after_colour per account: the count of
    accounts, how many change colour, the mean score on each side (None without scores), the
    number of accounts per ten-point bin on each side (no data left out), and the matrix
    {from colour: {to colour: count}} over COLOURS."""

    def bins(values: pd.Series) -> list[int]:
        cut = pd.cut(values.dropna(), BIN_EDGES, labels=BIN_LABELS)
        return [int(n) for n in cut.value_counts().reindex(BIN_LABELS, fill_value=0)]

    def mean(values: pd.Series):
        return None if values.dropna().empty else round(float(values.mean()), 1)

    pairs = frame.groupby(["before_colour", "after_colour"]).size()
    matrix = {a: {b: int(pairs.get((a, b), 0)) for b in COLOURS} for a in COLOURS}
    return {
        "accounts": len(frame),
        "changed": int((frame["before_colour"] != frame["after_colour"]).sum()),
        "mean_before": mean(frame["before"]),
        "mean_after": mean(frame["after"]),
        "bins": BIN_LABELS,
        "before_bins": bins(frame["before"]),
        "after_bins": bins(frame["after"]),
        "matrix": matrix,
    }


def draft_spec(draft: HealthModelDraft):
    """The spec the draft would score with once published (the model's next version)."""
    return spec_from_rows(
        model_id=draft.model_id,
        version=draft.model.version + 1,
        red_max=draft.red_max,
        yellow_max=draft.yellow_max,
        indicators=draft.indicators,
        known=MEASURES,
    )


def health_model_preview(*, draft: HealthModelDraft, day: dt.date) -> HealthPreview:
    """Every account of the organization the draft's model would score on `day`, scored by
    the live model (before: no data where the live model has no indicator) and by the draft
    (after), from one frame of raw measures."""
    empty = pd.DataFrame(columns=["before", "before_colour", "after", "after_colour"])
    with org_context(draft.organization_id):
        after_spec = draft_spec(draft)
        by_persona, default = model_specs()
        live = next(
            (
                s
                for s in [default, *by_persona.values()]
                if s is not None and s.id == draft.model_id
            ),
            None,
        )
        specs = [after_spec] if live is None else [after_spec, live]
        key = preview_frame_key(draft.organization_id, draft.model_id, day, specs)
        cached = cache.get(key)
        if cached is not None:
            raw, read_at = cached
        else:
            raw, read_at = _read_frame(draft, day, after_spec, live), timezone.now()
            if raw is not None:
                cache.set(key, (raw, read_at), FRAME_SECONDS)
        if raw is None:
            return HealthPreview(day=day, accounts=empty, figures=preview_figures(empty))
        after = score_frame(raw, after_spec)
        frame = pd.DataFrame(
            {"after": after["score"], "after_colour": after["colour"]}, index=raw.index
        )
        if live is not None:
            before = score_frame(raw, live)
            frame["before"], frame["before_colour"] = before["score"], before["colour"]
        else:
            frame["before"], frame["before_colour"] = np.nan, "none"
        frame = frame[["before", "before_colour", "after", "after_colour"]]
        return HealthPreview(
            day=day, accounts=frame, figures=preview_figures(frame), read_at=read_at
        )


def _read_frame(draft: HealthModelDraft, day: dt.date, after_spec, live) -> pd.DataFrame | None:
    """The raw measures of the accounts the draft's model would score (both sides' indicators):
    the night's frame (score_inputs), over the organization's whole id range."""
    bounds = Account.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None or not after_spec.indicators:
        return None
    inputs = score_inputs(
        day=day,
        first_id=bounds["lo"],
        last_id=bounds["hi"],
        tz=org_zone(draft.organization).key,
        replace={draft.model_id: after_spec},
        only_model=draft.model_id,
        extra=(live,) if live is not None else (),
    )
    return None if inputs is None else inputs.raw
