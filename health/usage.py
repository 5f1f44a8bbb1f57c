"""Usage windows for the measures: sums and active days of a metric over date spans, per
account. Two backends answer the same questions:

- SqlUsage (the nightly run): one SQL aggregate per metric with a FILTER per span.
- DenseUsage (backfills of many days): the organization's usage is read once into
  per-metric cumulative sums over (accounts x days), so any span of any day is a subtraction.
Both return float Series indexed by the chunk's account ids (0 where there was no usage).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Count, Q, Sum

from accounts.models import UsageMetric
from csplatform.db.frames import values_frame

Span = tuple[dt.date, dt.date]  # inclusive

PRODUCT_PREFIX = "product:"


class SqlUsage:
    def __init__(self, ids: pd.Index, id_range: tuple[int, int]):
        self.ids = ids
        self.lo, self.hi = id_range
        # per metric, the windows prefetch read ahead: {(span, active): column}, and the frame
        self._ahead: dict[str, tuple[dict, pd.DataFrame]] = {}

    def _rows(self, metric_filter: Q, first: dt.date, last: dt.date):
        return UsageMetric.objects.filter(
            metric_filter,
            account_id__gte=self.lo,
            account_id__lte=self.hi,
            date__gte=first,
            date__lte=last,
        )

    def prefetch(self, reads) -> None:
        """Read ahead, in one query per metric, the (metric, spans, active) windows the
        measures about to run will ask for: the usage index is ordered by metric, account and
        date, so each query on a metric walks all of that metric's rows of the chunk whatever
        its dates; usage frequency and usage trend both read logins, and now walk them once."""
        wanted: dict[str, list[tuple[Span, bool]]] = {}
        for metric, spans, active in reads:
            keys = wanted.setdefault(metric, [])
            keys.extend(k for k in ((span, active) for span in spans.values()) if k not in keys)
        for metric, keys in wanted.items():
            columns = {key: f"w{i}" for i, key in enumerate(keys)}
            self._ahead[metric] = (columns, self._read(metric, columns))

    def _read(self, metric: str, columns: dict[tuple[Span, bool], str]) -> pd.DataFrame:
        first = min(span[0] for span, _ in columns)
        last = max(span[1] for span, _ in columns)
        # Days are counted on `date`, a column of the usage index (as `value` is, in its
        # INCLUDE): PostgreSQL answers from the index alone, where counting `id` made it
        # visit the table's row behind every entry (8 s of a 100,000-account preview).
        annotations = {
            name: (
                Count("date", filter=Q(date__gte=a, date__lte=b, value__gt=0))
                if active
                else Sum("value", filter=Q(date__gte=a, date__lte=b))
            )
            for ((a, b), active), name in columns.items()
        }
        rows = (
            self._rows(Q(metric=metric), first, last)
            .values("account_id")
            .annotate(**annotations)
            .values_list("account_id", *annotations)
        )
        frame = values_frame(rows, ["account_id", *annotations])
        return frame.set_index("account_id").reindex(self.ids).astype("float64").fillna(0.0)

    def windows(self, metric: str, spans: dict[str, Span], active: bool = False) -> pd.DataFrame:
        """Per account, a column per named span: the sum of values (or, with `active`, the
        days with a value above 0); from what prefetch read, or read now."""
        columns, frame = self._ahead.get(metric, ({}, None))
        if frame is None or any((span, active) not in columns for span in spans.values()):
            columns = {(span, active): f"w{i}" for i, span in enumerate(spans.values())}
            frame = self._read(metric, columns)
        return pd.DataFrame(
            {name: frame[columns[(span, active)]] for name, span in spans.items()},
            index=self.ids,
        )

    def products_used(self, first: dt.date, last: dt.date, codes=None) -> pd.DataFrame:
        """(account_id, code) pairs of products with usage ("product:<code>" > 0) in the span;
        with `codes`, of those products only (the ones held: adoption asks of no other)."""
        if codes is None:
            # A range, not LIKE 'product:%', so every database walks the index.
            metrics = Q(metric__gte=PRODUCT_PREFIX, metric__lt="product;")
        else:
            # Each metric named: the usage index is ordered (organization, metric, account,
            # date), so `metric IN (...)` bounds the account and date ranges within each
            # metric and the scan is index-only over exactly the chunk's rows. The range
            # above bounds only the metric: PostgreSQL chose the account foreign-key index
            # and the table's rows behind it (0.9-1.8 s a 10,000-account chunk, 0.1 s now).
            metrics = Q(metric__in=sorted(PRODUCT_PREFIX + code for code in set(codes)))
        rows = (
            self._rows(metrics, first, last)
            .filter(value__gt=0)
            .values_list("account_id", "metric")
            .distinct()
        )
        frame = values_frame(rows, ["account_id", "metric"])
        frame["code"] = frame["metric"].str.slice(len(PRODUCT_PREFIX))
        return frame[["account_id", "code"]]


class DenseUsage:
    """Usage of a set of accounts over [first, last], read once (organization in context)."""

    def __init__(self, *, account_ids, first: dt.date, last: dt.date):
        self.first, self.last = first, last
        self.account_index = pd.Index(sorted(account_ids))
        n_days = (last - first).days + 1
        query = UsageMetric.objects.filter(date__gte=first, date__lte=last).values_list(
            "account_id", "metric", "date", "value"
        )
        # Millions of rows: straight from the cursor, without building a Python object each.
        with connection.cursor() as cursor:
            cursor.execute(*query.query.sql_with_params())
            frame = pd.DataFrame(
                cursor.fetchall(), columns=["account_id", "metric", "date", "value"]
            )
        frame = frame[frame["account_id"].isin(self.account_index)]
        row = self.account_index.get_indexer(frame["account_id"])
        col = (pd.to_datetime(frame["date"]) - pd.Timestamp(first)).dt.days.to_numpy()
        self.sums: dict[str, np.ndarray] = {}
        self.active: dict[str, np.ndarray] = {}
        shape = (len(self.account_index), n_days)
        for metric, positions in frame.groupby("metric").indices.items():
            values = np.zeros(shape)
            np.add.at(
                values, (row[positions], col[positions]), frame["value"].to_numpy()[positions]
            )
            # cumulative along days, with a leading 0 column: sum(a..b) = C[b+1] - C[a]
            self.sums[metric] = np.concatenate(
                [np.zeros((shape[0], 1)), np.cumsum(values, axis=1)], axis=1
            )
            self.active[metric] = np.concatenate(
                [
                    np.zeros((shape[0], 1), dtype=np.int32),
                    np.cumsum(values > 0, axis=1, dtype=np.int32),
                ],
                axis=1,
            )

    def _span(self, a: dt.date, b: dt.date) -> tuple[int, int]:
        """Column bounds of [a, b] in the cumulative arrays; load enough days before the first
        day scored that no span reaches before `first` (backfills load 220 days earlier)."""
        n = (self.last - self.first).days + 1
        lo = min(max((a - self.first).days, 0), n)
        hi = min(max((b - self.first).days + 1, 0), n)
        return lo, max(lo, hi)

    def view(self, ids: pd.Index) -> DenseView:
        return DenseView(self, ids)


class DenseView:
    """DenseUsage restricted to one chunk's accounts, with SqlUsage's interface."""

    def __init__(self, dense: DenseUsage, ids: pd.Index):
        self.dense = dense
        self.ids = ids
        self.rows = dense.account_index.get_indexer(ids)

    def prefetch(self, reads) -> None:
        """Nothing to read ahead: the usage is in memory already."""

    def windows(self, metric: str, spans: dict[str, Span], active: bool = False) -> pd.DataFrame:
        table = (self.dense.active if active else self.dense.sums).get(metric)
        out = {}
        for name, (a, b) in spans.items():
            if table is None:
                out[name] = np.zeros(len(self.ids))
                continue
            lo, hi = self.dense._span(a, b)
            out[name] = (table[self.rows, hi] - table[self.rows, lo]).astype("float64")
            out[name][self.rows < 0] = 0.0
        return pd.DataFrame(out, index=self.ids)

    def products_used(self, first: dt.date, last: dt.date, codes=None) -> pd.DataFrame:
        lo, hi = self.dense._span(first, last)
        wanted = None if codes is None else {PRODUCT_PREFIX + code for code in codes}
        parts = []
        for metric, table in self.dense.active.items():
            if not metric.startswith(PRODUCT_PREFIX):
                continue
            if wanted is not None and metric not in wanted:
                continue
            used = (table[self.rows, hi] - table[self.rows, lo]) > 0
            ids = self.ids[used & (self.rows >= 0)]
            parts.append(pd.DataFrame({"account_id": ids, "code": metric[len(PRODUCT_PREFIX) :]}))
        if not parts:
            return pd.DataFrame(columns=["account_id", "code"])
        return pd.concat(parts, ignore_index=True)
