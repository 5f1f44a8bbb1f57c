"""Writing the demo's frames: a frame's columns become a model's rows through the one bulk writer
(csplatform/db/bulk.py: COPY on PostgreSQL, executemany on SQLite), foreign keys by position
or key; and the session settings and the one set-based foreign key check of a bulk load."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from csplatform.db.bulk import insert_columns


class FrameWriter:
    """Writes frames into one organization's tables and remembers which tables it wrote (the
    load analyses and checks them at the end). Auto-now fields get the second the writer was
    made, the same on every row."""

    def __init__(self, org_id: int):
        self.org_id = org_id
        self.now = np.datetime64(dt.datetime.now(dt.UTC).replace(tzinfo=None), "s")
        self.models: list = []  # tables written, in order

    def insert_frame(self, model, frame: pd.DataFrame, refs: dict, *, plain: bool = False) -> int:
        """Insert the frame's columns that are the model's fields; `refs` turns a column of
        positions or keys into a foreign key: {"account": ("account_id", ids by position)}.
        `plain`: no nulls and no text that CSV would quote (see insert_columns)."""
        fields = {f.attname for f in model._meta.concrete_fields}
        columns = {"organization_id": self.org_id}
        for name in frame:
            values = frame[name]
            if name in refs:
                attname, ids = refs[name]
                if isinstance(ids, dict):
                    columns[attname] = values.map(ids).to_numpy(dtype=float)
                else:
                    columns[attname] = ids[np.asarray(values)]
            elif name in fields:
                columns[name] = np.asarray(values)
        if model not in self.models:
            self.models.append(model)
        n = len(frame[next(iter(frame))])
        return insert_columns(model=model, columns=columns, n=n, now=self.now, plain=plain)


def _ids(model, org) -> dict[str, int]:
    """External id -> primary key of the rows just written, to point foreign keys at them."""
    return dict(model.all_objects.filter(organization=org).values_list("external_id", "pk"))


def _pg_skip_triggers(connection) -> bool:
    """Load without PostgreSQL's per-row foreign-key triggers, as pg_restore
    --disable-triggers does, when this role may (superusers, or those granted the setting);
    False, changing nothing, when it may not."""
    from django.db import DatabaseError, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def _foreign_keys_check(connection, models: list, org_id: int) -> None:
    """Every foreign key of the rows just written points at an existing row: one anti-join
    per key, not one lookup per row. Raises IntegrityError (the transaction rolls back)."""
    from django.db import IntegrityError

    from orgs.models import Organization

    if connection.vendor == "sqlite":
        connection.check_constraints(table_names=[m._meta.db_table for m in models])
        return
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models:
            table = qn(model._meta.db_table)
            for f in model._meta.concrete_fields:
                if not f.many_to_one or f.related_model is Organization:
                    continue  # the organization is the one just created
                parent = f.related_model._meta
                col = qn(f.column)
                cursor.execute(
                    f"SELECT c.{col} FROM {table} c WHERE c.organization_id = %s "
                    f"AND c.{col} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                    f"{qn(parent.db_table)} p WHERE p.{qn(f.target_field.column)} = c.{col}) "
                    "LIMIT 1",
                    [org_id],
                )
                row = cursor.fetchone()
                if row is not None:
                    raise IntegrityError(f"{model._meta.label}.{f.name} = {row[0]} points nowhere")


def _session_set(connection, *, sqlite: str = "", pg: str = "") -> None:
    sql = {"sqlite": sqlite, "postgresql": pg}.get(connection.vendor, "")
    if sql:
        with connection.cursor() as cursor:
            cursor.execute(sql)
