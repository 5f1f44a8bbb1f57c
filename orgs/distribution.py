"""What stands between the schema and a database distributed by organization (docs/scaling.md).

A distributed engine such as Citus shards every tenant table by `organization_id` and keeps
small tables (organizations, users) replicated on every node as reference tables. It can only
enforce a unique constraint, or a foreign key between two sharded tables, that includes the
distribution column: a constraint that does not is checked on one shard and silently means
less (or is refused when the table is distributed). `distribution_gaps` reads the models and
lists every such constraint, each with the migration that closes it; the test
tests/orgs/test_distribution_gaps.py keeps the list in docs/scaling.md equal to it.

Primary keys are left out: every tenant table's is `id` alone, one rule for all of them
(docs/scaling.md says how it changes), not a list to keep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from .tenancy import TenantModel

ORG_COLUMN = "organization_id"


@dataclass(frozen=True, order=True)
class Gap:
    table: str
    kind: str  # "unique", "foreign key", "many-to-many", "reference to tenant"
    name: str  # the constraint's name, or the column
    columns: tuple[str, ...]
    fix: str  # the migration that closes it, in one line

    @property
    def line(self) -> str:
        """The gap as a row of the table in docs/scaling.md."""
        return (
            f"| `{self.table}` | {self.kind} | `{self.name}` | "
            f"{', '.join(self.columns)} | {self.fix} |"
        )


def is_tenant(model: type[models.Model]) -> bool:
    return issubclass(model, TenantModel)


def tenant_models() -> list[type[models.Model]]:
    """Every concrete TenantModel subclass the project installs."""
    return [m for m in apps.get_models() if is_tenant(m) and not m._meta.proxy]


def _columns(model: type[models.Model], names: Iterable[str]) -> tuple[str, ...]:
    return tuple(model._meta.get_field(name).column for name in names)


def _unique_gaps(model: type[models.Model]) -> list[Gap]:
    table = model._meta.db_table
    gaps = []
    uniques: list[tuple[str, tuple[str, ...]]] = []
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
            uniques.append((constraint.name, _columns(model, constraint.fields)))
    for fields in model._meta.unique_together:
        uniques.append(("unique_together", _columns(model, fields)))
    for field in model._meta.local_concrete_fields:
        if field.unique and not field.primary_key:
            uniques.append((f"{field.column} unique", (field.column,)))
    for name, columns in uniques:
        if ORG_COLUMN not in columns:
            gaps.append(
                Gap(
                    table,
                    "unique",
                    name,
                    columns,
                    f"unique ({ORG_COLUMN}, {', '.join(columns)}) in its place",
                )
            )
    return gaps


def _foreign_key_gaps(model: type[models.Model]) -> list[Gap]:
    """Foreign keys from a tenant table to another tenant table: on shards they must carry the
    organization, (organization_id, x_id) referencing (organization_id, id)."""
    table = model._meta.db_table
    gaps = []
    for field in model._meta.local_concrete_fields:
        if not field.is_relation or field.name == "organization":
            continue
        target = field.related_model
        if is_tenant(target):
            gaps.append(
                Gap(
                    table,
                    "foreign key",
                    field.column,
                    (field.column,),
                    f"foreign key ({ORG_COLUMN}, {field.column}) references "
                    f"{target._meta.db_table} ({ORG_COLUMN}, id)",
                )
            )
    for field in model._meta.local_many_to_many:
        through = field.remote_field.through
        if through._meta.auto_created and not is_tenant(through):
            gaps.append(
                Gap(
                    through._meta.db_table,
                    "many-to-many",
                    field.name,
                    tuple(f.column for f in through._meta.local_concrete_fields if f.is_relation),
                    f"an explicit through model (a TenantModel) with {ORG_COLUMN} in its "
                    "unique constraint and both foreign keys",
                )
            )
    return gaps


def _reference_gaps(model: type[models.Model]) -> list[Gap]:
    """A table that is not a tenant table (a reference table, replicated) cannot point at a
    sharded one."""
    table = model._meta.db_table
    return [
        Gap(
            table,
            "reference to tenant",
            field.column,
            (field.column,),
            f"make {table} a tenant table (it has an organization) or drop the foreign key",
        )
        for field in model._meta.local_concrete_fields
        if field.is_relation and is_tenant(field.related_model)
    ]


def distribution_gaps(models_: Iterable[type[models.Model]] | None = None) -> list[Gap]:
    """Every unique constraint and foreign key in the way of distributing by organization,
    sorted by table. `models_`: the models to read (default: every installed model)."""
    chosen = list(apps.get_models()) if models_ is None else list(models_)
    gaps: list[Gap] = []
    for model in chosen:
        if model._meta.proxy:
            continue
        if is_tenant(model):
            gaps += _unique_gaps(model) + _foreign_key_gaps(model)
        else:
            gaps += _reference_gaps(model)
    return sorted(set(gaps))
