"""The retention safety net: month by month, the alerts raised and completed and the accounts
that went through the net (reverted or churned) against the reversal goal; churn by product
and by reason; the average lifetime of churned accounts; predictability (the churners flagged
30, 60 and 90 days ahead, per persona); and the churn forecast per quarter beside what
happened."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pandas as pd
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Account, ChurnReason, MrrMovement, Persona
from playbooks.models import Playbook
from triggers.models import Firing

from .. import drill as d
from .. import metrics
from ..filters import ReportFilters
from ..periods import add_months, quarter_start
from ..selectors import retention as sel
from ..tables import (
    INT,
    MONEY,
    PCT,
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
from .base import as_date, month_key, month_label, month_range, parse_month, wanted

NAME = "retention"
TABLES = ("monthly", "predictability", "by_product", "by_reason", "forecast")
SOURCE_CASE_SHARE = 80  # the source case's Enterprise safety net flagged about 80% of churners
# Retention outcomes (retained or churned) the year before a quarter needs for a forecast.
MIN_HISTORY = 20


def title() -> str:
    return _("Retention safety net")


def summary() -> str:
    return _("Which at-risk customers the team caught, saved or lost, and how far ahead.")


def _quarter_label(first: dt.date) -> str:
    return _("Q%(q)d %(year)d") % {"q": (first.month - 1) // 3 + 1, "year": first.year}


def _quarter_key(first: dt.date) -> str:
    return f"{first.year:04d}-Q{(first.month - 1) // 3 + 1}"


def build(
    f: ReportFilters, *, currency: str, goal_pct: int, only: str | None = None, **_params
) -> Report:
    want = wanted(only)
    monthly = want("monthly")
    alarms = {as_date(r["month"]): r for r in sel.alarms_monthly(f)} if monthly else {}
    net = {as_date(r["month"]): r for r in sel.net_monthly(f)} if monthly else {}
    # the period's churners, read once: the month by month churn, predictability, the
    # reasons and the lifetimes all count them
    churners = (
        sel.churners(f) if want("monthly", "predictability", "by_reason") else sel.no_churners()
    )
    churned = _churn_monthly(churners) if monthly else {}
    months = sorted({*alarms, *net, *churned} | _months(f))
    month_rows, tot = [], defaultdict(int)
    for month in months:
        a, n, c = alarms.get(month, {}), net.get(month, {}), churned.get(month, {})
        values = {
            "month": month_label(month),
            "raised": a.get("raised", 0),
            "completed": a.get("completed", 0),
            "through": n.get("through", 0),
            "retained": n.get("retained", 0),
            "churned": n.get("churned", 0),
            "not_confirmed": n.get("not_confirmed", 0),
            "churned_all": c.get("churned", 0),
        }
        for key in (
            "raised",
            "completed",
            "through",
            "retained",
            "churned",
            "not_confirmed",
            "churned_all",
        ):
            tot[key] += values[key]
        month_rows.append(Row(_monthly_rates(values, goal_pct), {"month": month_key(month)}))
    totals = _monthly_rates({**tot, "month": _("Whole period")}, goal_pct)

    # predictability, per persona
    firings = sel.churner_firings(f) if want("predictability") else sel.no_churner_firings()
    pred = metrics.predictability(churners, firings)
    names = dict(Persona.objects.values_list("pk", "name"))
    pred_rows, pred_total = [], None
    for r in pred.to_dict("records"):
        persona = r["persona_id"]
        if persona == "all":
            pred_total = Row({**r, "persona": _("All personas")}, {}, total=True)
            continue
        missing = persona is None or persona != persona  # None or NaN: no persona
        key = "none" if missing else int(persona)
        label = _("No persona") if missing else names.get(int(persona), "?")
        pred_rows.append(Row({**r, "persona": label}, {"of_persona": key}))
    pred_rows.sort(key=lambda row: -row.values["churners"])
    lifetime = metrics.average_lifetime_months(churners)

    # churn by product and reason
    product_rows = [
        Row(
            {
                "product": r["subscription__product__name"] or _("No product"),
                "accounts": r["accounts"],
                "mrr": -float(r["mrr"] or 0),
            },
            {"of_product": r["subscription__product_id"] or "none"},
        )
        for r in (sel.churn_by_product(f) if want("by_product") else [])
    ]
    reasons = _churn_by_reason(churners) if want("by_reason") else []
    lifetimes = _lifetime_by_reason(churners)
    all_churned = sum(r["accounts"] for r in reasons)
    reason_rows = [
        Row(
            {
                "reason": r["churn_reason__name"] or _("No reason given"),
                "accounts": r["accounts"],
                "share": metrics.pct(r["accounts"], all_churned),
                "lifetime": lifetimes.get(r["churn_reason_id"]),
            },
            {"reason": r["churn_reason_id"] or "none"},
        )
        for r in reasons
    ]

    forecast_rows, next_quarter = _forecast(f) if want("forecast") else ([], None)
    tables = [
        Table(
            "monthly",
            _("Month by month"),
            [
                Column("month", _("Month"), TEXT),
                Column("raised", _("Alerts raised"), INT, "raised"),
                Column("completed", _("Completed"), INT, "completed"),
                Column("completion", _("Completion rate"), PCT, "completed"),
                Column("through", _("Accounts through the net"), INT, "through"),
                Column("retained", _("Reverted"), INT, "retained"),
                Column("churned", _("Churned after the net"), INT, "churned"),
                Column("save_rate", _("Save rate"), PCT, "retained"),
                Column("goal_share", _("% of reversal goal"), PCT, "goal_share"),
                Column("churned_all", _("All accounts churned"), INT, "churned_all"),
            ],
            month_rows,
            [Row(totals, {}, total=True)],
            empty=_("Nothing in this period."),
        ),
        Table(
            "predictability",
            _("Predictability: churners flagged in advance"),
            [
                Column("persona", _("Persona"), TEXT),
                Column("churners", _("Accounts churned"), INT, "churners"),
                Column("flagged_30", _("Flagged 30+ days before"), INT, "flagged_30"),
                Column("share_30", _("Share, 30 days"), PCT, "flagged_30"),
                Column("flagged_60", _("Flagged 60+ days before"), INT, "flagged_60"),
                Column("share_60", _("Share, 60 days"), PCT, "flagged_60"),
                Column("flagged_90", _("Flagged 90+ days before"), INT, "flagged_90"),
                Column("share_90", _("Share, 90 days"), PCT, "flagged_90"),
            ],
            pred_rows,
            [pred_total] if pred_total else [],
            note=_(
                "The source case's intelligence team saw about %(n)d%% of Enterprise "
                "churners flagged beforehand."
            )
            % {"n": SOURCE_CASE_SHARE},
            empty=_("No account churned in this period."),
        ),
        Table(
            "by_product",
            _("Churn by product"),
            [
                Column("product", _("Product"), TEXT),
                Column("accounts", _("Accounts"), INT, "accounts"),
                Column("mrr", _("MRR lost"), MONEY, "accounts"),
            ],
            product_rows,
            empty=_("No subscription was cancelled by a churn in this period."),
        ),
        Table(
            "by_reason",
            _("Churn by reason"),
            [
                Column("reason", _("Reason"), TEXT),
                Column("accounts", _("Accounts"), INT, "accounts"),
                Column("share", _("Share"), PCT, "accounts"),
                Column("lifetime", _("Average lifetime (months)"), "score", "accounts"),
            ],
            reason_rows,
            empty=_("No account churned in this period."),
        ),
        Table(
            "forecast",
            _("Churn forecast per quarter, beside what happened"),
            [
                Column("quarter", _("Quarter"), TEXT),
                Column("at_risk", _("At risk at its start"), INT, "at_risk"),
                Column("renewing", _("Renewing"), INT),
                Column("save_share", _("Save rate, year before"), PCT),
                Column("forecast", _("Forecast churn"), "score"),
                Column("actual", _("Actual churn"), INT, "actual"),
            ],
            forecast_rows,
            note=_(
                "Quarters are counted back from today, whatever the period; the persona "
                "and CSM filters apply."
            ),
            empty=_("No nightly snapshot yet: the forecast needs the nightly facts."),
        ),
    ]
    charts = []
    if month_rows:
        charts.append(
            Chart(
                "chart-retention-months",
                "bars",
                _("Accounts through the net: reverted and churned"),
                {
                    "labels": [r.values["month"] for r in month_rows],
                    "series": [
                        {
                            "label": _("Reverted"),
                            "tone": "good",
                            "values": [r.values["retained"] for r in month_rows],
                        },
                        {
                            "label": _("Churned after the net"),
                            "tone": "bad",
                            "values": [r.values["churned"] for r in month_rows],
                        },
                        {
                            "label": _("All accounts churned"),
                            "tone": "warning",
                            "values": [r.values["churned_all"] for r in month_rows],
                        },
                    ],
                },
                _(
                    "Per month, accounts reverted and churned after the net and all churned "
                    "accounts; the same figures are in the Month by month table."
                ),
            )
        )
    if forecast_rows:
        charts.append(
            Chart(
                "chart-retention-forecast",
                "bars",
                _("Forecast and actual churn per quarter"),
                {
                    "labels": [r.values["quarter"] for r in forecast_rows],
                    "series": [
                        {
                            "label": _("Forecast churn"),
                            "tone": "warning",
                            "values": [_round(r.values["forecast"]) for r in forecast_rows],
                        },
                        {
                            "label": _("Actual churn"),
                            "tone": "bad",
                            "values": [r.values["actual"] for r in forecast_rows],
                        },
                    ],
                },
                _(
                    "Forecast and actual churned accounts per quarter; the same figures are in "
                    "the forecast table."
                ),
            )
        )
    share_30 = pred_total.values["share_30"] if pred_total else None
    save = totals["save_rate"]
    figures = [
        Figure(
            "raised",
            _("Alerts raised"),
            totals["raised"],
            INT,
            "raised",
            table="monthly",
            column="raised",
            note=_("%(p)s completed") % {"p": _pct_text(totals["completion"])},
        ),
        Figure(
            "save_rate",
            _("Save rate"),
            save,
            PCT,
            "retained",
            table="monthly",
            column="save_rate",
            note=_("goal %(goal)d%%: %(share)s of it")
            % {"goal": goal_pct, "share": _pct_text(totals["goal_share"])},
            tone=_tone(save, goal_pct),
        ),
        Figure(
            "predictability",
            _("Churners flagged 30+ days ahead"),
            share_30,
            PCT,
            "flagged_30",
            table="predictability",
            column="share_30",
            note=ngettext(
                "%(n)s churned in the period", "%(n)s churned in the period", whole(len(churners))
            )
            % grouped(len(churners)),
        ),
        Figure(
            "lifetime",
            _("Average lifetime of churned accounts"),
            lifetime,
            "score",
            "churners",
            table="predictability",
            column="churners",
            note=_("months"),
        ),
    ]
    if next_quarter is not None:
        figures.append(
            Figure(
                "forecast",
                _("Churn forecast, next quarter"),
                next_quarter.values["forecast"],
                "score",
                "at_risk",
                keys={"quarter": next_quarter.keys["quarter"]},
                table="forecast",
                column="forecast",
                tone="warning",
                note=ngettext(
                    "%(n)s account at risk today",
                    "%(n)s accounts at risk today",
                    whole(next_quarter.values["at_risk"]),
                )
                % grouped(next_quarter.values["at_risk"]),
            )
        )
    return Report(
        name=NAME,
        title=title(),
        intro=summary(),
        figures=figures,
        tables=tables,
        charts=charts,
        definitions=DEFINITIONS(goal_pct),
        extra={"goal_pct": goal_pct},
    )


def _round(value):
    return None if value is None else round(value, 1)


def _pct_text(value) -> str:
    from ..tables import display

    return display(value, PCT)


def _tone(value, goal) -> str:
    if value is None:
        return ""
    return "good" if value >= goal else "bad"


def _months(f: ReportFilters) -> set[dt.date]:
    out, month = set(), f.date_from.replace(day=1)
    while month <= f.date_to:
        out.add(month)
        month = add_months(month, 1)
    return out


def _monthly_rates(values: dict, goal_pct: int) -> dict:
    values["completion"] = metrics.pct(values["completed"], values["raised"])
    values["save_rate"] = metrics.save_rate(retained=values["retained"], churned=values["churned"])
    values["goal_share"] = (
        None if values["save_rate"] is None else 100.0 * values["save_rate"] / goal_pct
    )
    return values


def _churn_monthly(churners) -> dict:
    """{month: {"churned": accounts}}: the churners per month of their churn date."""
    if churners.empty:
        return {}
    months = pd.to_datetime(churners["churned_at"]).dt.to_period("M").dt.start_time.dt.date
    return {m: {"churned": int(n)} for m, n in months.value_counts().items()}


def _churn_by_reason(churners) -> list[dict]:
    """The churners per reason (churn_reason_id, churn_reason__name, accounts): most
    accounts first, then by name in the database's order, no reason last."""
    if churners.empty:
        return []
    names = list(ChurnReason.objects.order_by("name").values_list("pk", "name"))
    rank = {pk: i for i, (pk, _name) in enumerate(names)}
    label = dict(names)
    counts = churners["churn_reason_id"].value_counts(dropna=False)
    rows = []
    for reason, n in counts.items():
        reason = None if reason != reason or reason is None else int(reason)
        rows.append(
            {"churn_reason_id": reason, "churn_reason__name": label.get(reason), "accounts": int(n)}
        )
    rows.sort(key=lambda r: (-r["accounts"], rank.get(r["churn_reason_id"], len(rank))))
    return rows


