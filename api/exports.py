"""CSV exports: the portfolio as filtered on its page, playbook and firing lists, and all of an
organization's data in one zip (LGPD art. 18: the answer to a data-portability request).
Streamed row by row, never built whole; a cell that a spreadsheet would run as a formula
(=, +, -, @ first) is written with a leading apostrophe."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from accounts import models as am
from health.models import HealthScore
from playbooks.models import Playbook, PlaybookStep
from triggers.models import Alert, Firing

_RISKY = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_RISKY):
        try:
            float(value)
            return value  # a plain negative number
        except ValueError:
            return "'" + value
    return value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield "\ufeff" + buffer.getvalue()  # a BOM, so Excel reads UTF-8
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(v) for v in row])
        yield buffer.getvalue()


def _values(qs: QuerySet, columns: list[str]) -> Iterator[tuple]:
    return qs.values_list(*columns).iterator(chunk_size=5000)


PORTFOLIO_COLUMNS = [
    ("id", "id"),
    ("external_id", "external_id"),
    ("name", "name"),
    ("tier", "tier"),
    ("touch_model", "touch_model"),
    ("lifecycle_stage", "lifecycle_stage"),
    ("owner", "owner__email"),
    ("persona", "persona__name"),
    ("mrr", "mrr"),
    ("renewal_date", "renewal_date"),
    ("customer_since", "customer_since"),
    ("health_score", "health_score"),
    ("health_colour", "health_colour"),
    ("health_change_30d", "health_change_30d"),
    ("churned_at", "churned_at"),
]


def portfolio_csv(qs: QuerySet[am.Account]) -> Iterator[str]:
    columns = [c for _, c in PORTFOLIO_COLUMNS]
    return csv_lines([h for h, _ in PORTFOLIO_COLUMNS], _values(qs, columns))


PLAYBOOK_COLUMNS = [
    ("id", "id"),
    ("account_external_id", "account__external_id"),
    ("account", "account__name"),
    ("title", "title"),
    ("kind", "kind"),
    ("status", "status"),
    ("owner", "owner__email"),
    ("opened_on", "opened_on"),
    ("due_on", "due_on"),
    ("closed_at", "closed_at"),
    ("origin", "origin"),
    ("origin_label", "origin_label"),
    ("outcome", "outcome"),
    ("opportunity_product", "opportunity_product__code"),
    ("expected_mrr", "expected_mrr"),
    ("mrr_won", "mrr_won"),
    ("churn_reason", "churn_reason__name"),
    ("evidence", "evidence_text"),
]

FIRING_COLUMNS = [
    ("id", "id"),
    ("trigger", "trigger__name"),
    ("account_external_id", "account__external_id"),
    ("account", "account__name"),
    ("period", "period"),
    ("fired_on", "fired_on"),
    ("playbook_id", "playbook_id"),
    ("evidence", "evidence_text"),
]


def playbooks_csv(qs: QuerySet[Playbook]) -> Iterator[str]:
    return csv_lines(
        [h for h, _ in PLAYBOOK_COLUMNS], _values(qs, [c for _, c in PLAYBOOK_COLUMNS])
    )


def firings_csv(qs: QuerySet[Firing]) -> Iterator[str]:
    return csv_lines([h for h, _ in FIRING_COLUMNS], _values(qs, [c for _, c in FIRING_COLUMNS]))


# -- everything --------------------------------------------------------------------------------

ALL_TABLES = [
    ("accounts", am.Account),
    ("contacts", am.Contact),
    ("products", am.Product),
    ("subscriptions", am.Subscription),
    ("mrr_movements", am.MrrMovement),
    ("usage", am.UsageMetric),
    ("tickets", am.Ticket),
    ("invoices", am.Invoice),
    ("surveys", am.SurveyResponse),
    ("interactions", am.Interaction),
    ("health_scores", HealthScore),
    ("firings", Firing),
    ("alerts", Alert),
    ("playbooks", Playbook),
    ("playbook_steps", PlaybookStep),
]


class _Sink(io.RawIOBase):
    """Where zipfile writes; the bytes are handed on as they come."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def writable(self):
        return True

    def write(self, b):
        self.chunks.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def all_data_zip() -> Iterator[bytes]:
    """Every table of the organization in context, one CSV each (all columns, by database
    name), in a zip written as it streams."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, model in ALL_TABLES:
            columns = [f.attname for f in model._meta.concrete_fields]
            with archive.open(f"{name}.csv", mode="w", force_zip64=True) as member:
                for line in csv_lines(columns, _values(model.objects.order_by("pk"), columns)):
                    member.write(line.encode())
                    if sum(len(c) for c in sink.chunks) > 256 * 1024:
                        yield sink.take()
            yield sink.take()
    yield sink.take()
