"""Every API error in one shape: {"errors": [{"field", "index", "code", "message"}]}, with
the field each validation error is about and, in a bulk request, the index of its record
(0-based). 401/403/404/429 come the same way; never a traceback."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

BULK_KEYS = ("records", "rows")


@dataclass(frozen=True)
class RecordError:
    """One problem with one value: `index` is the record's position in a bulk request (None
    for a single record), `field` the field it is about (None for the record as a whole)."""

    field: str | None
    message: str
    index: int | None = None
    code: str = "invalid"

    def as_dict(self) -> dict:
        return {
            "field": self.field,
            "index": self.index,
            "code": self.code,
            "message": self.message,
        }


class RecordsInvalid(exceptions.APIException):
    """Records refused: nothing of the request was written."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, errors: list[RecordError]):
        self.errors = errors
        super().__init__(detail=[e.message for e in errors])


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def flatten(detail, path: tuple = ()) -> list[RecordError]:
    """DRF's nested error detail as RecordErrors: "rows" -> 3 -> "date" becomes index 3,
    field "date"."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            out += flatten(value, (*path, key))
        return out
    if isinstance(detail, list):
        if detail and all(isinstance(d, dict | list) for d in detail):
            out = []
            for i, value in enumerate(detail):
                out += flatten(value, (*path, i))
            return out
        return [_one(d, path) for d in detail]
    return [_one(detail, path)]


def _one(detail, path: tuple) -> RecordError:
    index = None
    parts = list(path)
    if len(parts) >= 2 and parts[0] in BULK_KEYS and isinstance(parts[1], int):
        index = parts[1]
        parts = parts[2:]
    names = [str(p) for p in parts if p != "non_field_errors"]
    return RecordError(
        field=".".join(names) or None,
        message=str(detail),
        index=index,
        code=getattr(detail, "code", "invalid") or "invalid",
    )


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found in your organization."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, exceptions.NotAuthenticated):
        header = getattr(exc, "auth_header", None)
        exc = exceptions.NotAuthenticated(
            _("Authenticate with an API token: Authorization: Bearer <token>.")
        )
        exc.auth_header = header
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, RecordsInvalid):
        errors = exc.errors
    elif isinstance(exc, exceptions.ValidationError):
        errors = flatten(exc.detail)
    else:
        errors = [RecordError(field=None, message=str(exc.detail), code=exc.get_codes())]
        if isinstance(exc.get_codes(), dict | list):
            errors = flatten(exc.detail)
    response.data = {"errors": [e.as_dict() for e in errors]}
    return response
