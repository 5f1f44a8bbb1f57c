"""Relations of incoming records, resolved set-based inside the organization: an account by
its external id, a product by its code, a member by email, a churn reason by name. Which rows
may be pointed at is orgs.relations.relation_scope, the rule every form and admin form uses,
so another organization's key is "not found" here exactly as it is an error there."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from accounts import models as am
from accounts.upserts import filter_in
from orgs.relations import relation_scope

from .records import Column, Kind

CHUNK = 5000


class Resolver:
    """Caches what it looked up, so a file streamed in batches asks for each key once."""

    def __init__(self, org_id: int):
        self.org_id = org_id
        self._known: dict[tuple[type, str], dict] = {}

    def _cache(self, col: Column) -> dict:
        return self._known.setdefault((col.ref.model, col.ref.key), {})

    def lookup(self, col: Column, keys: Iterable) -> None:
        cache = self._cache(col)
        missing = [k for k in set(keys) if k not in cache]
        model, by = col.ref.model, col.ref.key
        for i in range(0, len(missing), CHUNK):
            part = missing[i : i + CHUNK]
            scope = relation_scope(model, self.org_id).order_by()
            if by == "external_id":  # the partial unique index's predicate, so it is used
                scope = scope.exclude(external_id="")
            if model is am.Contact:  # by email, among the contacts of the record's account
                rows = filter_in(
                    scope.annotate(_k=Lower("email")), "email", part, lower=True
                ).values_list("_k", "pk", "account_id")
                found_contacts: dict = {}
                for email, pk, account_id in rows:
                    found_contacts.setdefault(email, []).append((pk, account_id))
                for k in part:
                    cache[k] = found_contacts.get(k)
                continue
            if by in ("email", "name"):
                rows = filter_in(scope.annotate(_k=Lower(by)), by, part, lower=True)
                rows = rows.values_list("_k", "pk")
            else:  # (key, pk) pairs as the driver gives them: no model iterator per row
                rows = _fetch(filter_in(scope, by, part).values_list(by, "pk"))
                found = dict(rows)
                if len(found) == len(rows):  # no key named two rows
                    cache.update(zip(part, map(found.get, part), strict=True))
                    continue
            found = {}
            for key_value, pk, *extra in rows:
                value = (pk, *extra) if extra else pk
                found[key_value] = _AMBIGUOUS if key_value in found else value
            for k in part:
                cache[k] = found.get(k)

    def get(self, col: Column, key_value):
        return self._cache(col).get(key_value)

    def found(self, col: Column, keys: list) -> list | None:
        """The id of each of `keys` (looked up first), or None when one is not found or names
        more than one row (then `resolve` says which and why)."""
        self.lookup(col, keys)
        ids = list(map(self._cache(col).get, keys))
        return ids if set(map(type, ids)) == {int} else None


_AMBIGUOUS = object()


def _fetch(qs) -> list[tuple]:
    """The rows of a values_list queryset straight from the cursor (its SQL, which names the
    organization as relation_scope wrote it)."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def resolve(kind: Kind, records: list[dict], resolver: Resolver) -> list[list[tuple[str, str]]]:
    """Turn each record's relation keys (in place) into ids under the model's column names
    (account -> account_id). Returns each record's errors as (field, message)."""
    refs = [c for c in kind.columns if c.ref is not None]
    for col in refs:
        resolver.lookup(col, (r[col.name] for r in records if r.get(col.name)))
    errors: list[list[tuple[str, str]]] = [[] for _ in records]
    for i, record in enumerate(records):
        for col in refs:
            if col.name not in record:
                continue
            key_value = record.pop(col.name)
            if not key_value:
                record[col.column] = None
                continue
            found = resolver.get(col, key_value)
            if found is None:
                errors[i].append((col.name, _not_found(col, key_value)))
            elif found is _AMBIGUOUS:
                errors[i].append(
                    (
                        col.name,
                        _("%(key)s names more than one %(model)s; use another key.")
                        % {"key": key_value, "model": col.ref.model._meta.verbose_name},
                    )
                )
            elif col.ref.model is am.Contact:
                mine = [pk for pk, account_id in found if account_id == record.get("account_id")]
                if len(mine) == 1:
                    record[col.column] = mine[0]
                elif mine:
                    errors[i].append(
                        (
                            col.name,
                            _("Two contacts of this account have the email %(key)s.")
                            % {"key": key_value},
                        )
                    )
                else:
                    errors[i].append(
                        (
                            col.name,
                            _("%(key)s is not the email of a contact of this account.")
                            % {"key": key_value},
                        )
                    )
            else:
                record[col.column] = found
    return errors


def _not_found(col: Column, key_value) -> str:
    model = col.ref.model
    if col.ref.key == "email":
        return _("No member of this organization has the email %(key)s.") % {"key": key_value}
    what = {"external_id": _("external id"), "code": _("code"), "name": _("name")}[col.ref.key]
    return _("No %(model)s of this organization has the %(what)s %(key)s.") % {
        "model": model._meta.verbose_name,
        "what": what,
        "key": key_value,
    }
