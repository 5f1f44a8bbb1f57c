"""Set-based writes for every layer: whole tables at once, never a save() per row.

`insert_columns` loads column arrays (the demo's portfolio, the workspace benchmark's year of
playbooks), `upsert` inserts or replaces rows on a unique key (the nightly jobs' scores and
firings), and `update_from_values` updates many rows of one organization in one statement.
PostgreSQL gets COPY (into a temporary table and one INSERT ... ON CONFLICT for upserts) and
`UPDATE ... FROM (VALUES ...)`; SQLite, the embedded demo, gets executemany of the same
statements.

Written here rather than taken from django-pgbulk: pgbulk's COPY needs psycopg 3 ("Only
psycopg3 is supported for pgbulk.copy") while psycopg2 is this project's driver, it takes model
instances (millions of objects for the demo and the benchmark, where we hold numpy columns),
and it is PostgreSQL only, while the demo runs on SQLite. The COPY itself is psycopg2's own
(`cursor.copy_expert`, and `psycopg2.extras.execute_values` for the VALUES lists); what is ours
is the CSV formatting of the columns and the SQLite fallback.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from django.db import connection, models, transaction

# Rows per COPY statement of insert_columns: bounds the CSV text held in memory.
COPY_CHUNK_ROWS = 200_000
_NULL = "\\N"  # NULL in insert_columns' COPY text (an empty field is an empty string)


def insert_columns(
    *,
    model: type[models.Model],
    columns: Mapping[str, Any],
    n: int,
    now: np.datetime64 | None = None,
    plain: bool = False,
) -> int:
    """Insert `n` rows given as columns named by the model's attnames: an array each, or one
    value for every row. Columns left out get the field's default (`now`, by default the
    current second, for auto_now fields), so a field added later with a default keeps every
    caller working; one with neither a value nor a default is an error.

    Arrays hold what numpy holds best: dates as datetime64 or day numbers since 1970-01-01 (-1
    for none), datetimes as datetime64 in UTC (NaT for none), decimals as floats (NaN for none),
    foreign keys as integers (-1 or NaN for none). `plain` promises no nulls and no text that
    CSV would quote, so the COPY text is formatted directly (the usage table, where it matters).
    Must run inside a transaction. Returns `n`."""
    if n == 0:
        return 0
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = sorted(set(columns) - set(fields))
    if unknown:
        raise ValueError(f"{model.__name__}: no such fields {unknown}")
    if now is None:
        now = np.datetime64(dt.datetime.now(dt.UTC).replace(tzinfo=None), "s")
    columns = dict(columns)
    for name, f in fields.items():
        if name in columns or f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            columns[name] = now
        elif f.has_default() or not f.null:
            default = f.get_default()  # "" for text fields without an explicit default
            if default is None and f.null:
                continue
            if default is None:
                raise ValueError(f"{model.__name__}.{name}: no value and no default")
            columns[name] = json.dumps(default) if isinstance(default, dict | list) else default
    prepared = {}
    for name, values in columns.items():
        f = fields[name]
        if np.ndim(values) == 0:
            values = np.full(n, values, dtype=object if isinstance(values, str) else None)
        values = np.asarray(values)
        if isinstance(f, models.DateTimeField):
            values = _datetimes(values)
        elif isinstance(f, models.DateField):
            values = _dates(values)
        elif isinstance(f, models.DecimalField):
            values = np.round(values.astype(float), f.decimal_places)
        elif f.many_to_one and values.dtype.kind in "iuf":
            values = _nullable_ids(values)
        prepared[f.column] = values
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        for start in range(0, n, COPY_CHUNK_ROWS):
            part = {c: v[start : start + COPY_CHUNK_ROWS] for c, v in prepared.items()}
            _copy_columns(table, part, plain)
    else:
        _executemany(table, prepared)
    return n


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
    rows = [[_value(v) for v in row] for row in rows]
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
            # Unquoted empty fields are NULL in COPY's CSV format; text is always quoted.
            writer = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
            writer.writerows(rows)
            buf.seek(0)
            _copy_expert(f"COPY {tmp} ({cols}) FROM STDIN WITH (FORMAT csv)", buf)
            cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {tmp} {on_conflict}")
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks}) {on_conflict}", rows)
    return len(rows)


def upsert_counted(
    *,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence],
    conflict: Sequence[str],
    update: Sequence[str],
    changed: str,
    copy_first: bool = False,
) -> tuple[int, int]:
    """Insert rows, replacing the `update` columns of a conflicting row only where `changed`
    holds (SQL on the stored row `t` and the sent one `EXCLUDED`), in one statement that
    says what it did: returns (created, updated); the other rows sent were left unchanged.
    No lookup first: INSERT ... ON CONFLICT DO UPDATE ... WHERE `changed` RETURNING
    (xmax = 0), which is true for a row inserted and false for one updated.

    `copy_first`: COPY the rows straight into the table first, in a savepoint (the quick
    way when they are all new, as a day's usage is: no temporary table, no conflict
    handling); the first row that exists ends that try (unique violation), it is rolled back
    and the rows go the upsert way. Values are text, numbers and dates, no nulls (csv writes
    None as empty text); `rows` may be their text already (`copy_text`). PostgreSQL only;
    must run inside a transaction."""
    if not rows:
        return 0, 0
    if connection.vendor != "postgresql":
        raise NotImplementedError("upsert_counted runs on PostgreSQL")
    cols = ", ".join(columns)
    if copy_first:
        from psycopg2 import errors

        buf = _csv_rows(rows)
        try:
            with transaction.atomic():
                _copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)", buf)
            return len(rows), 0
        except errors.UniqueViolation:
            pass
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in update)
    tmp = f"tmp_upsert_{table}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {tmp} ON COMMIT DROP AS "
            f"SELECT {cols} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {tmp}")
        _copy_expert(f"COPY {tmp} ({cols}) FROM STDIN WITH (FORMAT csv)", _csv_rows(rows))
        insert = (
            f"INSERT INTO {table} AS t ({cols}) SELECT {cols} FROM {tmp} "
            f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {sets} WHERE {changed} "
        )
        if not _partitioned(cursor, table):
            cursor.execute(
                f"WITH written AS ({insert} RETURNING (xmax = 0) AS created) "
                "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) "
                "FROM written"
            )
        else:
            # A partitioned table (csplatform/db/partitions.py) has no xmax to return: the rows
            # written whose key was there before (the statement's own snapshot) were updated.
            keys = ", ".join(conflict)
            match = " AND ".join(f"e.{c} = w.{c}" for c in conflict)
            cursor.execute(
                f"WITH existed AS MATERIALIZED (SELECT {keys} FROM {table} "
                f"WHERE ({keys}) IN (SELECT {keys} FROM {tmp})), "
                f"written AS ({insert} RETURNING {', '.join(f't.{c}' for c in conflict)}), "
                f"updated AS (SELECT count(*) AS n FROM written w JOIN existed e ON {match}) "
                "SELECT (SELECT count(*) FROM written) - n, n FROM updated"
            )
        created, updated = cursor.fetchone()
    return created, updated


def _partitioned(cursor, table: str) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))",
        [table],
    )
    return cursor.fetchone()[0]


class _Null(float):
    """None in `copy_rows`' CSV: csv.writer leaves numbers unquoted and writes a float by its
    repr, so this is an unquoted empty field, which COPY reads as NULL (csv.writer writes None
    itself as a quoted empty text, which COPY reads as '')."""

    def __repr__(self) -> str:
        return ""


_NULL_FIELD = _Null()


def copy_rows(*, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows into `table` (PostgreSQL; inside a transaction): text quoted as it is (a
    text \\N or an empty one stays text), None as NULL, dicts and lists as JSON, numbers,
    decimals, dates and aware datetimes as Python writes them. No model instance, no per-field
    preparation: the quick way to insert many new rows whose values are already checked.
    Returns the number of rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    n = 0
    for row in rows:
        writer.writerow(
            [
                _NULL_FIELD
                if v is None
                else json.dumps(v, separators=(",", ":"))
                if isinstance(v, dict | list)
                else v
                for v in row
            ]
        )
        n += 1
    if n:
        buf.seek(0)
        qn = connection.ops.quote_name
        names = ", ".join(qn(c) for c in columns)
        _copy_expert(f"COPY {qn(table)} ({names}) FROM STDIN WITH (FORMAT csv)", buf)
    return n


class CopyText(str):
    """Rows already written as COPY's CSV text (`copy_text`), in place of `upsert_counted`'s
    rows: its length is the number of rows, not of characters."""

    rows: int = 0

    def __len__(self) -> int:
        return self.rows


def copy_text(columns: Sequence[Sequence]) -> CopyText:
    """The CSV text `upsert_counted` writes for rows given as columns, written a column at a
    time: the same text csv.writer(QUOTE_NONNUMERIC) gives the rows, each distinct text or
    date quoted once (a usage batch holds one metric and a few days in thousands of rows),
    numbers as Python writes them. Every value of one column is of one type: int, float, str
    or date (no nulls, no booleans). Five times quicker than the writer for 10,000 rows."""
    n = len(columns[0])
    formatted = []
    for column in columns:
        if len(column) != n:
            raise ValueError("columns of different lengths")
        kinds = {v.__class__ for v in column}
        if kinds <= {int, float}:  # bool is a class of its own here
            formatted.append(column)  # str(int), repr(float): what csv.writer writes
            continue
        if len(kinds) != 1 or not kinds <= {str, dt.date}:
            raise TypeError(f"a column of {sorted(k.__name__ for k in kinds)}")
        quoted = {v: '"' + str(v).replace('"', '""') + '"' for v in set(column)}
        formatted.append(list(map(quoted.__getitem__, column)))
    line = ",".join(["{}"] * len(columns)) + "\n"
    out = CopyText("".join(map(line.format, *formatted)))
    out.rows = n
    return out


def _csv_rows(rows: Sequence[Sequence]) -> io.StringIO:
    """COPY's CSV text of rows: text (and dates) quoted, numbers not."""
    if isinstance(rows, CopyText):
        return io.StringIO(str(rows))
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
    buf.seek(0)
    return buf


