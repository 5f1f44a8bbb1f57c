"""Trigger performance, the conversion report: per trigger and version, what its firings in
the period became (alerts and their decisions, playbooks, outcomes, MRR), the best and worst
triggers by conversion, the funnel of one trigger and the month by month series."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from playbooks.models import Playbook, PlaybookKind

from .. import drill as d
from .. import metrics
from ..filters import ReportFilters
from ..selectors import triggers as sel
from ..tables import (
    DAYS,
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
from .base import Param, as_date, month_key, month_label, month_range, parse_month, wanted

NAME = "trigger_performance"
KIND_LABELS = dict(PlaybookKind.choices)


def title() -> str:
    return _("Trigger performance")


def summary() -> str:
    return _("What each trigger's firings became: playbooks, opportunities won, accounts saved.")


PARAMS = (Param("funnel", gettext_lazy("Funnel of"), integer=True),)
TABLES = ("triggers", "expansion", "retention", "ranking", "by_month", "dismissed")


def _label(trigger: dict, version: int, versions: int) -> str:
    name = trigger["name"]
    return f"{name} · v{version}" if versions > 1 or version > 1 else name


def _rows(f: ReportFilters) -> list[dict]:
    """One row per trigger and version (a trigger with no firings: one row of zeros)."""
    triggers = {t["id"]: t for t in sel.triggers_listed(f)}
    counts = sel.trigger_counts(f)
    histogram = defaultdict(list)
    for h in sel.days_to_outcome(f):
        if h["days"] is not None:
            histogram[(h["trigger_id"], h["trigger_version"])].append((h["days"].days, h["n"]))
    by_trigger = defaultdict(list)
    for c in counts:
        by_trigger[c["trigger_id"]].append(c)
    rows = []
    for trigger_id, trigger in triggers.items():
        versions = by_trigger.get(trigger_id) or [
            {"trigger_id": trigger_id, "trigger_version": trigger["version"]}
        ]
        for c in versions:
            version = c["trigger_version"]
            row = {k: c.get(k) or 0 for k in _COUNT_KEYS}
            row.update(
                trigger_id=trigger_id,
                version=version,
                name=_label(trigger, version, len(versions)),
                trigger_name=trigger["name"],
                kind=trigger["kind"],
                kind_label=KIND_LABELS.get(trigger["kind"], trigger["kind"]),
                product=trigger["product__name"] or "",
                days_histogram=histogram.get((trigger_id, version), []),
            )
            row["median_days"] = metrics.median_from_counts(row["days_histogram"])
            rows.append(_rates(row))
    return rows


_COUNT_KEYS = (
    "firings",
    "alerts",
    "confirmed",
    "dismissed",
    "pending",
    "playbooks",
    "open",
    "completed",
    "on_time",
    "opportunities",
    "successes",
    "mrr_won",
    "pipeline",
    "pipeline_open",
    *sel.OUTCOMES,
)


def _rates(row: dict) -> dict:
    row["conversion"] = metrics.conversion(successes=row["successes"], playbooks=row["playbooks"])
    row["won_per_firing"] = metrics.pct(row["won"], row["firings"])
    row["won_per_playbook"] = metrics.pct(row["won"], row["playbooks"])
    row["risk_confirmed"] = row["retained"] + row["churned"]
    row["save_rate"] = metrics.save_rate(retained=row["retained"], churned=row["churned"])
    row["on_time_share"] = metrics.pct(row["on_time"], row["completed"])
    row["sample"] = row["playbooks"]
    return row


def _keys(row: dict) -> dict:
    return {"trigger": row["trigger_id"], "version": row["version"]}


def _totals_row(f: ReportFilters, rows: list[dict]) -> dict:
    t = {k: v or 0 for k, v in sel.totals(f).items()}
    t.update(
        name=_("All triggers"),
        kind_label="",
        product="",
        median_days=metrics.median_from_counts(
            (h["days"].days, h["n"]) for h in sel.days_to_outcome(f) if h["days"] is not None
        ),
    )
    return _rates(t)


def build(
    f: ReportFilters, *, currency: str, funnel=None, only: str | None = None, **_params
) -> Report:
    want = wanted(only)
    rows = _rows(f) if want("triggers", "expansion", "retention", "ranking") else []
    total = _totals_row(f, rows) if want("triggers") else _sum_rows([], "")
    expansion = [r for r in rows if r["kind"] == "expansion"]
    retention = [r for r in rows if r["kind"] == "retention"]
    tables = [
        Table(
            "triggers",
            _("Firings to outcomes, per trigger"),
            [
                Column("name", _("Trigger"), TEXT),
                Column("kind_label", _("Kind"), TEXT),
                Column("product", _("Product"), TEXT),
                Column("firings", _("Firings"), INT, "firings"),
                Column("alerts", _("Alerts raised"), INT, "alerts"),
                Column("confirmed", _("Confirmed"), INT, "confirmed"),
                Column("dismissed", _("Dismissed"), INT, "dismissed"),
                Column("playbooks", _("Playbooks"), INT, "playbooks"),
                Column("completed", _("Completed"), INT, "completed"),
                Column("on_time", _("On time"), INT, "on_time"),
                Column("conversion", _("Conversion"), PCT, "successes"),
                Column("median_days", _("Median days to outcome"), DAYS, "completed"),
            ],
            [Row(r, _keys(r)) for r in rows],
            [Row(total, {}, total=True)],
            empty=_("No trigger fired in this period, and none is active."),
        ),
    ]
    if expansion or not f.kind or f.kind == "expansion":
        exp_total = _sum_rows(expansion, _("All expansion triggers"))
        tables.append(
            Table(
                "expansion",
                _("Expansion: opportunities and MRR won"),
                [
                    Column("name", _("Trigger"), TEXT),
                    Column("product", _("Product"), TEXT),
                    Column("firings", _("Firings"), INT, "firings"),
                    Column("playbooks", _("Playbooks"), INT, "playbooks"),
                    Column("opportunities", _("Opportunities"), INT, "opportunities"),
                    Column("won", _("Won"), INT, "won"),
                    Column("lost", _("Lost"), INT, "lost"),
                    Column("won_per_playbook", _("Won / playbooks"), PCT, "won"),
                    Column("won_per_firing", _("Won / firings"), PCT, "won"),
                    Column("mrr_won", _("MRR won"), MONEY, "won"),
                    Column("pipeline_open", _("Open playbooks"), INT, "pipeline"),
                    Column("pipeline", _("Expected MRR, open"), MONEY, "pipeline"),
                ],
                [Row(r, _keys(r)) for r in expansion],
                [Row(exp_total, {"kind": "expansion"}, total=True)] if expansion else [],
                empty=_("No expansion trigger in this selection."),
            )
        )
    if retention or not f.kind or f.kind == "retention":
        ret_total = _sum_rows(retention, _("All retention triggers"))
        tables.append(
            Table(
                "retention",
                _("Retention: risk confirmed, retained, churned"),
                [
                    Column("name", _("Trigger"), TEXT),
                    Column("firings", _("Firings"), INT, "firings"),
                    Column("playbooks", _("Playbooks"), INT, "playbooks"),
                    Column(
                        "risk_not_confirmed", _("Risk not confirmed"), INT, "risk_not_confirmed"
                    ),
                    Column("risk_confirmed", _("Risk confirmed"), INT, "risk_confirmed"),
                    Column("retained", _("Retained"), INT, "retained"),
                    Column("churned", _("Churned"), INT, "churned"),
                    Column("save_rate", _("Save rate"), PCT, "retained"),
                    Column("median_days", _("Median days to outcome"), DAYS, "completed"),
                ],
                [Row(r, _keys(r)) for r in retention],
                [Row(ret_total, {"kind": "retention"}, total=True)] if retention else [],
                empty=_("No retention trigger in this selection."),
            )
        )
    ranking = metrics.rank_triggers(rows)
    rank_rows = [
        Row({**r, "rank": label}, _keys(r))
        for label, group in ((_("Best"), ranking["best"]), (_("Worst"), ranking["worst"]))
        for r in group
    ]
    tables.append(
        Table(
            "ranking",
            _("Best and worst triggers by conversion"),
            [
                Column("rank", _("Rank"), TEXT),
                Column("name", _("Trigger"), TEXT),
                Column("kind_label", _("Kind"), TEXT),
                Column("conversion", _("Conversion"), PCT, "successes"),
                Column("playbooks", _("Sample (playbooks)"), INT, "playbooks"),
            ],
            rank_rows,
            note=_rank_note(len(ranking["unranked"])),
            empty=_("No trigger has enough playbooks in this period to be ranked."),
        )
    )
    monthly = sel.monthly(f) if want("by_month") else []
    month_rows = []
    for m in monthly:
        month = as_date(m["month"])
        values = {
            "month": month_label(month),
            "firings": m["firings"],
            "playbooks": m["playbooks"],
            "successes": m["successes"],
            "conversion": metrics.conversion(successes=m["successes"], playbooks=m["playbooks"]),
            "mrr_won": m["mrr_won"] or 0,
        }
        month_rows.append(Row(values, {"month": month_key(month)}))
    tables.append(
        Table(
            "by_month",
            _("Month by month"),
            [
                Column("month", _("Month fired"), TEXT),
                Column("firings", _("Firings"), INT, "firings"),
                Column("playbooks", _("Playbooks"), INT, "playbooks"),
                Column("successes", _("Converted"), INT, "successes"),
                Column("conversion", _("Conversion"), PCT, "successes"),
                Column("mrr_won", _("MRR won"), MONEY, "won"),
            ],
            month_rows,
            empty=_("No firings in this period."),
        )
    )
    reasons = sel.dismiss_reasons(f) if want("dismissed") else []
    tables.append(
        Table(
            "dismissed",
            _("Why alerts were dismissed"),
            [
                Column("reason", _("Reason"), TEXT),
                Column("alerts", _("Alerts"), INT, "dismissed"),
                Column("share", _("Share"), PCT, "dismissed"),
            ],
            [
                Row(
                    {
                        "reason": _("Closed when the account churned")
                        if r["dismiss_reason"] == sel.CHURN_CLOSED_KEY
                        else r["dismiss_reason"],
                        "alerts": r["n"],
                        "share": metrics.pct(r["n"], sum(x["n"] for x in reasons)),
                    },
                    {"reason": r["dismiss_reason"][:240]},
                )
                for r in reasons
            ],
            empty=_("No alert was dismissed in this period."),
        )
    )
    funnel_row = _funnel_row(rows, funnel)
    charts = []
    if funnel_row is not None:
        charts.append(_funnel(funnel_row))
    if month_rows:
        charts.append(
            Chart(
                "chart-trigger-months",
                "bars",
                _("Firings and conversions by month"),
                {
                    "labels": [r.values["month"] for r in month_rows],
                    "series": [
                        {
                            "label": _("Firings"),
                            "tone": "neutral",
                            "values": [r.values["firings"] for r in month_rows],
                        },
                        {
                            "label": _("Playbooks"),
                            "tone": "info",
                            "values": [r.values["playbooks"] for r in month_rows],
                        },
                        {
                            "label": _("Converted"),
                            "tone": "good",
                            "values": [r.values["successes"] for r in month_rows],
                        },
                    ],
                },
                _(
                    "Firings, playbooks and conversions per month; the same figures are in the "
                    "Month by month table."
                ),
            )
        )
    figures = [
        Figure(
            "firings",
            _("Firings"),
            total["firings"],
            INT,
            "firings",
            table="triggers",
            column="firings",
        ),
        Figure(
            "playbooks",
            _("Playbooks created"),
            total["playbooks"],
            INT,
            "playbooks",
            table="triggers",
            column="playbooks",
        ),
        Figure(
            "conversion",
            _("Conversion"),
            total["conversion"],
            PCT,
            "successes",
            table="triggers",
            column="conversion",
            note=ngettext("%(n)s converted", "%(n)s converted", whole(total["successes"]))
            % grouped(total["successes"]),
        ),
        Figure(
            "mrr_won",
            _("MRR won"),
            total["mrr_won"],
            MONEY,
            "won",
            table="expansion",
            column="mrr_won",
        ),
        Figure(
            "save_rate",
            _("Save rate"),
            total["save_rate"],
            PCT,
            "retained",
            table="retention",
            column="save_rate",
            note=_("%(kept)s, %(lost)s")
            % {
                "kept": ngettext("%(n)s retained", "%(n)s retained", whole(total["retained"]))
                % grouped(total["retained"]),
                "lost": ngettext("%(n)s churned", "%(n)s churned", whole(total["churned"]))
                % grouped(total["churned"]),
            },
        ),
    ]
    return Report(
        name=NAME,
        title=title(),
        intro=summary(),
        figures=figures,
        tables=tables,
        charts=charts,
        definitions=DEFINITIONS(),
        extra={
            "funnel_choices": [(r["trigger_id"], r["name"]) for r in _one_per_trigger(rows)],
            "funnel_trigger": funnel_row["trigger_id"] if funnel_row else None,
        },
    )


def _rank_note(unranked: int) -> str:
    ranked = _("Ranked among triggers with at least %(n)d playbooks in the period.") % {
        "n": metrics.MIN_RANK_SAMPLE
    }
    if not unranked:
        return ranked
    more = ngettext(
        "%(count)d other trigger has too few to rank.",
        "%(count)d other triggers have too few to rank.",
        unranked,
    ) % {"count": unranked}
    return f"{ranked} {more}"


def _sum_rows(rows: list[dict], name: str) -> dict:
    out = {k: sum((r.get(k) or 0) for r in rows) for k in _COUNT_KEYS}
    out.update(name=name, kind_label="", product="")
    # the median of the rows' playbooks together (not a median of medians)
    out["days_histogram"] = [pair for r in rows for pair in r.get("days_histogram", [])]
    out["median_days"] = metrics.median_from_counts(out["days_histogram"])
    return _rates(out)


def _one_per_trigger(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rows:
        if r["trigger_id"] not in seen:
            seen.add(r["trigger_id"])
            out.append({"trigger_id": r["trigger_id"], "name": r["trigger_name"]})
    return out


def _funnel_row(rows: list[dict], trigger: int | None) -> dict | None:
    """The selected trigger's versions summed (default: the trigger that fired most)."""
    if not rows:
        return None
    if trigger is None or trigger not in {r["trigger_id"] for r in rows}:
        trigger = max(rows, key=lambda r: (r["firings"], -r["trigger_id"]))["trigger_id"]
    mine = [r for r in rows if r["trigger_id"] == trigger]
    out = _sum_rows(mine, mine[0]["trigger_name"])
    out.update(trigger_id=trigger, kind=mine[0]["kind"])
    return out


