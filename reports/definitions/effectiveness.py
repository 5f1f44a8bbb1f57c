"""Playbook effectiveness: per template, trigger or CSM, the playbooks closed in the period,
their outcomes, how long they took, and how their accounts' health moved 30 and 90 days after
closing beside accounts of the same persona and starting colour that had no playbook in those
weeks (the comparison group): which plays move customers."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from playbooks.models import Outcome, PlaybookTemplate
from triggers.models import Firing, Trigger

from .. import drill as d
from .. import metrics
from ..filters import ReportFilters
from ..selectors import effectiveness as sel
from ..selectors.scope import account_owners
from ..tables import (
    DAYS,
    INT,
    PCT,
    POINTS,
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
from .base import Param, wanted

NAME = "effectiveness"
TABLES = ("effect", "outcomes")
GROUP_CHOICES = (
    ("template", gettext_lazy("Template")),
    ("trigger", gettext_lazy("Trigger")),
    ("csm", gettext_lazy("CSM")),
)
PARAMS = (Param("by", gettext_lazy("Per"), choices=GROUP_CHOICES, default="template"),)
CONVERTED = ("won", "retained", "activated")
OUTCOME_LABELS = dict(Outcome.choices)


def title() -> str:
    return _("Playbook effectiveness")


def summary() -> str:
    return _(
        "Which plays move customers: outcomes, time to close and the health change after, "
        "against accounts that had no playbook."
    )


def _labels(by: str) -> dict:
    if by == "template":
        return {**dict(PlaybookTemplate.objects.values_list("pk", "name")), None: _("No template")}
    if by == "trigger":
        return {**dict(Trigger.objects.values_list("pk", "name")), None: _("Not from a trigger")}
    users = account_owners()
    return {**{u.pk: (u.get_full_name() or u.username) for u in users}, None: _("Unassigned")}


def _values(r: dict, label, median) -> dict:
    converted = sum(r.get(o) or 0 for o in CONVERTED)
    out = {
        "group": str(label),
        "closed": r.get("closed") or 0,
        "converted": converted,
        "conversion": metrics.pct(converted, r.get("closed") or 0),
        "median_days": median,
        **{o: r.get(o) or 0 for o in sel.OUTCOMES},
    }
    for h in (30, 90):
        n = r.get(f"n_{h}") or 0
        change = metrics.mean(r.get(f"change_{h}") or 0, n)
        baseline = metrics.mean(r.get(f"baseline_{h}") or 0, n)
        out[f"n_{h}"] = n
        out[f"change_{h}"] = change
        out[f"baseline_{h}"] = baseline
        out[f"lift_{h}"] = metrics.lift(change, baseline)
    return out


def build(
    f: ReportFilters, *, currency: str, by: str = "template", only: str | None = None, **_params
) -> Report:
    want = wanted(only)
    labels = _labels(by)
    rows_raw = []
    histogram = defaultdict(list)
    if by == "trigger":
        # a playbook several triggers' firings made counts once per trigger: no folding
        if want("effect", "outcomes"):
            rows_raw = sel.by_trigger(f)
        for h in sel.days_to_close(f, group=by) if want("effect") else []:
            if h["days"] is not None:
                histogram[h["grp"]].append((h["days"].days, h["n"]))
        totals = sel.totals(f)
        totals_days = [
            (h["days"].days, h["n"])
            for h in (sel.totals_days(f) if want("effect") else [])
            if h["days"] is not None
        ]
    else:
        # one read of the closed playbooks per group and days to close, folded
        rows_raw, per_group, totals, totals_days = sel.fold_group_days(
            sel.by_group_days(f, group=by)
        )
        histogram.update(per_group)
    rows = [
        Row(
            _values(
                r, labels.get(r["grp"], r["grp"]), metrics.median_from_counts(histogram[r["grp"]])
            ),
            {"grp": "none" if r["grp"] is None else r["grp"]},
        )
        for r in rows_raw
    ]
    rows.sort(key=lambda row: (-row.values["closed"], row.values["group"]))
    total = _values(totals, _("All playbooks"), metrics.median_from_counts(totals_days))
    group_label = dict(GROUP_CHOICES)[by]
    effect = Table(
        "effect",
        _("Outcomes, time to close and health after, per %(by)s")
        % {"by": str(group_label).lower()},
        [
            Column("group", str(group_label), TEXT),
            Column("closed", _("Closed"), INT, "closed"),
            Column("converted", _("Converted"), INT, "converted"),
            Column("conversion", _("Conversion"), PCT, "converted"),
            Column("median_days", _("Median days to close"), DAYS, "closed"),
            Column("n_30", _("With health data"), INT, "n_30"),
            Column("change_30", _("Health change, 30 days"), POINTS, "n_30"),
            Column("baseline_30", _("Without a playbook, 30 days"), POINTS, "baseline_30"),
            Column("lift_30", _("Difference, 30 days"), POINTS, "n_30"),
            Column("change_90", _("Health change, 90 days"), POINTS, "n_90"),
            Column("baseline_90", _("Without a playbook, 90 days"), POINTS, "baseline_90"),
            Column("lift_90", _("Difference, 90 days"), POINTS, "n_90"),
        ],
        rows,
        [Row(total, {}, total=True)],
        note=_(
            "The health change counts the playbooks whose account was scored when it closed "
            "and 30 (or 90) days later and whose comparison group is known."
        ),
        empty=_("No playbook was closed in this period."),
    )
    present = [o for o in sel.OUTCOMES if total[o]]
    outcomes = Table(
        "outcomes",
        _("Outcome mix"),
        [
            Column("group", str(group_label), TEXT),
            Column("closed", _("Closed"), INT, "closed"),
            *[Column(o, OUTCOME_LABELS[o], INT, o) for o in present],
        ],
        rows,
        [Row(total, {}, total=True)],
        empty=_("No playbook was closed in this period."),
    )
    charts = []
    with_lift = [r for r in rows if r.values["lift_30"] is not None][:12]
    if with_lift:
        charts.append(
            Chart(
                "chart-effect-lift",
                "lift",
                _("Health change 30 days after closing, against no playbook"),
                {
                    "labels": [r.values["group"] for r in with_lift],
                    "series": [
                        {
                            "label": _("After the playbook"),
                            "tone": "info",
                            "values": [round(r.values["change_30"], 1) for r in with_lift],
                        },
                        {
                            "label": _("Without a playbook"),
                            "tone": "neutral",
                            "values": [round(r.values["baseline_30"], 1) for r in with_lift],
                        },
                    ],
                },
                _(
                    "Per %(by)s, the average health change 30 days after closing and that of "
                    "comparable accounts without a playbook, in points; the same figures are in "
                    "the table."
                )
                % {"by": str(group_label).lower()},
            )
        )
    figures = [
        Figure(
            "closed",
            _("Playbooks closed"),
            total["closed"],
            INT,
            "closed",
            table="effect",
            column="closed",
        ),
        Figure(
            "conversion",
            _("Converted"),
            total["conversion"],
            PCT,
            "converted",
            table="effect",
            column="conversion",
            note=_("won, retained or activated"),
        ),
        Figure(
            "median_days",
            _("Median days to close"),
            total["median_days"],
            DAYS,
            "closed",
            table="effect",
            column="median_days",
        ),
        Figure(
            "lift_30",
            _("Health vs. no playbook, 30 days"),
            total["lift_30"],
            POINTS,
            "n_30",
            table="effect",
            column="lift_30",
            tone=_tone(total["lift_30"]),
            note=ngettext(
                "%(n)s playbook with health data",
                "%(n)s playbooks with health data",
                whole(total["n_30"]),
            )
            % grouped(total["n_30"]),
        ),
        Figure(
            "lift_90",
            _("Health vs. no playbook, 90 days"),
            total["lift_90"],
            POINTS,
            "n_90",
            table="effect",
            column="lift_90",
            tone=_tone(total["lift_90"]),
            note=ngettext(
                "%(n)s playbook with health data",
                "%(n)s playbooks with health data",
                whole(total["n_90"]),
            )
            % grouped(total["n_90"]),
        ),
    ]
    return Report(
        name=NAME,
        title=title(),
        intro=summary(),
        figures=figures,
        tables=[effect, outcomes],
        charts=charts,
        definitions=DEFINITIONS(),
        extra={"by": by},
    )


def _tone(value) -> str:
    if value is None:
        return ""
    return "good" if value > 0 else ("bad" if value < 0 else "")


def DEFINITIONS() -> list[tuple[str, str]]:  # noqa: N802
    return [
        (
            _("Closed"),
            _(
                "Playbooks closed with an outcome in the period (cancelled ones, e.g. by "
                "a churn, are not counted)."
            ),
        ),
        (
            _("Converted"),
            _("Closed won (expansion), retained (retention, renewal) or activated (onboarding)."),
        ),
        (
            _("Median days to close"),
            _("From the day the playbook was opened to the day it was closed."),
        ),
        (
            _("Health change"),
            _(
                "The account's health score 30 (or 90) days after the playbook "
                "closed minus its score when it closed (each read on that day or "
                "the latest within 6 days before), averaged."
            ),
        ),
        (
            _("Without a playbook"),
            _(
                "The same change for accounts of the same persona and the same "
                "colour at the week's end, scored that week, that had no "
                "playbook open in it: what would have happened anyway."
            ),
        ),
        (
            _("Difference"),
            _(
                "Health change minus the comparison group's change: positive, the "
                "play moved customers more than doing nothing did."
            ),
        ),
        (
            _("Per trigger"),
            _(
                "A playbook counts for each trigger whose firing made or joined it; "
                "playbooks started by hand are listed apart."
            ),
        ),
    ]


# -- drill-down -------------------------------------------------------------------------------


def drill(
    f: ReportFilters, *, table: str, column: str, keys, by: str = "template", **_params
) -> d.Drill:
    qs = sel.closed_playbooks(f)
    raw = keys.get("grp")
    label = f.period.label()
    if raw not in (None, ""):
        value = None if raw == "none" else raw
        if value is not None and (not str(value).isdigit() or len(str(value)) > 18):
            raise d.DrillError("grp: not an id")
        value = None if value is None else int(value)
        name = _labels(by).get(value, value)
        label = f"{name} · {label}"
        if by == "template":
            qs = qs.filter(template_id=value) if value else qs.filter(template__isnull=True)
        elif by == "csm":
            qs = (
                qs.filter(account__owner_id=value)
                if value
                else qs.filter(account__owner__isnull=True)
            )
        else:
            made = Firing.objects.filter(playbook__isnull=False)
            qs = (
                qs.filter(pk__in=made.filter(trigger_id=value).values("playbook_id"))
                if value
                else qs.exclude(pk__in=made.values("playbook_id"))
            )
    if column == "closed":
        return d.playbooks(qs, _("Playbooks closed — %(where)s") % {"where": label})
    if column == "converted":
        return d.playbooks(
            qs.filter(outcome__in=CONVERTED),
            _("Playbooks converted — %(where)s") % {"where": label},
        )
    if column in sel.OUTCOMES:
        return d.playbooks(
            qs.filter(outcome=column),
            _("Playbooks closed %(outcome)s — %(where)s")
            % {"outcome": OUTCOME_LABELS[column].lower(), "where": label},
        )
    if column in ("n_30", "n_90"):
        h = column.split("_")[1]
        known = Q(
            **{
                "effect__score_at_close__isnull": False,
                f"effect__score_{h}__isnull": False,
                f"effect__baseline_{h}__isnull": False,
            }
        )
        return d.playbooks(
            qs.filter(known),
            _("Playbooks with health data %(h)s days on — %(where)s") % {"h": h, "where": label},
        )
    if column in ("baseline_30", "baseline_90"):
        return _comparison_drill(qs, horizon=int(column.split("_")[1]), where=label)
    raise d.DrillError(f"{column}: no such number in this report")


def _comparison_drill(playbooks, *, horizon: int, where: str) -> d.Drill:
    """The accounts behind a "without a playbook" baseline: the comparison groups (same
    persona, same colour at the week's end, scored then and `horizon` days later, no
    playbook open that week) of the playbooks whose health change is counted."""
    from django.db.models.expressions import RawSQL

    from accounts.models import Account

    cells = sel.comparison_cells(playbooks, horizon=horizon)
    if cells:
        qs = Account.objects.filter(
            pk__in=RawSQL(*sel.comparison_accounts_sql(cells, horizon=horizon))
        )
    else:
        qs = Account.objects.none()
    return d.accounts(
        qs,
        _("Comparison accounts without a playbook, %(h)s days — %(where)s")
        % {"h": horizon, "where": where},
        ngettext(
            "The accounts of the same persona and colour, in the week one of these playbooks "
            "closed, that had no playbook open that week: %(n)s comparison group.",
            "The accounts of the same persona and colour, in the week one of these playbooks "
            "closed, that had no playbook open that week: %(n)s comparison groups.",
            len(cells),
        )
        % grouped(len(cells)),
    )
