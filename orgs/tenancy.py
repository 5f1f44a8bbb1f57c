"""The one tenancy mechanism: the current organization lives in a context variable, and every
tenant-owned model's default manager filters by it at query time.

The filter is an expression resolved when the SQL is compiled, not when the queryset is
built, so querysets defined at import time (form fields, class attributes) are still scoped to
the organization of the request or job that runs them. With no organization set, a query on a
tenant model raises TenantContextMissing instead of silently reading every tenant's rows.
Code that must cross tenants (superuser admin, migrations, the nightly fan-out) uses
`Model.all_objects` explicitly.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import models

_current_org_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "csplatform_current_org_id", default=None
)


class TenantContextMissing(RuntimeError):
    """A tenant-owned model was queried with no organization in context."""


def current_org_id() -> int | None:
    return _current_org_id.get()


def set_current_org(org_id: int | None) -> contextvars.Token:
    return _current_org_id.set(org_id)


def reset_current_org(token: contextvars.Token) -> None:
    _current_org_id.reset(token)


@contextmanager
def org_context(org) -> Iterator[None]:
    """Run the block as organization `org` (an Organization or its id; None: no organization,
    so tenant queries fail closed)."""
    org_id = org if org is None or isinstance(org, int) else org.pk
    token = _current_org_id.set(org_id)
    try:
        yield
    finally:
        _current_org_id.reset(token)


class CurrentOrganization(models.Expression):
    """SQL parameter holding the current organization's id, read when the query compiles."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection):
        org_id = _current_org_id.get()
        if org_id is None:
            raise TenantContextMissing(
                "tenant-owned data queried with no organization in context; "
                "wrap the code in orgs.tenancy.org_context(org) or use Model.all_objects"
            )
        return "%s", [org_id]

    def get_group_by_cols(self):
        return []

    def __eq__(self, other):
        return isinstance(other, CurrentOrganization)

    def __hash__(self):
        return hash(CurrentOrganization)


class TenantManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(organization_id=CurrentOrganization())


class TenantModel(models.Model):
    """Base for every row that belongs to one organization."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+"
    )

    objects = TenantManager()
    all_objects = models.Manager()  # noqa: DJ012 (a second manager, not a field)

    class Meta:
        abstract = True
        base_manager_name = "all_objects"