def _funnel(row: dict) -> Chart:
    steps = [(_("Fired"), row["firings"])]
    if row["alerts"]:
        steps.append((_("Alert confirmed"), row["confirmed"]))
    steps += [(_("Playbook"), row["playbooks"]), (_("Completed"), row["completed"])]
    if row["kind"] == "expansion":
        steps += [(_("Opportunity"), row["opportunities"]), (_("Won"), row["won"])]
    elif row["kind"] == "retention":
        steps += [(_("Risk confirmed"), row["risk_confirmed"]), (_("Retained"), row["retained"])]
    else:
        steps.append((_("Converted"), row["successes"]))
    return Chart(
        "chart-trigger-funnel",
        "funnel",
        _("Funnel: %(name)s") % {"name": row["name"]},
        {"labels": [s[0] for s in steps], "values": [s[1] for s in steps]},
        _("From firing to outcome for %(name)s: %(steps)s.")
        % {"name": row["name"], "steps": ", ".join(f"{label} {n}" for label, n in steps)},
    )


def DEFINITIONS() -> list[tuple[str, str]]:  # noqa: N802 - translated when called
    return [
        (
            _("Firings"),
            _(
                "Times the trigger's condition held for an account in the period, by "
                "the day it fired (at most once per trigger, account and day)."
            ),
        ),
        (
            _("Alerts raised, confirmed, dismissed"),
            _("Firings of triggers that ask the CSM first, and what the CSM decided."),
        ),
        (
            _("Playbooks"),
            _(
                "Playbooks the firings created, or joined when the same playbook "
                "was already open for the account (a playbook joined by two "
                "triggers counts for both; the totals count it once)."
            ),
        ),
        (_("On time"), _("Completed playbooks closed on or before their due date.")),
        (
            _("Conversion"),
            _(
                "Of the playbooks, the share that reached the outcome the trigger "
                "is for: won for expansion, retained for retention and renewal, "
                "activated for onboarding."
            ),
        ),
        (
            _("Opportunities, won, lost"),
            _(
                "Expansion playbooks closed with an opportunity "
                "(won or lost); won / firings divides by every "
                "firing, won / playbooks by the playbooks made."
            ),
        ),
        (
            _("Save rate"),
            _(
                "Retained / (retained + churned): of the accounts whose risk was "
                "confirmed, the share kept."
            ),
        ),
        (
            _("Median days to outcome"),
            _("From the day of the firing to the day its playbook was closed with an outcome."),
        ),
        (
            _("Versions"),
            _(
                "A trigger changed in the period shows one row per version: firings "
                "record the version that fired."
            ),
        ),
    ]


