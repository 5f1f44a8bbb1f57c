"""Portfolio KPIs from the subscription ledger: MRR at the start and end of the period and
every movement between (new, expansion, reactivation, contraction, churn), GRR and NRR over
the accounts active at the start, logo churn; activation, NPS and CSAT, the health
distribution and its trend by week; per persona, tier, touch model or CSM; cohorts by start
month; coverage against the goals."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import (
    Account,
    Interaction,
    Persona,
    SurveyResponse,
    Tier,
    TouchModel,
    UsageMetric,
)
from accounts.selectors import customer_on
from health.models import HealthScore

from .. import drill as d
from .. import metrics
from ..filters import ReportFilters
from ..models import CoverageGoal
from ..periods import add_months, month_start, week_start
from ..selectors import portfolio as sel
from ..selectors.scope import account_owners, accounts_q, day_start, instant_range
from ..tables import (
    DAYS,
    INT,
    MONEY,
    PCT,
    SCORE,
    TEXT,
    Chart,
    Column,
    Figure,
    Report,
    Row,
    Table,
    grouped,
    whole,
)
from .base import Param, as_date, month_key, month_label, parse_month, wanted

NAME = "portfolio"
TABLES = ("mrr", "health", "activation", "months", "cohorts", "coverage", "csms")
COHORT_MONTHS = 12
COHORT_CELLS = {f"m{k}": k for k in range(COHORT_MONTHS)}  # a triangle cell's drill-down
GROUP_CHOICES = (
    ("", gettext_lazy("Whole portfolio")),
    ("persona", gettext_lazy("Persona")),
    ("tier", gettext_lazy("Tier")),
    ("touch_model", gettext_lazy("Touch model")),
    ("csm", gettext_lazy("CSM")),
)
PARAMS = (Param("by", gettext_lazy("Break down by"), choices=GROUP_CHOICES, default="persona"),)
COLOURS = ("red", "yellow", "green")


def title() -> str:
    return _("Portfolio KPIs")


def summary() -> str:
    return _("MRR, GRR and NRR from the subscription ledger, health, satisfaction and coverage.")


def group_labels(group: str) -> dict:
    if group == "persona":
        return {**dict(Persona.objects.values_list("pk", "name")), None: _("No persona")}
    if group == "csm":
        users = account_owners()
        return {
            **{u.pk: (u.get_full_name() or u.username) for u in users},
            None: _("Unassigned"),
            0: _("Unassigned"),
        }
    if group == "tier":
        return {**dict(Tier.choices), None: "—", "": "—"}
    if group == "touch_model":
        return {**dict(TouchModel.choices), None: "—", "": "—"}
    return {None: _("Whole portfolio")}


def _key(value):
    return "none" if value in (None, "", 0) else value


def build(
    f: ReportFilters,
    *,
    currency: str,
    by: str = "persona",
    settings=None,
    only: str | None = None,
    **_params,
) -> Report:
    want = wanted(only)
    labels = group_labels(by)
    ledger = sel.ledger(f, group=by) if want("mrr", "months") else []
    ledger_rows, total = [], defaultdict(float, {k: 0.0 for k in sel.LEDGER_COLUMNS})
    for r in ledger:
        for key in sel.LEDGER_COLUMNS:
            total[key] += r[key]
        ledger_rows.append(
            Row(_ledger_values(r, labels.get(r["grp"], r["grp"])), {"grp": _key(r["grp"])})
        )
    ledger_rows.sort(key=lambda row: -row.values["start_mrr"])
    totals = _ledger_values(dict(total), _("All accounts"))

    # the nightly snapshot at the period's end, and satisfaction over the period
    day = sel.snapshot_day(f)
    snap = sel.snapshot(f, day=day, group=by) if day and want("health") else []
    groups = defaultdict(lambda: defaultdict(float))
    for cell in snap:
        g = groups[cell["grp"]]
        for key in (
            "customers",
            "mrr",
            "scored",
            "score_sum",
            "active_30d",
            "untouched_14",
            "untouched_30",
            "untouched_60",
            "untouched_90",
        ):
            g[key] += float(cell[key] or 0)
        if cell["colour"] in COLOURS:
            g[cell["colour"]] += float(cell["customers"] or 0)
    answers = {r["grp"]: r for r in sel.surveys(f, group=by)} if want("health") else {}
    health_rows = []
    all_g, all_a = defaultdict(float), defaultdict(float)
    for grp in sorted(set(groups) | set(answers), key=lambda g: str(labels.get(g, g))):
        g, a = groups.get(grp, {}), answers.get(grp, {})
        for k, v in g.items():
            all_g[k] += v
        for k in (
            "nps_answers",
            "promoters",
            "detractors",
            "csat_answers",
            "csat_sum",
            "satisfied",
        ):
            all_a[k] += float(a.get(k) or 0)
        health_rows.append(Row(_health_values(g, a, labels.get(grp, grp)), {"grp": _key(grp)}))
    health_total = _health_values(all_g, all_a, _("All accounts"))

    # activation of the accounts that started in the period (lifecycle/ sets the dates)
    started = defaultdict(list)
    for r in sel.activation(f, group=by) if want("activation") else []:
        started[r["grp"]].append((r["days"], r["n"]))
    activation_rows = [
        Row(
            {"group": str(labels.get(grp, grp)), **metrics.activation_summary_from_counts(rows)},
            {"grp": _key(grp)},
        )
        for grp, rows in sorted(started.items(), key=lambda i: str(labels.get(i[0], i[0])))
    ]
    activation_total = {
        "group": _("All accounts"),
        **metrics.activation_summary_from_counts(r for rows in started.values() for r in rows),
    }

    # MRR month by month
    monthly = defaultdict(lambda: defaultdict(float))
    for r in sel.ledger_monthly(f) if want("months") else []:
        monthly[as_date(r["month"])][r["kind"]] += float(r["mrr"] or 0)
    running = total["start_mrr"]
    month_rows = []
    month = month_start(f.date_from)
    while month <= f.date_to:
        m = monthly.get(month, {})
        net = sum(m.values())
        running += net
        month_rows.append(
            Row(
                {
                    "month": month_label(month),
                    "new": m.get("new", 0.0),
                    "expansion": m.get("expansion", 0.0),
                    "reactivation": m.get("reactivation", 0.0),
                    "contraction": -m.get("contraction", 0.0),
                    "churned": -m.get("churn", 0.0),
                    "net": net,
                    "end": running,
                },
                {"month": month_key(month)},
            )
        )
        month = add_months(month, 1)

    cohorts = _cohorts(f) if want("cohorts") else None
    coverage_rows, csm_rows, coverage_days = (
        _coverage(f, day, settings) if want("coverage", "csms") else ([], [], 0)
    )
    trend = _trend(f) if only is None else {"labels": []}

    tables = [
        Table(
            "mrr",
            _("MRR, GRR and NRR"),
            [
                Column("group", _("Group"), TEXT),
                Column("accounts_start", _("Customers at start"), INT, "base"),
                Column("start_mrr", _("MRR at start"), MONEY, "base"),
                Column("new_mrr", _("New"), MONEY, "new"),
                Column("expansion", _("Expansion"), MONEY, "expansion"),
                Column("reactivation", _("Came back"), MONEY, "reactivation"),
                Column("contraction", _("Contraction"), MONEY, "contraction"),
                Column("churned", _("Churned"), MONEY, "churned"),
                Column("end_mrr", _("MRR at end"), MONEY, "end"),
                Column("grr", _("GRR"), PCT, "base"),
                Column("nrr", _("NRR"), PCT, "base"),
                Column("logo_churn", _("Logo churn"), PCT, "lost"),
            ],
            ledger_rows if by else [],
            [Row(totals, {}, total=True)],
            empty=_("No MRR in the ledger for this selection."),
        ),
        Table(
            "health",
            _("Health, activation and satisfaction"),
            [
                Column("group", _("Group"), TEXT),
                Column("customers", _("Customers"), INT, "customers"),
                Column("avg_score", _("Average health"), SCORE, "customers"),
                Column("red", _("Red"), PCT, "red"),
                Column("yellow", _("Yellow"), PCT, "yellow"),
                Column("green", _("Green"), PCT, "green"),
                Column("active", _("Active in 30 days"), PCT, "active"),
                Column("nps", _("NPS"), SCORE, "nps"),
                Column("nps_answers", _("NPS answers"), INT, "nps"),
                Column("csat", _("CSAT (1-5)"), SCORE, "csat"),
                Column("csat_answers", _("CSAT answers"), INT, "csat"),
            ],
            health_rows if by else [],
            [Row(health_total, {}, total=True)],
            note=(
                _(
                    "Health and activation as of %(day)s (the nightly snapshot); answers over the "
                    "period."
                )
                % {"day": day.isoformat()}
                if day
                else _(
                    "No nightly snapshot yet for this period: health and activation appear "
                    "after the first nightly run."
                )
            ),
        ),
        Table(
            "activation",
            _("Activation of the accounts that started"),
            [
                Column("group", _("Group"), TEXT),
                Column("started", _("Started in the period"), INT),
                Column("activated", _("Activated"), INT),
                Column("activated_pct", _("Activated (%)"), PCT),
                Column("median_days", _("Median time to activation"), DAYS),
            ],
            activation_rows if by else [],
            [Row(activation_total, {}, total=True)],
            note=_(
                "Accounts whose first subscription started in the period; time to activation "
                "counts from that start to the first night the activation condition held."
            ),
        ),
        Table(
            "months",
            _("MRR month by month"),
            [
                Column("month", _("Month"), TEXT),
                Column("new", _("New"), MONEY, "new"),
                Column("expansion", _("Expansion"), MONEY, "expansion"),
                Column("reactivation", _("Came back"), MONEY, "reactivation"),
                Column("contraction", _("Contraction"), MONEY, "contraction"),
                Column("churned", _("Churned"), MONEY, "churned"),
                Column("net", _("Net change"), MONEY),
                Column("end", _("MRR at month end"), MONEY),
            ],
            month_rows,
        ),
        cohorts,
        Table(
            "coverage",
            _("Coverage per persona"),
            [
                Column("group", _("Persona"), TEXT),
                Column("customers", _("Customers"), INT, "customers"),
                Column(
                    "untouched",
                    _("Not contacted in %(n)d days") % {"n": coverage_days},
                    INT,
                    "untouched",
                ),
                Column("covered", _("Covered"), PCT, "customers"),
                Column("goal", _("Goal"), PCT),
                Column("gap", _("Against the goal"), "points"),
            ],
            coverage_rows,
            note=_(
                "An account is covered when a contact was logged in the last %(n)d days "
                "(an account never contacted counts from the day it signed)."
            )
            % {"n": coverage_days},
            empty=_("No nightly snapshot yet."),
        ),
        Table(
            "csms",
            _("Accounts per CSM"),
            [
                Column("group", _("CSM"), TEXT),
                Column("customers", _("Customers"), INT, "customers"),
                Column("mrr", _("MRR"), MONEY, "customers"),
                Column(
                    "untouched",
                    _("Not contacted in %(n)d days") % {"n": coverage_days},
                    INT,
                    "untouched",
                ),
                Column("covered", _("Covered"), PCT, "customers"),
            ],
            csm_rows,
            empty=_("No nightly snapshot yet."),
        ),
    ]
    charts = []
    if month_rows:
        charts.append(
            Chart(
                "chart-portfolio-mrr",
                "bars",
                _("MRR movements by month"),
                {
                    "labels": [r.values["month"] for r in month_rows],
                    "stacked": True,
                    "money": True,
                    "series": [
                        {
                            "label": _("New"),
                            "tone": "info",
                            "values": [round(r.values["new"]) for r in month_rows],
                        },
                        {
                            "label": _("Expansion"),
                            "tone": "good",
                            "values": [
                                round(r.values["expansion"] + r.values["reactivation"])
                                for r in month_rows
                            ],
                        },
                        {
                            "label": _("Contraction"),
                            "tone": "warning",
                            "values": [round(-r.values["contraction"]) for r in month_rows],
                        },
                        {
                            "label": _("Churned"),
                            "tone": "bad",
                            "values": [round(-r.values["churned"]) for r in month_rows],
                        },
                    ],
                },
                _(
                    "Per month, MRR gained (new, expansion) above the axis and lost (contraction, "
                    "churn) below it; the same figures are in the MRR month by month table."
                ),
            )
        )
    if trend["labels"]:
        charts.append(
            Chart(
                "chart-portfolio-health",
                "health-trend",
                _("Health distribution by week"),
                trend,
                _(
                    "Customers per health colour at the end of each week, as a share of those "
                    "scored; the latest week is in the Health table."
                ),
            )
        )
    grr, nrr = totals["grr"], totals["nrr"]
    figures = [
        Figure(
            "end_mrr",
            _("MRR at end"),
            totals["end_mrr"],
            MONEY,
            "end",
            table="mrr",
            column="end_mrr",
            note=_("from %(start)s") % {"start": _money(totals["start_mrr"], currency)},
        ),
        Figure(
            "grr",
            _("GRR"),
            grr,
            PCT,
            "base",
            table="mrr",
            column="grr",
            tone="good"
            if grr is not None and grr >= 90
            else ("warning" if grr is not None else ""),
        ),
        Figure(
            "nrr",
            _("NRR"),
            nrr,
            PCT,
            "base",
            table="mrr",
            column="nrr",
            tone="good"
            if nrr is not None and nrr >= 100
            else ("warning" if nrr is not None else ""),
        ),
        Figure(
            "logo_churn",
            _("Logo churn"),
            totals["logo_churn"],
            PCT,
            "lost",
            table="mrr",
            column="logo_churn",
            note=ngettext(
                "%(n)s customer lost", "%(n)s customers lost", whole(totals["logos_lost"])
            )
            % grouped(totals["logos_lost"]),
        ),
        Figure(
            "active",
            _("Active in 30 days"),
            health_total["active"],
            PCT,
            "active",
            table="health",
            column="active",
        ),
        Figure(
            "nps",
            _("NPS"),
            health_total["nps"],
            SCORE,
            "nps",
            table="health",
            column="nps",
            note=ngettext("%(n)s answer", "%(n)s answers", whole(health_total["nps_answers"]))
            % grouped(health_total["nps_answers"]),
        ),
    ]
    return Report(
        name=NAME,
        title=title(),
        intro=summary(),
        figures=figures,
        tables=[t for t in tables if t is not None],
        charts=charts,
        definitions=DEFINITIONS(coverage_days),
        extra={"snapshot_day": day, "by": by},
    )


def _money(value, currency) -> str:
    from ..tables import display

    return display(value, MONEY, currency)


def _ledger_values(r: dict, label) -> dict:
    ret = metrics.retention(
        start_mrr=r["start_mrr"],
        churned=r["base_churned"],
        contraction=r["base_contraction"],
        expansion=r["base_expansion"],
        gross_loss=r["base_loss"],
    )
    return {
        **r,
        "group": str(label),
        "grr": ret.grr,
        "nrr": ret.nrr,
        "logo_churn": metrics.pct(r["logos_lost"], r["accounts_start"]),
    }


def _health_values(g: dict, a: dict, label) -> dict:
    scored = g.get("scored", 0)
    coloured = sum(g.get(c, 0) for c in COLOURS)
    return {
        "group": str(label),
        "customers": int(g.get("customers", 0)),
        "avg_score": metrics.ratio(g.get("score_sum", 0), scored),
        **{c: metrics.pct(g.get(c, 0), coloured) for c in COLOURS},
        "active": metrics.pct(g.get("active_30d", 0), g.get("customers", 0)),
        "nps": metrics.nps(
            promoters=int(a.get("promoters") or 0),
            detractors=int(a.get("detractors") or 0),
            responses=int(a.get("nps_answers") or 0),
        ),
        "nps_answers": int(a.get("nps_answers") or 0),
        "csat": metrics.ratio(a.get("csat_sum") or 0, a.get("csat_answers") or 0),
        "csat_answers": int(a.get("csat_answers") or 0),
    }


def _cohorts(f: ReportFilters) -> Table:
    last_month = month_start(f.date_to)
    first = add_months(last_month, -(COHORT_MONTHS - 1))
    movements = sel.cohort_movements(f, first=first, last=f.date_to)
    sizes = sel.cohort_sizes(f, first=first, last=f.date_to)
    import pandas as pd

    frame = pd.DataFrame(movements, columns=["cohort", "month", "delta"])
    cohorts = [add_months(first, k) for k in range(COHORT_MONTHS)]
    triangle = metrics.cohort_triangle(
        frame, cohorts=cohorts, months=COHORT_MONTHS, last_month=last_month
    )
    columns = [
        Column("cohort", _("Start month"), TEXT),
        Column("accounts", _("Accounts"), INT, "cohort"),
        Column("start_mrr", _("MRR, month 0"), MONEY, "cohort"),
        *[Column(f"m{k}", _("M%(k)d") % {"k": k}, PCT, f"m{k}") for k in range(COHORT_MONTHS)],
    ]
    rows = []
    for entry in triangle:
        cohort = entry["cohort"]
        values = {
            "cohort": month_label(cohort),
            "accounts": sizes.get(cohort, 0),
            "start_mrr": entry["start_mrr"],
            **{f"m{k}": v for k, v in enumerate(entry["cells"])},
        }
        rows.append(Row(values, {"cohort": month_key(cohort)}))
    return Table(
        "cohorts",
        _("Cohort retention by start month (MRR, % of month 0)"),
        columns,
        rows,
        note=_(
            "Each row: the accounts that became customers that month; each cell, their MRR "
            "at the end of the month that many months later, as a share of their MRR at "
            "the end of their first month. Empty cells are months still to come."
        ),
    )


def _coverage(f: ReportFilters, day, settings) -> tuple[list[Row], list[Row], int]:
    days = settings.coverage_days if settings else 30
    goal = settings.coverage_goal_pct if settings else 80
    if day is None:
        return [], [], days
    goals = dict(CoverageGoal.objects.values_list("persona_id", "goal_pct"))
    names = group_labels("persona")
    rows = []
    for cell in _grouped(sel.snapshot(f, day=day, group="persona")):
        persona = cell["grp"] or None
        covered = metrics.pct(cell["customers"] - cell[f"untouched_{days}"], cell["customers"])
        target = goals.get(persona, goal)
        rows.append(
            Row(
                {
                    "group": str(names.get(persona, persona)),
                    "customers": cell["customers"],
                    "untouched": cell[f"untouched_{days}"],
                    "covered": covered,
                    "goal": target,
                    "gap": None if covered is None else covered - target,
                },
                {"grp": _key(persona)},
            )
        )
    rows.sort(key=lambda r: (r.values["gap"] is None, r.values["gap"] or 0))
    users = group_labels("csm")
    csm_rows = []
    for cell in _grouped(sel.snapshot(f, day=day, group="csm")):
        owner = cell["grp"] or None
        csm_rows.append(
            Row(
                {
                    "group": str(users.get(owner, owner)),
                    "customers": cell["customers"],
                    "mrr": cell["mrr"],
                    "untouched": cell[f"untouched_{days}"],
                    "covered": metrics.pct(
                        cell["customers"] - cell[f"untouched_{days}"], cell["customers"]
                    ),
                },
                {"grp": _key(owner)},
            )
        )
    csm_rows.sort(key=lambda r: -r.values["customers"])
    return rows, csm_rows, days


def _grouped(cells: list[dict]) -> list[dict]:
    out = {}
    for cell in cells:
        g = out.setdefault(cell["grp"], defaultdict(float, grp=cell["grp"]))
        for key in (
            "customers",
            "mrr",
            "untouched_14",
            "untouched_30",
            "untouched_60",
            "untouched_90",
        ):
            g[key] += float(cell[key] or 0)
    for g in out.values():
        for key in ("customers", "untouched_14", "untouched_30", "untouched_60", "untouched_90"):
            g[key] = int(g[key])
    return list(out.values())


def _trend(f: ReportFilters) -> dict:
    """Per week of the period (the last snapshot of each week), the share of scored customers
    in each colour."""
    days = sel.snapshot_days(first=f.date_from, last=f.date_to)
    last_of_week = {}
    for day in days:
        last_of_week[week_start(day)] = day
    chosen = sorted(last_of_week.values())
    cells = defaultdict(dict)
    for r in sel.snapshot_trend(f, days=chosen):
        cells[r["date"]][r["colour"]] = r["customers"] or 0
    labels, series = [], {c: [] for c in COLOURS}
    for day in chosen:
        coloured = sum(cells[day].get(c, 0) for c in COLOURS)
        labels.append(day.isoformat())
        for c in COLOURS:
            share = metrics.pct(cells[day].get(c, 0), coloured)
            series[c].append(None if share is None else round(share, 1))
    return {
        "labels": labels,
        "series": [
            {"label": _("Red"), "band": "red", "values": series["red"]},
            {"label": _("Yellow"), "band": "yellow", "values": series["yellow"]},
            {"label": _("Green"), "band": "green", "values": series["green"]},
        ],
    }


def DEFINITIONS(coverage_days: int) -> list[tuple[str, str]]:  # noqa: N802
    return [
        (
            _("The base"),
            _(
                "The accounts active at the period's start: MRR above zero in the "
                "subscription ledger the day before it begins."
            ),
        ),
        (
            _("GRR"),
            _(
                "Gross revenue retention = (MRR at start − churned − contraction) / MRR at "
                "start, over the base; an account's losses count up to its MRR at the "
                "start, so GRR is between 0% and 100%."
            ),
        ),
        (
            _("NRR"),
            _(
                "Net revenue retention = (MRR at start − churned − contraction + "
                "expansion) / MRR at start, over the base (a base account that churned "
                "and came back in the period counts its return as expansion)."
            ),
        ),
        (
            _("New, expansion, came back, contraction, churned"),
            _(
                "The ledger's movements in the period, for all accounts: new contracts, upgrades "
                "and add-ons, accounts returning after a churn, downgrades and cancelled add-ons, "
                "subscriptions ended by a churn. MRR at end = start + new + expansion + "
                "came back − contraction − churned."
            ),
        ),
        (
            _("Logo churn"),
            _("Base accounts with no MRR at the period's end, as a share of the base."),
        ),
        (
            _("Active in 30 days"),
            _(
                "Customers whose activity metric (an admin chooses it in "
                "Report settings; logins by default) was above zero on a "
                "day of the 30 before the snapshot."
            ),
        ),
        (
            _("NPS and CSAT"),
            _(
                "NPS = % promoters (9-10) − % detractors (0-6) of the NPS answers "
                "in the period; CSAT is the average answer, 1 to 5."
            ),
        ),
        (
            _("Health distribution"),
            _(
                "Of the customers scored on the snapshot day, the share in "
                "each colour band of their health model."
            ),
        ),
        (
            _("Cohorts"),
            _(
                "The accounts that became customers in a month (customer since), and "
                "their MRR at the end of each later month as a share of month 0."
            ),
        ),
        (
            _("Coverage"),
            _(
                "Customers with a contact logged in the last %(n)d days, against the "
                "goal of their persona (or the organization's)."
            )
            % {"n": coverage_days},
        ),
        (
            _("Groups"),
            _(
                "Persona, tier, touch model and CSM are the accounts' today; the product "
                "filter keeps the subscriptions of that product in the ledger figures "
                "(health, activation, satisfaction and coverage are for whole accounts)."
            ),
        ),
    ]


# -- drill-down -------------------------------------------------------------------------------

LEDGER_DRILLS = {
    "base": gettext_lazy("Customers at the start"),
    "end": gettext_lazy("Customers at the end"),
    "lost": gettext_lazy("Customers lost"),
    "new": gettext_lazy("Accounts with new MRR"),
    "expansion": gettext_lazy("Accounts that expanded"),
    "reactivation": gettext_lazy("Accounts that came back"),
    "contraction": gettext_lazy("Accounts that contracted"),
    "churned": gettext_lazy("Accounts whose subscriptions churned"),
}


def _group_value(by: str, raw):
    if raw in (None, ""):
        return "", False
    if raw == "none":
        return None, True
    if by in ("persona", "csm"):
        if not str(raw).isdigit() or len(str(raw)) > 18:
            raise d.DrillError("grp: not an id")
        return int(raw), True
    return str(raw)[:16], True


GROUP_FIELDS = {
    "persona": "persona_id",
    "csm": "owner_id",
    "tier": "tier",
    "touch_model": "touch_model",
}


def drill(
    f: ReportFilters,
    *,
    table: str,
    column: str,
    keys,
    by: str = "persona",
    settings=None,
    **_params,
) -> d.Drill:
    where = f.period.label()
    month = keys.get("month")
    if month:
        first = parse_month(month)
        if first is None:
            raise d.DrillError("month: not a month (YYYY-MM)")
        last = add_months(first, 1) - dt.timedelta(days=1)
        f = f.with_period(
            f.period.__class__("custom", max(first, f.date_from), min(last, f.date_to), last, "")
        )
        where = month_label(first)
    # which breakdown the row's key belongs to
    group = {"coverage": "persona", "csms": "csm", "mrr": by, "health": by}.get(table, "")
    value, grouped = _group_value(group, keys.get("grp")) if group else ("", False)
    if column in LEDGER_DRILLS:
        sql, params = sel.ledger_accounts_sql(
            f, condition=column, group=group if grouped else "", value=value
        )
        qs = Account.objects.filter(pk__in=RawSQL(sql, params))
        return d.accounts(qs, f"{LEDGER_DRILLS[column]} — {where}")
    if column == "cohort" and keys.get("cohort"):
        first = parse_month(keys["cohort"])
        if first is None:
            raise d.DrillError("cohort: not a month (YYYY-MM)")
        last = add_months(first, 1) - dt.timedelta(days=1)
        qs = Account.objects.filter(customer_since__gte=first, customer_since__lte=last).filter(
            accounts_q(f)
        )
        return d.accounts(qs, _("Customers since %(month)s") % {"month": month_label(first)})
    if table == "cohorts" and column in COHORT_CELLS:
        first = parse_month(keys.get("cohort") or "")
        if first is None:
            raise d.DrillError("cohort: not a month (YYYY-MM)")
        k = COHORT_CELLS[column]
        through = add_months(first, k + 1) - dt.timedelta(days=1)
        return d.accounts(
            sel.cohort_accounts_paying(f, cohort=first, through=through),
            _("Customers since %(month)s still paying at the end of month %(k)d")
            % {"month": month_label(first), "k": k},
        )
    base = Account.objects.filter(accounts_q(f))
    if grouped:
        field = GROUP_FIELDS[group]
        base = base.filter(**{f"{field}__isnull": True} if value is None else {field: value})
    if column in ("nps", "csat"):
        start, end = instant_range(f.date_from, f.date_to)
        answered = SurveyResponse.objects.filter(
            account=OuterRef("pk"), kind=column, answered_at__gte=start, answered_at__lt=end
        )
        return d.accounts(
            base.filter(Exists(answered)),
            _("Accounts that answered %(kind)s — %(where)s")
            % {"kind": column.upper(), "where": where},
        )
    day = sel.snapshot_day(f)
    if day is None:
        raise d.DrillError("no nightly snapshot for this period yet")
    customers = base.filter(customer_on(day))
    on = _("as of %(day)s") % {"day": day.isoformat()}
    if column == "customers":
        return d.accounts(customers, _("Customers %(on)s") % {"on": on})
    if column in COLOURS:
        scored = HealthScore.objects.filter(account=OuterRef("pk"), date=day, colour=column)
        return d.accounts(
            customers.filter(Exists(scored)),
            _("Customers in %(colour)s %(on)s") % {"colour": column, "on": on},
        )
    if column == "active":
        metric = settings.activity_metric if settings else "logins"
        used = UsageMetric.objects.filter(
            account=OuterRef("pk"),
            metric=metric,
            value__gt=0,
            date__gt=day - dt.timedelta(days=metrics.ACTIVE_DAYS),
            date__lte=day,
        )
        return d.accounts(
            customers.filter(Exists(used)),
            _("Customers active in the 30 days to %(day)s") % {"day": day.isoformat()},
        )
    if column == "untouched":
        days = settings.coverage_days if settings else 30
        since = day_start(day - dt.timedelta(days=days - 1))
        touched = Interaction.objects.filter(
            account=OuterRef("pk"),
            occurred_at__gte=since,
            occurred_at__lt=day_start(day + dt.timedelta(days=1)),
        )
        qs = customers.exclude(Exists(touched)).filter(
            Q(customer_since__isnull=True) | Q(customer_since__lte=day - dt.timedelta(days=days))
        )
        return d.accounts(
            qs, _("Customers not contacted in %(n)d days %(on)s") % {"n": days, "on": on}
        )
    raise d.DrillError(f"{column}: no such number in this report")