def _lifetime_by_reason(churners) -> dict:
    if churners.empty:
        return {}
    # the reason read with the churners (a second read by id listed every churner)
    frame = churners.assign(reason=churners["churn_reason_id"])
    return {
        (None if k != k else k): metrics.average_lifetime_months(g)
        for k, g in frame.groupby("reason", dropna=False)
    }


def _forecast(f: ReportFilters) -> tuple[list[Row], Row | None]:
    """The last four quarters, this one and the next: the risk carried into each (the
    nightly cells of its first day, or the first snapshot within two weeks), the forecast it
    makes, and the accounts that churned in it."""
    today = f.today
    current = quarter_start(today)
    starts = [add_months(current, -3 * k) for k in (4, 3, 2, 1, 0)]
    days = sel.fact_days(first=starts[0], last=today)
    chosen = {}
    for start in starts:
        near = [x for x in days if start <= x <= start + dt.timedelta(days=14)]
        if near:
            chosen[start] = near[0]
    nxt = add_months(current, 3)
    if days:
        chosen[nxt] = days[-1]  # the risk open today
    cells = sel.risk_days(f, days=list(set(chosen.values())))
    actual = sel.churned_per_quarter(f, first=starts[0], last=today)
    rows, next_row = [], None
    for start in [*starts, nxt]:
        cell = cells.get(chosen.get(start))
        if cell is None:
            continue
        decided = cell["retained_12m"] + cell["lost_12m"]
        # too few outcomes the year before to know the save rate: no forecast
        save = metrics.ratio(cell["retained_12m"], decided) if decided >= MIN_HISTORY else None
        renewal_churn = metrics.ratio(cell["renewals_lost_12m"], cell["renewals_12m"])
        values = {
            "quarter": _quarter_label(start)
            + ("" if start < current else (_(" (to date)") if start == current else _(" (next)"))),
            "at_risk": cell["at_risk"],
            "renewing": cell["renewing"],
            "save_share": None if save is None else 100.0 * save,
            "forecast": None
            if save is None
            else metrics.churn_forecast(
                at_risk=cell["at_risk"],
                saved_share=save,
                renewing=cell["renewing"],
                renewal_churn_share=renewal_churn,
            ),
            "actual": actual.get(start, 0) if start <= current else None,
            "snapshot": chosen[start],
        }
        row = Row(values, {"quarter": _quarter_key(start)})
        rows.append(row)
        if start == nxt:
            next_row = row
    return rows, next_row


