"""Cursor pagination in the order integrations sync by: update time, then id (keyset, so a
page costs the same deep in the list as on top, and rows changed while paging are not
skipped: they come again at the end). A view names its order with `cursor_field` (models
without an update time use their creation time, day or id)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import urlencode

from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

MAX_PAGE_SIZE = 1000


def _encode(value, pk: int) -> str:
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, field_kind: str):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(pk, int):
            raise ValueError
        if field_kind == "datetime":
            value = parse_datetime(value) if value is not None else None
            if value is None:
                raise ValueError
        elif field_kind == "date":
            value = parse_date(value) if value is not None else None
            if value is None:
                raise ValueError
        elif field_kind == "int" and not isinstance(value, int):
            raise ValueError
        return value, pk
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(
            {"cursor": [_("Not a cursor this list handed out; start again without it.")]}
        ) from exc


class UpdatedCursorPagination(BasePagination):
    page_size = 100
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def _field(self, view) -> tuple[str, str]:
        return getattr(view, "cursor_field", ("updated_at", "datetime"))

    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
            raise ValidationError(
                {"page_size": [_("A whole number from 1 to %(max)s.") % {"max": MAX_PAGE_SIZE}]}
            )
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        field, kind = self._field(view)
        size = self._page_size(request)
        cursor = request.query_params.get(self.cursor_query_param)
        if field == "id":
            queryset = queryset.order_by("pk")
            if cursor:
                _value, pk = _decode(cursor, "int")
                queryset = queryset.filter(pk__gt=pk)
        else:
            queryset = queryset.order_by(field, "pk")
            if cursor:
                value, pk = _decode(cursor, kind)
                queryset = queryset.filter(
                    Q(**{f"{field}__gt": value}) | Q(**{field: value, "pk__gt": pk})
                )
        rows = list(queryset[: size + 1])
        self._has_next = len(rows) > size
        rows = rows[:size]
        self._request = request
        self._next = None
        if self._has_next and rows:
            last = rows[-1]
            value = last.pk if field == "id" else getattr(last, field)
            self._next = _encode(value, last.pk)
        return rows

    def _next_link(self) -> str | None:
        if self._next is None:
            return None
        params = self._request.query_params.copy()
        params[self.cursor_query_param] = self._next
        base = self._request.build_absolute_uri(self._request.path)
        return f"{base}?{urlencode(list(params.lists()), doseq=True)}"

    def get_paginated_response(self, data):
        return Response({"next": self._next_link(), "next_cursor": self._next, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "next_cursor", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page, or null on the last one.",
                },
                "next_cursor": {"type": "string", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The `next_cursor` of the previous page.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (1-{MAX_PAGE_SIZE}, default 100).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