# -- drill-down -------------------------------------------------------------------------------


def _int(keys, name: str) -> int | None:
    value = keys.get(name)
    if value in (None, ""):
        return None
    if not str(value).isdigit() or len(str(value)) > 18:
        raise d.DrillError(f"{name}: not an id")
    return int(value)


PLAYBOOK_COLUMNS = {
    "playbooks": (Q(), gettext_lazy("Playbooks")),
    "open": (Q(playbook__status="open"), gettext_lazy("Open playbooks")),
    "pipeline": (
        Q(playbook__status="open", trigger__kind="expansion"),
        gettext_lazy("Open expansion playbooks"),
    ),
    "completed": (sel.DONE, gettext_lazy("Completed playbooks")),
    "on_time": (None, gettext_lazy("Playbooks completed on time")),
    "opportunities": (Q(playbook__outcome__in=["won", "lost"]), gettext_lazy("Opportunities")),
    "successes": (sel.SUCCESS_Q, gettext_lazy("Playbooks that converted")),
    "risk_confirmed": (
        Q(playbook__outcome__in=["retained", "churned"]),
        gettext_lazy("Risk confirmed"),
    ),
    **{o: (Q(playbook__outcome=o), "") for o in sel.OUTCOMES},
}
FIRING_COLUMNS = {
    "firings": (Q(), gettext_lazy("Firings")),
    "alerts": (Q(alert__isnull=False), gettext_lazy("Alerts raised")),
    "confirmed": (Q(alert__status="confirmed"), gettext_lazy("Alerts confirmed")),
    "dismissed": (Q(alert__status="dismissed"), gettext_lazy("Alerts dismissed")),
    "pending": (Q(alert__status="pending"), gettext_lazy("Alerts waiting for a decision")),
}