def DEFINITIONS(goal_pct: int) -> list[tuple[str, str]]:  # noqa: N802
    return [
        (
            _("Alerts raised"),
            _(
                "Firings of retention triggers in the month: an alert for the "
                "CSM to confirm, or a playbook opened at once."
            ),
        ),
        (
            _("Completed"),
            _(
                "Alerts dismissed with a reason, or whose playbook was closed with "
                "an outcome. Completion rate = completed / raised."
            ),
        ),
        (
            _("Accounts through the net"),
            _(
                "Accounts with a retention playbook closed in the "
                "month; reverted = closed retained, churned = closed "
                "churned."
            ),
        ),
        (
            _("Save rate and the goal"),
            _(
                "Reverted / (reverted + churned). The reversal goal "
                "is %(goal)d%% (an admin sets it under Configuration, "
                "Report settings); %% of goal = save rate / goal."
            )
            % {"goal": goal_pct},
        ),
        (
            _("Predictability"),
            _(
                "Of the accounts that churned in the period, those with a "
                "retention firing (alert or playbook) at least 30, 60 or 90 "
                "days before their churn date, and no more than a year before."
            ),
        ),
        (
            _("Average lifetime"),
            _(
                "From becoming a customer to churning, in months, for the "
                "accounts that churned in the period."
            ),
        ),
        (
            _("Churn forecast"),
            _(
                "At the start of each quarter: accounts at risk × (1 − the save "
                "rate of the year before) + accounts renewing × the share of "
                "renewals lost the year before. Actual: accounts that churned "
                "in the quarter. With fewer than %(n)d retention outcomes in the year "
                "before there is no forecast (—)."
            )
            % {"n": MIN_HISTORY},
        ),
        (
            _("Churn by product"),
            _(
                "The churn entries of the MRR ledger: subscriptions cancelled "
                "by an account's churn, per product."
            ),
        ),
    ]


