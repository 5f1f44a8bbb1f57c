"""Set-based writes shared by the nightly jobs of every layer: whole tables at once, never a
save() per row. PostgreSQL gets COPY into a temporary table and one INSERT ... ON CONFLICT;
SQLite (the embedded demo) gets executemany of the same upsert.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence

from django.db import connection


def _csv_value(value):
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def upsert(
    *,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    conflict: Sequence[str],
    update: Sequence[str],
) -> int:
    """Insert rows, replacing the listed columns of rows that conflict on `conflict` (with no
    `update` columns, conflicting rows are left as they are: insert-if-absent).
    Must run inside a transaction. Returns the number of rows sent."""
    rows = [[_csv_value(v) for v in row] for row in rows]
    if not rows:
        return 0
    cols = ", ".join(columns)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in update)
    action = f"DO UPDATE SET {sets}" if update else "DO NOTHING"
    on_conflict = f"ON CONFLICT ({', '.join(conflict)}) {action}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tmp = f"tmp_upsert_{table}"
            # Same column types as the target, none of its constraints (ids come later).
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {tmp} ON COMMIT DROP AS "
                f"SELECT {cols} FROM {table} WITH NO DATA"
            )
            cursor.execute(f"TRUNCATE {tmp}")
            buf = io.StringIO()
            writer = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
            writer.writerows(rows)
            buf.seek(0)
            cursor.copy_expert(f"COPY {tmp} ({cols}) FROM STDIN WITH (FORMAT csv)", buf)
            cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {tmp} {on_conflict}")
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks}) {on_conflict}", rows)
    return len(rows)


def update_from_values(
    *,
    table: str,
    key: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Sequence],
    condition: str = "",
) -> None:
    """UPDATE `table` SET each column from `rows` (key first, then the columns in order),
    in one statement on PostgreSQL. `columns` pairs a column with its SQL type for casts.
    `condition` is extra SQL on the target row `t` and the new values `v` (same names)."""
    rows = [[_csv_value(v) for v in row] for row in rows]
    if not rows:
        return
    names = [name for name, _ in columns]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_values

            sets = ", ".join(f"{n} = v.{n}" for n in names)
            template = (
                "(" + ", ".join(["%s::bigint"] + [f"%s::{sqltype}" for _, sqltype in columns]) + ")"
            )
            where = f"t.{key} = v.{key}" + (f" AND ({condition})" if condition else "")
            sql = (
                f"UPDATE {table} AS t SET {sets} FROM (VALUES %s) AS v ({key}, "
                f"{', '.join(names)}) WHERE {where}"
            )
            execute_values(cursor, sql, rows, template=template, page_size=5000)
        else:
            # SQLite: one UPDATE per row through executemany; the condition's `v.<name>`
            # become bound parameters and `t.<name>` the row's own columns.
            cond_names = re.findall(r"\bv\.(\w+)", condition)
            cond = re.sub(r"\bt\.(\w+)", r"\1", re.sub(r"\bv\.(\w+)", "%s", condition))
            sets = ", ".join(f"{n} = %s" for n in names)
            sql = f"UPDATE {table} SET {sets} WHERE {key} = %s" + (f" AND ({cond})" if cond else "")
            position = {n: i + 1 for i, n in enumerate(names)}
            cursor.executemany(
                sql, [[*r[1:], r[0], *(r[position[n]] for n in cond_names)] for r in rows]
            )
