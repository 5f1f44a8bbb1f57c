"""`import_csv`: the browser's CSV import from the command line. Every row is checked first;
any error is printed as `row N, column C: message` and nothing is written (exit 1)."""

from __future__ import annotations

import json
import os

from django.core.management.base import CommandError

from api import imports
from api import records as rec
from api.models import ImportMapping
from orgs.cli import ProjectCommand, org_by_slug

KINDS = [k for k in rec.KINDS if k != "products"]
ERRORS_PRINTED = 200


class Command(ProjectCommand):
    help = "Import a CSV file of accounts, contacts, subscriptions or signals (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file")
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--mapping", help="a mapping saved in the browser (its name)")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument("--encoding", choices=imports.ENCODINGS, help="default: detected")
        parser.add_argument("--delimiter", choices=[",", ";", "tab"], help="default: detected")
        parser.add_argument("--decimal", choices=[",", "."], help="default: detected")
        parser.add_argument("--date-order", choices=["dmy", "mdy"], help="default: detected")

    def handle(self, *args, **opts):
        path = opts["file"]
        if not os.path.isfile(path):
            raise CommandError(f"file: {path!r} is not a file")
        org = org_by_slug(opts["org"])
        kind = rec.KINDS[opts["kind"]]
        opener = imports.path_opener(path)
        try:
            sniffed = imports.sniff(opener)
        except imports.ImportError_ as exc:
            raise CommandError(f"file: {exc}") from None
        fmt = sniffed.format
        if opts["encoding"]:
            fmt.encoding = opts["encoding"]
        if opts["delimiter"]:
            fmt.delimiter = "\t" if opts["delimiter"] == "tab" else opts["delimiter"]
        if opts["decimal"]:
            fmt.decimal = opts["decimal"]
        if opts["date_order"]:
            fmt.date_order = opts["date_order"]
        saved = None
        if opts["mapping"]:
            found = ImportMapping.all_objects.filter(
                organization=org, kind=kind.name, name=opts["mapping"]
            ).first()
            if found is None:
                raise CommandError(
                    f"--mapping: no {kind.name} mapping named {opts['mapping']!r} in {org.slug}"
                )
            saved = found.columns.get("columns", {})
        headers = [h for h in sniffed.headers]
        mapping = imports.suggest_mapping(kind, headers, saved)
        run = imports.check if opts["dry_run"] else imports.write
        try:
            report = run(org=org, kind=kind, opener=opener, fmt=fmt, mapping=mapping)
        except imports.ImportError_ as exc:
            raise CommandError(f"file: {exc}") from None
        summary = {
            "file": path,
            "kind": kind.name,
            "format": {
                "encoding": fmt.encoding,
                "delimiter": fmt.delimiter,
                "decimal": fmt.decimal,
                "date_order": fmt.date_order,
            },
            "mapping": mapping,
            "rows": report.rows,
        }
        if report.error_count:
            for row, column, message in report.errors[:ERRORS_PRINTED]:
                self.stderr.write(f"row {row}, column {column}: {message}")
            more = report.error_count - min(ERRORS_PRINTED, len(report.errors))
            if more > 0:
                self.stderr.write(f"... and {more:,} more")
            raise CommandError(
                f"{report.error_count:,} error(s) in {len(report.rejected):,} row(s); "
                "nothing was written"
            )
        if opts["dry_run"]:
            summary["checked"] = True
        else:
            summary.update(
                created=report.created, updated=report.updated, unchanged=report.unchanged
            )
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