# -- drill-down ---------------------------------------------------------------------------------


def _month(keys) -> tuple[dt.date, dt.date] | None:
    if not keys.get("month"):
        return None
    month = parse_month(keys["month"])
    if month is None:
        raise d.DrillError("month: not a month (YYYY-MM)")
    return month_range(month)


def _id_or_none(keys, name: str):
    value = keys.get(name)
    if value in (None, ""):
        return ""
    if value == "none":
        return None
    if not str(value).isdigit() or len(str(value)) > 18:
        raise d.DrillError(f"{name}: not an id")
    return int(value)


def drill(f: ReportFilters, *, table: str, column: str, keys, settings=None, **_params) -> d.Drill:
    where = f.period.label()
    span = _month(keys)
    if span is not None:
        where = month_label(span[0])
        f = f.with_period(f.period.__class__("custom", span[0], span[1], span[1], ""))
    if column in ("raised", "completed"):
        qs = Firing.objects.filter(sel.retention_firings(f)).filter(sel.accounts_q(f, "account__"))
        if column == "completed":
            qs = qs.filter(sel.COMPLETED_Q)
        label = _("Retention alerts raised") if column == "raised" else _("Alerts completed")
        return d.firings(qs, f"{label} — {where}")
    if column in ("through", "retained", "churned", "not_confirmed"):
        qs = Playbook.objects.filter(sel.net_playbooks(f))
        outcome = {
            "retained": "retained",
            "churned": "churned",
            "not_confirmed": "risk_not_confirmed",
        }.get(column)
        if outcome:
            qs = qs.filter(outcome=outcome)
        return d.playbooks(qs, _("Retention playbooks closed — %(where)s") % {"where": where})
    if column == "goal_share":
        if settings is None:
            from ..models import ReportSettings

            settings = ReportSettings()  # the default goal
        return _goal_drill(f, where=where, goal_pct=settings.reversal_goal_pct)
    accounts = Account.objects.filter(sel.churned_q(f))
    if column == "churned_all":
        return d.accounts(accounts, _("Accounts churned — %(where)s") % {"where": where})
    if column in ("churners", "flagged_30", "flagged_60", "flagged_90"):
        persona = _id_or_none(keys, "of_persona")
        if persona is None:
            accounts = accounts.filter(persona__isnull=True)
        elif persona != "":
            accounts = accounts.filter(persona_id=persona)
        if column != "churners":
            lead = int(column.split("_")[1])
            flagged = Firing.objects.filter(
                account=OuterRef("pk"),
                trigger__kind="retention",
                fired_on__lte=F("account__churned_at") - dt.timedelta(days=lead),
                fired_on__gte=F("account__churned_at")
                - dt.timedelta(days=metrics.PREDICTABILITY_LOOKBACK_DAYS),
            )
            accounts = accounts.filter(Exists(flagged))
            return d.accounts(
                accounts,
                _("Churned accounts flagged %(lead)d+ days before — %(where)s")
                % {"lead": lead, "where": where},
            )
        return d.accounts(accounts, _("Accounts churned — %(where)s") % {"where": where})
    if column == "accounts" and "of_product" in keys:
        product = _id_or_none(keys, "of_product")
        moves = MrrMovement.objects.filter(kind="churn", date__gte=f.date_from, date__lte=f.date_to)
        moves = (
            moves.filter(subscription__isnull=True)
            if product is None
            else moves.filter(subscription__product_id=product)
        )
        qs = Account.objects.filter(pk__in=moves.values("account_id")).filter(sel.accounts_q(f))
        return d.accounts(
            qs, _("Accounts whose churn cancelled the product — %(where)s") % {"where": where}
        )
    if column == "accounts" and "reason" in keys:
        reason = _id_or_none(keys, "reason")
        qs = (
            accounts.filter(churn_reason__isnull=True)
            if reason is None
            else accounts.filter(churn_reason_id=reason)
        )
        return d.accounts(qs, _("Accounts churned for this reason — %(where)s") % {"where": where})
    if column in ("actual", "at_risk") and keys.get("quarter"):
        first = _quarter(keys["quarter"])
        last = add_months(first, 3) - dt.timedelta(days=1)
        if column == "actual":
            f2 = f.with_period(f.period.__class__("custom", first, last, last, ""))
            qs = Account.objects.filter(sel.churned_q(f2))
            return d.accounts(qs, _("Accounts churned — %(q)s") % {"q": _quarter_label(first)})
        return d.accounts(
            _at_risk_on(f, min(first, f.today)),
            _("Accounts at risk at the start of %(q)s") % {"q": _quarter_label(first)},
        )
    raise d.DrillError(f"{column}: no such number in this report")