def update_from_values(
    *,
    table: str,
    key: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Sequence],
    org_id: int,
    condition: str = "",
) -> None:
    """UPDATE the rows of `table` that belong to organization `org_id`, setting each column
    from `rows` (key first, then the columns in order), in one statement on PostgreSQL. The
    organization is part of the WHERE clause, so raw SQL is tenant-scoped like the ORM: a key
    of another organization's row changes nothing. `columns` pairs a column with its SQL type
    for the casts; `condition` is extra SQL on the target row `t` and the new values `v`
    (same names)."""
    rows = [[_value(v) for v in row] for row in rows]
    if not rows:
        return
    org_id = int(org_id)  # checked as a number: it is written into the statement
    names = [name for name, _ in columns]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_values

            sets = ", ".join(f"{n} = v.{n}" for n in names)
            template = (
                "(" + ", ".join(["%s::bigint"] + [f"%s::{sqltype}" for _, sqltype in columns]) + ")"
            )
            where = f"t.{key} = v.{key} AND t.organization_id = {org_id}"
            sql = (
                f"UPDATE {table} AS t SET {sets} FROM (VALUES %s) AS v ({key}, "
                f"{', '.join(names)}) WHERE {where}" + (f" AND ({condition})" if condition else "")
            )
            execute_values(cursor, sql, rows, template=template, page_size=5000)
        else:
            # SQLite: one UPDATE per row through executemany; the condition's `v.<name>`
            # become bound parameters and `t.<name>` the row's own columns.
            cond_names = re.findall(r"\bv\.(\w+)", condition)
            cond = re.sub(r"\bt\.(\w+)", r"\1", re.sub(r"\bv\.(\w+)", "%s", condition))
            sets = ", ".join(f"{n} = %s" for n in names)
            sql = f"UPDATE {table} SET {sets} WHERE {key} = %s AND organization_id = {org_id}"
            sql += f" AND ({cond})" if cond else ""
            position = {n: i + 1 for i, n in enumerate(names)}
            cursor.executemany(
                sql, [[*r[1:], r[0], *(r[position[n]] for n in cond_names)] for r in rows]
            )


