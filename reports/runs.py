"""A report run from plain arguments (slugs, codes, a username, a kind, the report's own
parameters) to its numbers as JSON: what `manage.py report` and the reports API share, so
both print the same figures for the same arguments. Bad arguments raise ReportArgError
naming the argument; each caller words it its way (`--persona: ...`, a 400 on `persona`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.utils.translation import gettext as _

from accounts.models import Persona, Product
from orgs.models import Membership, Organization
from playbooks.models import PlaybookKind

from .definitions import ParamError, ReportSpec
from .filters import ReportFilters
from .periods import CUSTOM, Period
from .services import report_settings_get
from .tables import Report, rounded


class ReportArgError(ValueError):
    def __init__(self, name: str, message: str):
        self.name, self.message = name, message
        super().__init__(f"{name}: {message}")


def report_filters_from_args(
    *,
    org: Organization,
    first: dt.date,
    last: dt.date,
    today: dt.date,
    persona: str | None = None,
    product: str | None = None,
    csm: str | None = None,
    kind: str | None = None,
) -> ReportFilters:
    """The filter bar's choices named as an integration names them; call inside the
    organization's context (the persona and product lookups are tenant-scoped)."""
    labels, persona_id, product_id, owner_id = {}, None, None, None
    if persona:
        found = Persona.objects.filter(slug=persona).first()
        if found is None:
            raise ReportArgError("persona", _("no persona with slug %(slug)r") % {"slug": persona})
        persona_id, labels["persona"] = found.pk, _("Persona: %(name)s") % {"name": found.name}
    if product:
        found = Product.objects.filter(code=product).first()
        if found is None:
            raise ReportArgError("product", _("no product with code %(code)r") % {"code": product})
        product_id, labels["product"] = found.pk, _("Product: %(name)s") % {"name": found.name}
    if csm:
        member = (
            Membership.objects.filter(organization=org, user__username=csm)
            .select_related("user")
            .first()
        )
        if member is None:
            raise ReportArgError(
                "csm",
                _("%(username)r is not a member of %(org)s") % {"username": csm, "org": org.slug},
            )
        owner_id, labels["csm"] = member.user_id, _("CSM: %(name)s") % {"name": member.user}
    kind = kind or ""
    kinds = [value for value, _label in PlaybookKind.choices]
    if kind and kind not in kinds:
        raise ReportArgError("kind", _("choose one of %(kinds)s") % {"kinds": ", ".join(kinds)})
    if kind:
        labels["kind"] = _("Kind: %(kind)s") % {"kind": kind}
    return ReportFilters(
        period=Period(CUSTOM, first, last, last, ""),
        today=today,
        persona_id=persona_id,
        product_id=product_id,
        owner_id=owner_id,
        kind=kind,
        labels=labels,
    )


def report_params_from_args(spec: ReportSpec, args: Mapping[str, str | None]) -> dict:
    """The report's own parameters (`by`, `funnel`), cleaned as the page cleans them."""
    params = {}
    for param in spec.params:
        try:
            params[param.name] = param.clean(args.get(param.name))
        except ParamError as exc:
            raise ReportArgError(param.name, exc.message) from None
    return params


def report_run(
    *,
    org: Organization,
    spec: ReportSpec,
    filters: ReportFilters,
    params: dict,
    only: str | None = None,
) -> Report:
    """The report as its page builds it (the organization's currency and report settings)."""
    settings = report_settings_get(org=org)
    return spec.build(
        filters,
        currency=org.currency,
        goal_pct=settings.reversal_goal_pct,
        settings=settings,
        only=only,
        **params,
    )


def report_as_json(org: Organization, report: Report, f: ReportFilters) -> dict:
    """Every figure and table of a report, values rounded as the page shows them."""
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