def drill(f: ReportFilters, *, table: str, column: str, keys, **_params) -> d.Drill:
    from django.db.models import F

    base = sel.firings_in_period(f)
    trigger, version = _int(keys, "trigger"), _int(keys, "version")
    parts = [f.period.label()]
    if trigger is not None:
        base = base.filter(trigger_id=trigger)
        name = base.values_list("trigger__name", flat=True).first()
        parts.append(name or _("trigger %(id)d") % {"id": trigger})
    if version is not None:
        base = base.filter(trigger_version=version)
        parts.append(f"v{version}")
    if keys.get("kind") in KIND_LABELS:
        base = base.filter(trigger__kind=keys["kind"])
    month = parse_month(keys.get("month")) if keys.get("month") else None
    if keys.get("month") and month is None:
        raise d.DrillError("month: not a month (YYYY-MM)")
    if month is not None:
        first, last = month_range(month)
        base = base.filter(fired_on__gte=first, fired_on__lte=last)
        parts.append(month_label(month))
    if keys.get("reason") == sel.CHURN_CLOSED_KEY:
        base = base.filter(alert__dismiss_reason__regex=sel.CHURN_CLOSED)
    elif "reason" in keys:
        base = base.filter(alert__dismiss_reason=keys["reason"][:240])
    where = " · ".join(parts)
    if column in FIRING_COLUMNS:
        q, label = FIRING_COLUMNS[column]
        return d.firings(base.filter(q), f"{label} — {where}")
    if column in PLAYBOOK_COLUMNS:
        q, label = PLAYBOOK_COLUMNS[column]
        if column == "on_time":
            q = sel.DONE & Q(playbook__closed_at__date__lte=F("playbook__due_on"))
        if column in sel.OUTCOMES:
            label = _("Playbooks closed %(outcome)s") % {
                "outcome": dict(Playbook._meta.get_field("outcome").choices)[column].lower()
            }
        ids = base.filter(q, playbook__isnull=False).values("playbook_id")
        return d.playbooks(Playbook.objects.filter(pk__in=ids), f"{label} — {where}")
    raise d.DrillError(f"{column}: no such number in this report")
