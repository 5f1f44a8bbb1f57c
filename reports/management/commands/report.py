"""`manage.py report --org SLUG --name NAME --from D --to D [--format json|csv]`: the numbers a
report page shows, for analysts and for checking: the same build as the page (filters too:
--persona, --product, --csm, --kind, and the report's own --by / --funnel), as JSON (every
table and figure) or as CSV (one table, --table, by default the report's first)."""

from __future__ import annotations

import json

from django.core.management.base import CommandError
from django.utils import timezone

from orgs.cli import ProjectCommand, check_day, check_range, org_by_slug, parse_date
from orgs.tenancy import org_context
from orgs.timezones import org_today, org_zone
from reports.definitions import REPORTS
from reports.filters import ReportFilters
from reports.runs import (
    ReportArgError,
    report_as_json,
    report_filters_from_args,
    report_params_from_args,
    report_run,
)
from reports.tables import Report, csv_lines


class Command(ProjectCommand):
    help = "Print a report's numbers (the same as its page) as JSON or CSV."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--name", required=True, choices=sorted(REPORTS), help="the report")
        parser.add_argument("--from", dest="date_from", required=True, help="first day")
        parser.add_argument("--to", dest="date_to", help="last day (default: today)")
        parser.add_argument("--format", choices=("json", "csv"), default="json")
        parser.add_argument("--table", help="for --format csv: which table (default: the first)")
        parser.add_argument("--persona", help="a persona's slug")
        parser.add_argument("--product", help="a product's code")
        parser.add_argument("--csm", help="a CSM's username (their own book)")
        parser.add_argument("--kind", default="", help="trigger kind")
        parser.add_argument("--by", help="breakdown (portfolio, effectiveness)")
        parser.add_argument("--funnel", help="the funnel's trigger id (trigger_performance)")

    def handle(self, *args, **opts):
        org = org_by_slug(opts["org"])
        today, zone = org_today(org), org_zone(org).key
        first = check_day(parse_date(opts["date_from"], "--from"), "--from", today=today, zone=zone)
        last = today
        if opts["date_to"]:
            last = check_day(parse_date(opts["date_to"], "--to"), "--to", today=today, zone=zone)
        check_range(first, last)
        spec = REPORTS[opts["name"]]
        with org_context(org), timezone.override(org_zone(org)):
            try:
                f = report_filters_from_args(
                    org=org,
                    first=first,
                    last=last,
                    today=today,
                    persona=opts["persona"],
                    product=opts["product"],
                    csm=opts["csm"],
                    kind=opts["kind"],
                )
                params = report_params_from_args(spec, opts)
            except ReportArgError as exc:
                raise CommandError(f"--{exc.name}: {exc.message}") from None
            table = opts["table"] if opts["format"] == "csv" else None
            # a CSV reads its table only
            only = table if table in spec.tables else None
            report = report_run(org=org, spec=spec, filters=f, params=params, only=only)
            if opts["format"] == "csv":
                self._csv(org, report, f, opts["table"])
            else:
                self.stdout.write(json.dumps(report_as_json(org, report, f), indent=2, default=str))

    def _csv(self, org, report: Report, f: ReportFilters, name: str | None) -> None:
        table = report.table(name) if name else (report.tables[0] if report.tables else None)
        if table is None:
            names = ", ".join(t.key for t in report.tables)
            raise CommandError(f"--table: {name!r} is not a table of this report ({names})")
        preamble = [f"{org.name} · {report.title} · {table.title}", " · ".join(f.describe())]
        for line in csv_lines(table, currency=org.currency, preamble=preamble):
            self.stdout.write(line, ending="")
