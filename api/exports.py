"""CSV exports: the portfolio as filtered on its page, playbook and firing lists, and all of an
organization's data in one zip (LGPD art. 18: the answer to a data-portability request).
Streamed row by row, never built whole; a cell that a spreadsheet would run as a formula
(=, +, -, @ first) is written with a leading apostrophe."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts import models as am
from conditions.phrases import evidence_sentences
from health.compact import Layout
from health.compact import missing as compact_missing
from health.models import HealthScore, breakdown_of
from orgs import formatting, spreadsheets
from playbooks.models import Playbook, PlaybookStep
from triggers.models import Alert, Firing


def csv_lines(
    header: list, rows: Iterable[Iterable], *, spreadsheet_locale: str = ""
) -> Iterator[str]:
    """The header in the reader's language (translated now, while the request's language is
    active, not when the stream is read) and the rows, in the plain CSV or, with
    `spreadsheet_locale` (`?csv=local`), in that locale's spreadsheet conventions."""
    return spreadsheets.lines(
        [str(h) for h in header], rows, d=spreadsheets.dialect(spreadsheet_locale), bom=True
    )


def _values(qs: QuerySet, columns: list[str]) -> Iterator[tuple]:
    return qs.values_list(*columns).iterator(chunk_size=5000)


# (header, field): the header is what the reader sees, in their language; the field is read
# with values_list. Codes (tier, status...) stay codes, the same in every language, so a
# spreadsheet's filters and a re-import keep working.
PORTFOLIO_COLUMNS = [
    (_("ID"), "id"),
    (_("External ID"), "external_id"),
    (_("Name"), "name"),
    (_("Tier"), "tier"),
    (_("Touch model"), "touch_model"),
    (_("Lifecycle stage"), "lifecycle_stage"),
    (_("Owner"), "owner__email"),
    (_("Persona"), "persona__name"),
    (_("MRR"), "mrr"),
    (_("Renewal date"), "renewal_date"),
    (_("Customer since"), "customer_since"),
    (_("Health score"), "health_score"),
    (_("Health colour"), "health_colour"),
    (_("Health change in 30 days"), "health_change_30d"),
    (_("Churned at"), "churned_at"),
]

PLAYBOOK_COLUMNS = [
    (_("ID"), "id"),
    (_("Account external ID"), "account__external_id"),
    (_("Account"), "account__name"),
    (_("Title"), "title"),
    (_("Kind"), "kind"),
    (_("Status"), "status"),
    (_("Owner"), "owner__email"),
    (_("Opened on"), "opened_on"),
    (_("Due on"), "due_on"),
    (_("Closed at"), "closed_at"),
    (_("Origin"), "origin"),
    (_("Origin label"), "origin_label"),
    (_("Outcome"), "outcome"),
    (_("Opportunity product"), "opportunity_product__code"),
    (_("Expected MRR"), "expected_mrr"),
    (_("MRR won"), "mrr_won"),
    (_("Churn reason"), "churn_reason__name"),
    (_("Evidence"), "evidence_text"),
]

FIRING_COLUMNS = [
    (_("ID"), "id"),
    (_("Trigger"), "trigger__name"),
    (_("Account external ID"), "account__external_id"),
    (_("Account"), "account__name"),
    (_("Period"), "period"),
    (_("Fired on"), "fired_on"),
    (_("Playbook ID"), "playbook_id"),
    (_("Evidence"), "evidence_text"),
]


def _table_csv(
    qs: QuerySet, table: list[tuple], spreadsheet_locale: str, locale: str = ""
) -> Iterator[str]:
    header = [label for label, _field in table]
    fields = [field for _label, field in table]
    read = _evidence_read if "evidence_text" in fields else _plain_read
    return csv_lines(header, read(qs, fields, locale), spreadsheet_locale=spreadsheet_locale)


def _plain_read(qs: QuerySet, fields: list[str], locale: str) -> Iterator[tuple]:
    return _values(qs, fields)


def _evidence_read(qs: QuerySet, fields: list[str], locale: str) -> Iterator[list]:
    """The evidence column in the reader's language and the organization's formats (its
    stored phrases, conditions.phrases), as the pages show it, not the text the night wrote."""
    at = fields.index("evidence_text")

    def localize(value):
        return formatting.localize_figure(value, locale=locale or None)

    for row in _values(qs, [*fields, "evidence"]):
        row = list(row)
        evidence = row.pop()
        row[at] = "; ".join(
            evidence_sentences(text=row[at] or "", evidence=evidence, localize=localize)
        )
        yield row


def portfolio_csv(qs: QuerySet[am.Account], *, spreadsheet_locale: str = "") -> Iterator[str]:
    return _table_csv(qs, PORTFOLIO_COLUMNS, spreadsheet_locale)


def playbooks_csv(
    qs: QuerySet[Playbook], *, spreadsheet_locale: str = "", locale: str = ""
) -> Iterator[str]:
    """`locale`: the organization's, for the figures inside the evidence sentences."""
    return _table_csv(qs, PLAYBOOK_COLUMNS, spreadsheet_locale, locale)


def firings_csv(
    qs: QuerySet[Firing], *, spreadsheet_locale: str = "", locale: str = ""
) -> Iterator[str]:
    return _table_csv(qs, FIRING_COLUMNS, spreadsheet_locale, locale)


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


# A score row's compact columns (health/compact.py): the export writes them as the breakdown and
# missing they stand for, so health_scores.csv reads the same whichever way a row is stored.
_SCORE_COMPACT = ("layout_id", "raws", "scores")


def _score_rows(columns: list[str]) -> Iterator[tuple]:
    """The score rows with `breakdown` and `missing` decoded from the compact arrays (the
    layout's keys and weights joined in the same query, decoded in Python per row)."""
    at_breakdown, at_missing = columns.index("breakdown"), columns.index("missing")
    compact = ["layout__keys", "layout__weights", "raws", "scores"]
    for row in _values(HealthScore.objects.order_by("pk"), [*columns, *compact]):
        keys, weights, raws, scores = row[len(columns) :]
        values = list(row[: len(columns)])
        if not values[at_breakdown] and keys is not None and scores is not None:
            values[at_breakdown] = breakdown_of(
                breakdown=None, keys=keys, weights=weights, raws=raws, scores=scores
            )
            values[at_missing] = compact_missing(Layout(tuple(keys), tuple(weights)), scores)
        yield values


def all_data_zip() -> Iterator[bytes]:
    """Every table of the organization in context, one CSV each (all columns, by database
    name; a score row's breakdown as it reads, not its compact arrays), in a zip written as
    it streams."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, model in ALL_TABLES:
            columns = [f.attname for f in model._meta.concrete_fields]
            if model is HealthScore:
                columns = [c for c in columns if c not in _SCORE_COMPACT]
                rows = _score_rows(columns)
            else:
                rows = _values(model.objects.order_by("pk"), columns)
            with archive.open(f"{name}.csv", mode="w", force_zip64=True) as member:
                for line in csv_lines(columns, rows):
                    member.write(line.encode())
                    if sum(len(c) for c in sink.chunks) > 256 * 1024:
                        yield sink.take()
            yield sink.take()
    yield sink.take()
