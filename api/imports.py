"""CSV import: a file's format found (encoding, delimiter, number and date writing), its
columns mapped to a kind's fields, every row checked before anything is written (errors by row
and column), then all rows written in one transaction or none, through the same upsert
services as the API. Files are streamed twice (check, then write), never loaded whole.

The browser's upload keeps the file in the database in 1 MiB parts (any worker can read it);
the `import_csv` command reads a path. Both go through `check` and `write` below.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import upserts
from csplatform.celery import enqueue_on_commit
from orgs.models import Organization
from orgs.timezones import org_today, org_zone

from . import records as rec
from .models import ImportFilePart, ImportJob, ImportMapping, ImportState
from .resolve import Resolver, resolve

logger = logging.getLogger(__name__)

PART_SIZE = 1024 * 1024
SAMPLE_ROWS = 500
BATCH_ROWS = {"usage": 20_000}
DEFAULT_BATCH_ROWS = 5_000
ERRORS_KEPT = 100_000  # errors stored (and in the rejected-rows file); all are counted
DELIMITERS = {",": _("comma"), ";": _("semicolon"), "\t": _("tab")}
ENCODINGS = ("utf-8-sig", "utf-8", "utf-16", "cp1252", "latin-1")
csv.field_size_limit(1024 * 1024)


class ImportError_(ValueError):  # noqa: N801 (not the builtin)
    """A file that cannot be read at all (not CSV, no header, unknown column)."""


# -- the file's format ------------------------------------------------------------------------


@dataclass
class Format:
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    date_order: str = "dmy"

    @property
    def dialect(self) -> rec.Dialect:
        return rec.Dialect(decimal=self.decimal, date_order=self.date_order)


def detect_encoding(chunks: Iterator[bytes]) -> str:
    """UTF-8 (with or without a BOM) when the whole file decodes as UTF-8; UTF-16 by its BOM;
    otherwise Windows-1252 (Excel's "CSV" on Windows in Brazil), or Latin-1 for the few bytes
    1252 leaves undefined."""
    first = True
    decoder = codecs.getincrementaldecoder("utf-8")()
    strict_1252 = codecs.getincrementaldecoder("cp1252")()
    utf8_ok, cp1252_ok, bom = True, True, False
    for chunk in chunks:
        if first:
            first = False
            if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return "utf-16"
            if chunk.startswith(codecs.BOM_UTF8):
                bom = True
        if utf8_ok:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8_ok = False
        if not utf8_ok and cp1252_ok:
            try:
                strict_1252.decode(chunk)
            except UnicodeDecodeError:
                cp1252_ok = False
        if not utf8_ok and not cp1252_ok:
            break
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
            return "utf-8-sig" if bom else "utf-8"
        except UnicodeDecodeError:
            pass
    return "cp1252" if cp1252_ok else "latin-1"


def detect_delimiter(header_line: str) -> str:
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


_COMMA_DECIMAL = re.compile(r"^\s*-?\(?(R\$\s*)?-?\d{1,3}(\.\d{3})*,\d+\)?%?\s*$|^\s*-?\d+,\d+\s*$")
_POINT_DECIMAL = re.compile(
    r"^\s*-?\(?(R\$|\$)?\s*-?\d{1,3}(,\d{3})*\.\d+\)?%?\s*$|^\s*-?\d+\.\d+\s*$"
)
_SLASHED = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{4}")


def detect_numbers_and_dates(rows: list[list[str]]) -> tuple[str, str]:
    """The decimal separator and the order of slashed dates the sample rows use. A value like
    1.234,56 votes for the comma, 1,234.56 for the point; a date whose first part is above 12
    says day first, whose second part is, month first (Brazil: day first when nothing says)."""
    comma = point = dmy = mdy = 0
    for row in rows:
        for cell in row:
            if _COMMA_DECIMAL.match(cell):
                comma += 1
            elif _POINT_DECIMAL.match(cell):
                point += 1
            m = _SLASHED.match(cell)
            if m:
                first, second = int(m[1]), int(m[2])
                if first > 12 >= second:
                    dmy += 1
                elif second > 12 >= first:
                    mdy += 1
    return ("," if comma > point else "."), ("mdy" if mdy > dmy else "dmy")


# -- reading rows -------------------------------------------------------------------------------


Opener = Callable[[], io.RawIOBase | io.BufferedIOBase]


class _PartsStream(io.RawIOBase):
    """An uploaded file read back part by part (one query per part)."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.index = 0
        self.buffer = b""
        self.done = False

    def readable(self):
        return True

    def readinto(self, b):
        while not self.buffer and not self.done:
            part = (
                ImportFilePart.all_objects.filter(job_id=self.job_id, index=self.index)
                .values_list("data", flat=True)
                .first()
            )
            if part is None:
                self.done = True
            else:
                self.buffer = bytes(part)
                self.index += 1
        n = min(len(b), len(self.buffer))
        b[:n] = self.buffer[:n]
        self.buffer = self.buffer[n:]
        return n


def job_opener(job: ImportJob) -> Opener:
    return lambda: io.BufferedReader(_PartsStream(job.pk), buffer_size=PART_SIZE)


def path_opener(path: str) -> Opener:
    return lambda: open(path, "rb")  # noqa: SIM115 (closed by the reader)


def _chunks(opener: Opener) -> Iterator[bytes]:
    with opener() as stream:
        while True:
            chunk = stream.read(PART_SIZE)
            if not chunk:
                return
            yield chunk


def read_rows(opener: Opener, fmt: Format) -> Iterator[list[str]]:
    """The file's records (the header first), streamed."""
    with opener() as raw:
        text = io.TextIOWrapper(raw, encoding=fmt.encoding, errors="strict", newline="")
        try:
            yield from csv.reader(text, delimiter=fmt.delimiter, strict=False)
        except UnicodeDecodeError as exc:
            raise ImportError_(
                _("The file is not %(encoding)s text (byte %(pos)s); choose its encoding.")
                % {"encoding": fmt.encoding, "pos": exc.start}
            ) from None
        except csv.Error as exc:
            raise ImportError_(
                _("Not a CSV file this importer can read: %(why)s") % {"why": exc}
            ) from None


@dataclass
class Sniffed:
    format: Format
    headers: list[str]
    sample: list[list[str]]


def sniff(opener: Opener) -> Sniffed:
    encoding = detect_encoding(_chunks(opener))
    with opener() as raw:
        head = raw.read(64 * 1024)
    try:
        first_line = head.decode(encoding, errors="replace").lstrip("\ufeff").splitlines()[0]
    except IndexError:
        raise ImportError_(_("The file is empty.")) from None
    fmt = Format(encoding=encoding, delimiter=detect_delimiter(first_line))
    rows = read_rows(opener, fmt)
    headers = [h.strip().lstrip("\ufeff") for h in next(rows, [])]
    if not any(headers):
        raise ImportError_(_("The first row must name the columns."))
    sample = []
    for row in rows:
        sample.append(row)
        if len(sample) >= SAMPLE_ROWS:
            break
    fmt.decimal, fmt.date_order = detect_numbers_and_dates(sample)
    return Sniffed(format=fmt, headers=headers, sample=sample[:10])


# -- the mapping -------------------------------------------------------------------------------


def suggest_mapping(kind: rec.Kind, headers: list[str], saved: dict | None = None) -> dict:
    """{header: field}: a saved mapping's choices for the headers it knows, else the field
    whose name or one of its English or Portuguese labels the header is."""
    saved = saved or {}
    out: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        target = saved.get(header)
        if target in kind.by_name and target not in taken:
            out[header] = target
            taken.add(target)
    for header in headers:
        if header in out:
            continue
        folded = rec.fold(header)
        for col in kind.columns:
            if col.name in taken:
                continue
            if folded == rec.fold(col.name) or folded in {rec.fold(label) for label in col.labels}:
                out[header] = col.name
                taken.add(col.name)
                break
    return out


def mapping_problems(kind: rec.Kind, headers: list[str], mapping: dict) -> list[tuple]:
    """What is wrong with a mapping, as (row 1, column, message)."""
    problems = []
    seen: dict[str, str] = {}
    duplicates = {h for h in headers if h and headers.count(h) > 1}
    for h in sorted(duplicates):
        problems.append((1, h, _("Two columns have this name; rename one.")))
    for header, target in mapping.items():
        if header not in headers:
            problems.append((1, header, _("No column has this name in the file.")))
        elif target not in kind.by_name:
            problems.append(
                (1, header, _("%(field)s is not a field of this kind.") % {"field": target})
            )
        elif target in seen:
            problems.append(
                (
                    1,
                    header,
                    _("%(field)s is fed by %(other)s already.")
                    % {"field": target, "other": seen[target]},
                )
            )
        else:
            seen[target] = header
    for name in kind.required:
        if name not in seen:
            problems.append(
                (
                    1,
                    name,
                    _("Required column missing: map a column to %(field)s.") % {"field": name},
                )
            )
    return problems


# -- checking and writing ----------------------------------------------------------------------


@dataclass
class Report:
    rows: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    error_count: int = 0
    rejected: set[int] = field(default_factory=set)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add_error(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        self.rejected.add(row)
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append((row, column, message))


def _batches(kind, opener, fmt, mapping) -> Iterator[list[tuple[int, dict]]]:
    """(row number, raw record) in batches; the header is row 1, and blank rows (a
    spreadsheet's trailing ;;;;) are skipped."""
    rows = read_rows(opener, fmt)
    headers = [h.strip().lstrip("\ufeff") for h in next(rows, [])]
    index = {h: i for i, h in enumerate(headers)}
    columns = [(index[h], target) for h, target in mapping.items() if h in index]
    targets = [target for _, target in columns]
    width = max((i for i, _ in columns), default=-1) + 1
    # the mapped cells of a row, as a tuple (itemgetter of one index gives the cell alone)
    pick = itemgetter(*[i for i, _ in columns]) if len(columns) > 1 else None
    size = BATCH_ROWS.get(kind.name, DEFAULT_BATCH_ROWS)
    batch: list[tuple[int, dict]] = []
    for number, row in enumerate(rows, start=2):
        if not "".join(row).strip():  # no cell holds more than spaces
            continue
        if pick is not None and len(row) >= width:
            record = dict(zip(targets, pick(row), strict=True))
        else:  # a short row (its missing cells are empty), or one column mapped
            record = {target: (row[i] if i < len(row) else "") for i, target in columns}
        batch.append((number, record))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _read_batch(kind, batch, fmt, zone, resolver, header_of, report, seen_keys):
    """Read and resolve one batch; errors go to the report. Returns the valid records."""
    parsed = []
    results = rec.parse_records(kind, [raw for _, raw in batch], fmt.dialect, zone=zone)
    for (number, _raw), result in zip(batch, results, strict=True):
        for name, message in result.errors:
            report.add_error(number, header_of.get(name, name), message)
        if result.errors:
            continue
        key = rec.natural_key(kind, result.values)
        if seen_keys is not None:
            if key in seen_keys:
                report.add_error(
                    number,
                    header_of.get(kind.key[0], kind.key[0]),
                    _("Repeats row %(first)s (the same %(key)s).")
                    % {"first": seen_keys[key], "key": ", ".join(kind.key)},
                )
                continue
            seen_keys[key] = number
        parsed.append((number, result.values))
    problems = resolve(kind, [values for _, values in parsed], resolver)
    good = []
    for (number, values), found in zip(parsed, problems, strict=True):
        for name, message in found:
            report.add_error(number, header_of.get(name, name), message)
        if not found:
            good.append((number, values))
    return good


def _plain_usage(kind, batch, fmt, resolver, seen_keys) -> dict | None:
    """A usage batch that is plain (rec.read_columns: every row's cells read as they are, the
    usual file), as columns ready for upserts.usage_columns_upsert, with its keys added to
    `seen_keys`; None, with nothing noted, for anything else: a value a reader refuses, a
    key repeated here or in an earlier batch, an account not found. Then `_read_batch` reads
    the batch row by row and names every problem, as it always did. The quick way costs no
    dict, Parsed or natural key per row (most of a 1,000,000-row import's time)."""
    if kind is not rec.USAGE:
        return None
    columns = rec.read_columns(kind, [raw for _, raw in batch], fmt.dialect)
    if columns is None:
        return None
    keys = list(zip(*(columns[name] for name in kind.key), strict=True))
    if len(set(keys)) != len(keys) or not seen_keys.keys().isdisjoint(keys):
        return None
    ids = resolver.found(kind.by_name["account"], columns["account"])
    if ids is None:
        return None
    seen_keys.update(zip(keys, (number for number, _ in batch), strict=True))
    return {
        "account_ids": ids,
        "metrics": columns["metric"],
        "dates": columns["date"],
        "values": columns["value"],
    }


def _progress(job_id: int | None, done: int, total: int, stage: str) -> None:
    if job_id is not None:
        cache.set(f"import-progress:{job_id}", {"done": done, "total": total, "stage": stage}, 3600)


def check(
    *,
    org: Organization,
    kind: rec.Kind,
    opener: Opener,
    fmt: Format,
    mapping: dict,
    job_id: int | None = None,
    total: int = 0,
) -> Report:
    """Read every row (nothing is written): the report's errors by row and column."""
    report = Report()
    rows = read_rows(opener, fmt)
    headers = [h.strip().lstrip("\ufeff") for h in next(rows, [])]
    for row, column, message in mapping_problems(kind, headers, mapping):
        report.add_error(row, column, message)
    if report.error_count:
        return report
    header_of = {target: h for h, target in mapping.items()}
    resolver = Resolver(org.pk)
    zone = org_zone(org)
    seen: dict[tuple, int] = {}
    with rec.collector_paused():
        for batch in _batches(kind, opener, fmt, mapping):
            report.rows += len(batch)
            _read_batch(kind, batch, fmt, zone, resolver, header_of, report, seen)
            _progress(job_id, report.rows, total, "check")
    return report


class _Refused(Exception):
    def __init__(self, report: Report):
        self.report = report


def write(
    *,
    org: Organization,
    kind: rec.Kind,
    opener: Opener,
    fmt: Format,
    mapping: dict,
    acting_user=None,
    job_id: int | None = None,
    total: int = 0,
) -> Report:
    """Check every row and write them, in one pass and one transaction: batches are written
    while no row has failed; after the first error the rest of the file is only checked (so
    the report still names every error), and the transaction is rolled back: on any error
    nothing is written and the report says why (row, column, message). One pass, not a
    check and then a write: each row is read, parsed and resolved once."""
    report = Report()
    rows = read_rows(opener, fmt)
    headers = [h.strip().lstrip("\ufeff") for h in next(rows, [])]
    for row, column, message in mapping_problems(kind, headers, mapping):
        report.add_error(row, column, message)
    if report.error_count:
        return report
    service = upserts.UPSERTS[kind.name]
    extra = {"today": org_today(org)} if kind.name == "subscriptions" else {}
    if kind.name == "accounts":
        extra["acting_user"] = acting_user
        extra["refresh_segments"] = False  # once, after the last batch
    if kind.name == "usage":
        extra["accounts_resolved"] = True  # by their external ids, in _read_batch
    header_of = {target: h for h, target in mapping.items()}
    resolver = Resolver(org.pk)
    zone = org_zone(org)
    seen: dict[tuple, int] = {}
    try:
        with rec.collector_paused(), transaction.atomic():
            for batch in _batches(kind, opener, fmt, mapping):
                report.rows += len(batch)
                plain = None
                if not report.error_count:
                    plain = _plain_usage(kind, batch, fmt, resolver, seen)
                if plain is not None:
                    result = upserts.usage_columns_upsert(
                        org=org, accounts_resolved=True, distinct=True, **plain
                    )
                    report.created += result.created
                    report.updated += result.updated
                    report.unchanged += result.unchanged
                    _progress(job_id, report.rows, total, "write")
                    continue
                good = _read_batch(kind, batch, fmt, zone, resolver, header_of, report, seen)
                if not report.error_count:
                    numbers = [n for n, _ in good]
                    try:
                        result = service(org=org, records=[v for _, v in good], **extra)
                    except upserts.RecordsRefused as exc:
                        for index, name, message in exc.errors:
                            report.add_error(numbers[index], header_of.get(name, name), message)
                    else:
                        report.created += result.created
                        report.updated += result.updated
                        report.unchanged += result.unchanged
                _progress(job_id, report.rows, total, "write")
            if report.error_count:
                raise _Refused(report)
            if kind.name == "accounts":
                enqueue_on_commit("accounts.portfolio_refresh", org.pk)
    except _Refused:
        report.created = report.updated = report.unchanged = 0
        return report
    logger.info(
        "csv imported org=%s kind=%s rows=%s created=%s updated=%s unchanged=%s",
        org.slug,
        kind.name,
        report.rows,
        report.created,
        report.updated,
        report.unchanged,
    )
    return report


def rejected_rows_csv(*, opener: Opener, fmt: Format, errors: list) -> Iterator[str]:
    """The rejected rows as they were in the file, with a last column saying why."""
    why: dict[int, list[str]] = {}
    for row, column, message in errors:
        why.setdefault(row, []).append(f"{column}: {message}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=fmt.delimiter)
    for number, row in enumerate(read_rows(opener, fmt), start=1):
        if number == 1:
            writer.writerow([*row, _("errors")])
        elif number in why:
            writer.writerow([*row, " | ".join(why[number])])
        else:
            continue
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if 1 in why and not any(n != 1 for n in why):
        writer.writerow([" | ".join(why[1])])
        yield buffer.getvalue()


# -- jobs (the browser's imports) --------------------------------------------------------------


def import_job_create(*, org: Organization, kind: str, upload, user) -> ImportJob:
    """Store the upload in parts, find its format and suggest the mapping (the last saved
    mapping of this kind that knows its headers wins)."""
    if kind not in rec.KINDS or kind == "products":
        raise ImportError_(_("Choose what the file holds."))
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise ImportError_(
            _("The file is %(size)s MB; at most %(max)s MB.")
            % {"size": upload.size // 2**20, "max": settings.IMPORT_MAX_BYTES // 2**20}
        )
    with transaction.atomic():
        job = ImportJob.all_objects.create(
            organization=org,
            kind=kind,
            filename=upload.name[:255],
            size=upload.size,
            created_by=user,
        )
        index, pending = 0, b""
        for chunk in upload.chunks(PART_SIZE):
            pending += chunk
            while len(pending) >= PART_SIZE:
                ImportFilePart.all_objects.create(
                    organization=org, job=job, index=index, data=pending[:PART_SIZE]
                )
                pending, index = pending[PART_SIZE:], index + 1
        if pending:
            ImportFilePart.all_objects.create(organization=org, job=job, index=index, data=pending)
        sniffed = sniff(job_opener(job))
        saved = {}
        for mapping in ImportMapping.all_objects.filter(organization=org, kind=kind).order_by(
            "-updated_at"
        ):
            if set(mapping.columns.get("columns", {})) & set(sniffed.headers):
                saved = mapping.columns["columns"]
                break
        job.encoding = sniffed.format.encoding
        job.delimiter = sniffed.format.delimiter
        job.decimal = sniffed.format.decimal
        job.date_order = sniffed.format.date_order
        job.headers = sniffed.headers
        job.mapping = suggest_mapping(rec.KINDS[kind], sniffed.headers, saved)
        job.rows_total = _estimate_rows(job, sniffed)
        job.save()
    return job


def _estimate_rows(job: ImportJob, sniffed: Sniffed) -> int:
    if not sniffed.sample:
        return 0
    average = max(
        1,
        sum(len(sniffed.format.delimiter.join(r)) + 2 for r in sniffed.sample)
        // len(sniffed.sample),
    )
    return max(len(sniffed.sample), job.size // average)


def job_format(job: ImportJob) -> Format:
    return Format(
        encoding=job.encoding,
        delimiter=job.delimiter,
        decimal=job.decimal,
        date_order=job.date_order,
    )


def import_job_configure(
    *, job: ImportJob, fmt: Format, mapping: dict, save_as: str = ""
) -> ImportJob:
    """The person's choice of format and mapping (and, with `save_as`, kept for next time)."""
    if fmt.encoding not in ENCODINGS or fmt.delimiter not in DELIMITERS:
        raise ImportError_(_("Choose the file's encoding and delimiter."))
    if fmt.decimal not in (",", ".") or fmt.date_order not in ("dmy", "mdy"):
        raise ImportError_(_("Choose how numbers and dates are written."))
    job.encoding, job.delimiter = fmt.encoding, fmt.delimiter
    job.decimal, job.date_order = fmt.decimal, fmt.date_order
    job.mapping = {h: t for h, t in mapping.items() if t}
    job.state = ImportState.UPLOADED
    job.save(update_fields=["encoding", "delimiter", "decimal", "date_order", "mapping", "state"])
    if save_as.strip():
        ImportMapping.all_objects.update_or_create(
            organization_id=job.organization_id,
            kind=job.kind,
            name=save_as.strip()[:80],
            defaults={"columns": {"columns": job.mapping}},
        )
    return job


def import_job_run(*, job_id: int, write_rows: bool) -> ImportJob:
    """Check (and, with `write_rows`, import) a job's file; the job keeps the report."""
    job = ImportJob.all_objects.select_related("organization", "created_by").get(pk=job_id)
    org = job.organization
    ImportJob.all_objects.filter(pk=job.pk).update(
        state=ImportState.IMPORTING if write_rows else ImportState.VALIDATING, rows_done=0
    )
    kind = rec.KINDS[job.kind]
    args = dict(
        org=org,
        kind=kind,
        opener=job_opener(job),
        fmt=job_format(job),
        mapping=job.mapping,
        job_id=job.pk,
        total=job.rows_total,
    )
    try:
        report = write(**args, acting_user=job.created_by) if write_rows else check(**args)
    except ImportError_ as exc:
        job.state, job.failure = ImportState.FAILED, str(exc)
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "failure", "finished_at"])
        return job
    job.rows_total = job.rows_done = report.rows
    job.errors = [list(e) for e in report.errors]
    job.error_count = report.error_count
    job.rejected_rows = len(report.rejected)
    job.created, job.updated, job.unchanged = report.created, report.updated, report.unchanged
    if report.error_count:
        job.state = ImportState.INVALID
    else:
        job.state = ImportState.DONE if write_rows else ImportState.VALID
    job.failure = ""
    job.finished_at = timezone.now()
    job.save()
    cache.delete(f"import-progress:{job.pk}")
    return job


def job_progress(job: ImportJob) -> dict:
    return cache.get(f"import-progress:{job.pk}") or {
        "done": job.rows_done,
        "total": job.rows_total,
        "stage": job.state,
    }