def _goal_drill(f: ReportFilters, *, where: str, goal_pct: int) -> d.Drill:
    """Behind the % of the reversal goal: the retention playbooks the save rate counts
    (closed reverted or churned), with the sum that makes the percentage."""
    qs = Playbook.objects.filter(sel.net_playbooks(f)).filter(outcome__in=("retained", "churned"))
    counts = qs.aggregate(decided=Count("pk"), retained=Count("pk", filter=Q(outcome="retained")))
    values = _monthly_rates(
        {
            "raised": 0,
            "completed": 0,
            "retained": counts["retained"],
            "churned": counts["decided"] - counts["retained"],
        },
        goal_pct,
    )
    note = _(
        "%(retained)s reverted of %(decided)s decided: a save rate of %(save)s, "
        "%(share)s of the %(goal)d%% goal."
    ) % {
        "retained": grouped(counts["retained"])["n"],
        "decided": grouped(counts["decided"])["n"],
        "save": _pct_text(values["save_rate"]),
        "share": _pct_text(values["goal_share"]),
        "goal": goal_pct,
    }
    return d.playbooks(
        qs,
        _("Retention playbooks reverted or churned — %(where)s") % {"where": where},
        note,
    )


def _quarter(key: str) -> dt.date:
    try:
        year, q = key.split("-Q")
        return dt.date(int(year), 3 * (int(q) - 1) + 1, 1)
    except (ValueError, TypeError):
        raise d.DrillError("quarter: not a quarter (YYYY-Qn)") from None


def _at_risk_on(f: ReportFilters, day: dt.date):
    """The customers with retention work open at the end of `day` (as the nightly cells)."""
    from accounts.selectors import customer_on

    from ..selectors.scope import day_start

    end = day_start(day + dt.timedelta(days=1))
    open_playbook = Playbook.objects.filter(
        account=OuterRef("pk"), kind="retention", opened_on__lte=day
    ).filter(Q(closed_at__isnull=True) | Q(closed_at__gte=end))
    open_alert = Firing.objects.filter(
        account=OuterRef("pk"), trigger__kind="retention", fired_on__lte=day, alert__isnull=False
    ).filter(Q(alert__decided_at__isnull=True) | Q(alert__decided_at__gte=end))
    return (
        Account.objects.filter(customer_on(day))
        .filter(sel.accounts_q(f))
        .filter(Exists(open_playbook) | Exists(open_alert))
    )