# -- formatting ---------------------------------------------------------------------------


def _value(value):
    """One value of upsert's and update_from_values' rows, as the driver takes it."""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _day_strings(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(days, dtype="int64").astype("datetime64[D]"))


def _dates(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "iu":  # day numbers, -1 for none: format each distinct day once
        missing = values < 0
        if missing.all():
            return np.full(len(values), None, dtype=object)
        low = values[~missing].min()
        table = _day_strings(np.arange(low, values.max() + 1)).astype(object)
        text = table[np.where(missing, low, values) - low]
    else:
        values = values.astype("datetime64[D]")
        missing = np.isnat(values)
        text = np.datetime_as_string(values).astype(object)
    text[missing] = None
    return text


def _datetimes(values: np.ndarray) -> np.ndarray:
    values = values.astype("datetime64[s]")
    missing = np.isnat(values)
    if connection.vendor == "postgresql":
        text = np.datetime_as_string(values, timezone="UTC")  # 'YYYY-MM-DDTHH:MM:SSZ'
    else:  # Django stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS' in UTC
        text = np.char.replace(np.datetime_as_string(values), "T", " ")
    text = text.astype(object)
    text[missing] = None
    return text


def _nullable_ids(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        values = np.where(missing, -1, values).astype(np.int64)
    else:
        missing = values < 0
    if not missing.any():
        return values
    out = values.astype(object)
    out[missing] = None
    return out


# -- the two drivers ----------------------------------------------------------------------


def _executemany(table: str, prepared: dict) -> None:
    """SQLite: one executemany on the driver's connection (Django's cursor wrapper would
    rewrite the placeholders of every row)."""
    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c in prepared)
    marks = ", ".join("?" for _ in prepared)
    sql = f"INSERT INTO {qn(table)} ({names}) VALUES ({marks})"
    lists = [v.tolist() for v in prepared.values()]
    connection.ensure_connection()
    connection.connection.executemany(sql, zip(*lists, strict=True))


def _copy_columns(table: str, prepared: dict, plain: bool) -> None:
    qn = connection.ops.quote_name
    if plain:
        line = ",".join(["{}"] * len(prepared)) + "\n"
        buf = io.StringIO("".join(map(line.format, *(v.tolist() for v in prepared.values()))))
    else:
        lists = []
        for values in prepared.values():
            if values.dtype.kind == "f":
                missing = np.isnan(values)
            elif values.dtype.kind == "O":
                missing = np.equal(values, None)
            else:
                missing = None
            if missing is not None and missing.any():
                values = values.astype(object)
                values[missing] = _NULL
            lists.append(values.tolist())
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(zip(*lists, strict=True))
        buf.seek(0)
    names = ", ".join(qn(c) for c in prepared)
    _copy_expert(f"COPY {qn(table)} ({names}) FROM STDIN WITH (FORMAT csv, NULL '{_NULL}')", buf)


def _copy_expert(sql: str, buf: io.StringIO) -> None:
    """psycopg2's COPY FROM STDIN, on the connection of the current transaction."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.copy_expert(sql, buf)
