"""`manage.py report --org SLUG --name NAME --from D --to D [--format json|csv]`: the numbers a
report page shows, for analysts and for checking: the same build as the page (filters too:
--persona, --product, --csm, --kind, and the report's own --by / --funnel), as JSON (every
table and figure) or as CSV (one table, --table, by default the report's first)."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import Persona, Product
from orgs.cli import ProjectCommand, check_day, check_range, org_by_slug, parse_date
from orgs.models import Membership
from orgs.tenancy import org_context
from orgs.timezones import org_today, org_zone
from reports.definitions import REPORTS, ParamError
from reports.filters import ReportFilters
from reports.periods import CUSTOM, Period
from reports.services import report_settings_get
from reports.tables import Report, csv_lines, rounded


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
            f = self._filters(org, opts, Period(CUSTOM, first, last, last, ""), today)
            params = {}
            for param in spec.params:
                try:
                    params[param.name] = param.clean(opts.get(param.name))
                except ParamError as exc:
                    raise CommandError(f"--{param.name}: {exc.message}") from None
            settings = report_settings_get(org=org)
            table = opts["table"] if opts["format"] == "csv" else None
            report = spec.build(
                f,
                currency=org.currency,
                goal_pct=settings.reversal_goal_pct,
                settings=settings,
                only=table if table in spec.tables else None,  # a CSV reads its table only
                **params,
            )
            if opts["format"] == "csv":
                self._csv(org, report, f, opts["table"])
            else:
                self.stdout.write(json.dumps(_as_json(org, report, f), indent=2, default=str))

    def _filters(self, org, opts, period: Period, today: dt.date) -> ReportFilters:
        labels, persona_id, product_id, owner_id = {}, None, None, None
        if opts["persona"]:
            persona = Persona.objects.filter(slug=opts["persona"]).first()
            if persona is None:
                raise CommandError(f"--persona: no persona with slug {opts['persona']!r}")
            persona_id, labels["persona"] = persona.pk, f"Persona: {persona.name}"
        if opts["product"]:
            product = Product.objects.filter(code=opts["product"]).first()
            if product is None:
                raise CommandError(f"--product: no product with code {opts['product']!r}")
            product_id, labels["product"] = product.pk, f"Product: {product.name}"
        if opts["csm"]:
            member = (
                Membership.objects.filter(organization=org, user__username=opts["csm"])
                .select_related("user")
                .first()
            )
            if member is None:
                raise CommandError(f"--csm: {opts['csm']!r} is not a member of {org.slug}")
            owner_id, labels["csm"] = member.user_id, f"CSM: {member.user}"
        kind = opts["kind"] or ""
        kinds = ("expansion", "retention", "onboarding", "renewal", "custom")
        if kind and kind not in kinds:
            raise CommandError(f"--kind: choose one of {', '.join(kinds)}")
        if kind:
            labels["kind"] = f"Kind: {kind}"
        return ReportFilters(
            period=period,
            today=today,
            persona_id=persona_id,
            product_id=product_id,
            owner_id=owner_id,
            kind=kind,
            labels=labels,
        )

    def _csv(self, org, report: Report, f: ReportFilters, name: str | None) -> None:
        table = report.table(name) if name else (report.tables[0] if report.tables else None)
        if table is None:
            names = ", ".join(t.key for t in report.tables)
            raise CommandError(f"--table: {name!r} is not a table of this report ({names})")
        preamble = [f"{org.name} · {report.title} · {table.title}", " · ".join(f.describe())]
        for line in csv_lines(table, currency=org.currency, preamble=preamble):
            self.stdout.write(line, ending="")


def _as_json(org, report: Report, f: ReportFilters) -> dict:
    return {
        "organization": org.slug,
        "report": report.name,
        "title": report.title,
        "filters": {"from": f.date_from, "to": f.date_to, "described": f.describe()},
        "figures": {fig.key: rounded(fig.value, fig.kind) for fig in report.figures},
        "tables": {
            t.key: {
                "title": t.title,
                "columns": [c.key for c in t.columns],
                "rows": [
                    {c.key: rounded(r.values.get(c.key), c.kind) for c in t.columns} for r in t.rows
                ],
                "totals": [
                    {c.key: rounded(r.values.get(c.key), c.kind) for c in t.columns}
                    for r in t.totals
                ],
            }
            for t in report.tables
        },
    }
