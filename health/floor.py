"""The floor of nightly scoring: what PostgreSQL and pandas need at least for one day, so the
benchmark (bench_nightly --floor) can print the project's stages beside it in the same run.

The floor reads every account at once: one SQL aggregate per measure over all of them (the
catalogue's own queries, over one id range instead of a chunk's), scores them vectorized
(scoring.score_frame per model) and writes the result with one COPY into a temporary table
(the score, colour and each indicator's 0-100 score as plain columns). It leaves out what the
nightly run does besides: chunking and its bookkeeping, the breakdown as stored, the 7- and
30-day changes, the upsert and the accounts' latest-score columns. It writes nothing that
outlives it. PostgreSQL only (COPY).
"""

from __future__ import annotations

import datetime as dt
import io
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Max, Min

from accounts.models import Account
from accounts.selectors import customer_on

from .scoring import score_frame
from .services import score_inputs

FLOOR_TABLE = "health_floor_scores"


@dataclass
class FloorResult:
    accounts: int = 0
    rows_copied: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    scores: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))


def floor_score_day(*, day: dt.date, tz: str) -> FloorResult:
    """Score `day` for every customer of the organization in context, the floor's way; the
    scores come back (index: account id) so a caller can check they equal the project's."""
    out = FloorResult()
    t0 = time.perf_counter()
    bounds = Account.objects.filter(customer_on(day)).aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return out
    inputs = score_inputs(day=day, first_id=bounds["lo"], last_id=bounds["hi"], tz=tz)
    t1 = time.perf_counter()
    if inputs is None:
        out.seconds = {"read": round(t1 - t0, 2), "compute": 0.0, "write": 0.0}
        return out
    keys = list(inputs.raw.columns)
    parts = []
    for model_id in inputs.model_of.unique():
        spec = inputs.specs[model_id]
        ids = inputs.model_of.index[inputs.model_of.to_numpy() == spec.id]
        scored = score_frame(inputs.raw.loc[ids], spec)
        frame = pd.DataFrame(
            {
                "model_id": spec.id,
                "model_version": spec.version,
                "score": scored["score"],
                "colour": scored["colour"],
            },
            index=ids,
        )
        for i, key in enumerate(keys):
            # another model's indicator: no score here
            frame[f"s{i}"] = scored.get(f"s:{key}", np.nan)
        parts.append(frame)
    result = pd.concat(parts).sort_index()
    result.index.name = "account_id"
    t2 = time.perf_counter()
    columns = ", ".join(f"s{i} float8" for i in range(len(keys)))
    buf = io.StringIO()
    result.to_csv(buf, header=False, float_format="%.6g")
    buf.seek(0)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {FLOOR_TABLE} (account_id bigint, model_id bigint,"
            f" model_version integer, score float8, colour varchar(8)"
            f"{', ' + columns if columns else ''}) ON COMMIT DROP"
        )
        cursor.cursor.copy_expert(f"COPY {FLOOR_TABLE} FROM STDIN WITH (FORMAT csv)", buf)
        t3 = time.perf_counter()
        cursor.execute(f"SELECT count(*) FROM {FLOOR_TABLE}")
        out.rows_copied = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {FLOOR_TABLE}")  # inside a caller's transaction too
    out.accounts = len(result)
    out.seconds = {
        "read": round(t1 - t0, 2),
        "compute": round(t2 - t1, 2),
        "write": round(t3 - t2, 2),
        "total": round(t3 - t0, 2),
    }
    out.scores = result["score"]
    return out
