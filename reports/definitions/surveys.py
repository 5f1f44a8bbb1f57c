"""Surveys: how many invitations were answered, NPS month by month per persona or product,
what customers wrote, and whether the loop was closed: detractors called back (their
follow-up playbook completed) and how many turned passive or promoter at their next answer."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account, Persona, Product, SurveyKind

from .. import drill as d
from .. import metrics
from ..filters import ReportFilters
from ..selectors import surveys as sel
from ..tables import DATE, INT, PCT, SCORE, TEXT, Chart, Column, Figure, Report, Row, Table
from .base import Param, month_key, month_label, parse_month, wanted

NAME = "surveys"
TABLES = ("rate", "nps", "loop", "comments")
GROUP_CHOICES = (
    ("persona", gettext_lazy("Persona")),
    ("product", gettext_lazy("Product")),
)
PARAMS = (Param("by", gettext_lazy("Per"), choices=GROUP_CHOICES, default="persona"),)


def title() -> str:
    return _("Surveys")


def summary() -> str:
    return _(
        "Response rate, NPS month by month, what customers wrote, and whether detractors were "
        "called back and came round."
    )


def _labels(by: str) -> dict:
    model = Persona if by == "persona" else Product
    none = _("No persona") if by == "persona" else _("No product")
    return {**dict(model.objects.values_list("pk", "name")), None: none}


def _nps_values(answers: int, promoters: int, detractors: int) -> dict:
    return {
        "answers": answers,
        "promoters": promoters,
        "passives": answers - promoters - detractors,
        "detractors": detractors,
        "nps": metrics.nps(promoters=promoters, detractors=detractors, responses=answers),
    }


def build(
    f: ReportFilters, *, currency: str, by: str = "persona", only: str | None = None, **_params
) -> Report:
    want = wanted(only)
    tables, charts = [], []
    rate_rows = sel.rate_by_campaign(f) if want("rate") or only is None else []
    sent = sum(r["sent"] for r in rate_rows)
    answered = sum(r["answered"] for r in rate_rows)
    rate = Table(
        "rate",
        _("Response rate per campaign"),
        [
            Column("campaign", _("Campaign"), TEXT),
            Column("sent", _("Invitations sent"), INT, "sent"),
            Column("answered", _("Answered"), INT, "answered"),
            Column("rate", _("Response rate"), PCT, "answered"),
        ],
        [
            Row(
                {
                    "campaign": r["campaign__name"],
                    "sent": r["sent"],
                    "answered": r["answered"],
                    "rate": metrics.pct(r["answered"], r["sent"]),
                },
                {"campaign": r["campaign_id"]},
            )
            for r in rate_rows
        ],
        [
            Row(
                {
                    "campaign": _("All campaigns"),
                    "sent": sent,
                    "answered": answered,
                    "rate": metrics.pct(answered, sent),
                },
                {},
                total=True,
            )
        ],
        empty=_("No survey invitation was sent in this period."),
    )
    tables.append(rate)

    labels = _labels(by)
    group_label = dict(GROUP_CHOICES)[by]
    nps_rows = [
        Row(
            {"month": month_label(month), "group": str(labels.get(g, g)), **_nps_values(a, p, dd)},
            {"month": month_key(month), "grp": "none" if g is None else g},
        )
        for month, g, a, p, dd in (sel.nps_by_month(f, by=by) if want("nps") else [])
    ]
    totals = sel.nps_months_total(f) if want("nps") or only is None else []
    all_answers = sum(t[1] for t in totals)
    all_values = _nps_values(all_answers, sum(t[2] for t in totals), sum(t[3] for t in totals))
    nps_table = Table(
        "nps",
        _("NPS per month and %(by)s") % {"by": str(group_label).lower()},
        [
            Column("month", _("Month"), TEXT),
            Column("group", str(group_label), TEXT),
            Column("answers", _("Answers"), INT, "answers"),
            Column("promoters", _("Promoters (9-10)"), INT, "promoters"),
            Column("passives", _("Passives (7-8)"), INT, "passives"),
            Column("detractors", _("Detractors (0-6)"), INT, "detractors"),
            Column("nps", _("NPS"), SCORE, "answers"),
        ],
        nps_rows,
        [Row({"month": _("Period"), "group": "", **all_values}, {}, total=True)],
        note=_("An account with two products counts its answer under each."),
        empty=_("No NPS answer in this period."),
    )
    tables.append(nps_table)
    if totals:
        charts.append(
            Chart(
                "chart-surveys-nps",
                "bars",
                _("NPS per month"),
                {
                    "labels": [month_label(t[0]) for t in totals],
                    "series": [
                        {
                            "label": _("NPS"),
                            "tone": "info",
                            "values": [
                                None
                                if (
                                    v := metrics.nps(
                                        promoters=t[2], detractors=t[3], responses=t[1]
                                    )
                                )
                                is None
                                else round(v, 1)
                                for t in totals
                            ],
                        }
                    ],
                },
                _(
                    "The net promoter score of each month's answers, −100 to 100; the same "
                    "figures are in the table."
                ),
            )
        )

    loop = metrics.survey_loop(
        sel.detractor_loop(f) if want("loop") or only is None else [], completed=sel.COMPLETED
    )
    loop_table = Table(
        "loop",
        _("Closing the loop with detractors"),
        [
            Column("what", _("Answers"), TEXT),
            Column("detractors", _("Detractor answers"), INT, "detractors"),
            Column("followed_up", _("Follow-up opened"), INT, "followed_up"),
            Column("contacted", _("Called back (follow-up completed)"), INT, "contacted"),
            Column("answered_again", _("Answered again since"), INT, "answered_again"),
            Column("turned", _("Turned passive or promoter"), INT, "turned"),
            Column("turned_pct", _("Of those who answered again"), PCT, "turned"),
        ],
        [Row({"what": _("Detractors of the period"), **loop}, {})],
        note=_("Detractor answers that came through a survey invitation in the period."),
    )
    tables.append(loop_table)

    comment_rows = [
        Row(
            {
                "date": c["answered_at"].date(),
                "account": c["account__name"],
                "kind": SurveyKind(c["kind"]).label,
                "score": c["score"],
                "comment": c["comment"],
            },
            {},
        )
        for c in (sel.comments(f) if want("comments") else [])
    ]
    tables.append(
        Table(
            "comments",
            _("Latest comments"),
            [
                Column("date", _("Answered"), DATE),
                Column("account", _("Account"), TEXT),
                Column("kind", _("Survey"), TEXT),
                Column("score", _("Score"), INT),
                Column("comment", _("Comment"), TEXT),
            ],
            comment_rows,
            note=_("The 50 latest answers with a comment."),
            empty=_("No comment in this period."),
        )
    )
    figures = [
        Figure(
            "rate",
            _("Response rate"),
            metrics.pct(answered, sent),
            PCT,
            "answered",
            table="rate",
            column="rate",
        ),
        Figure("nps", _("NPS"), all_values["nps"], SCORE, "answers", table="nps", column="nps"),
        Figure(
            "contacted",
            _("Detractors called back"),
            loop["contacted"],
            INT,
            "contacted",
            table="loop",
            column="contacted",
        ),
        Figure(
            "turned",
            _("Turned passive or promoter"),
            loop["turned"],
            INT,
            "turned",
            table="loop",
            column="turned",
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
        extra={"by": by},
    )


def DEFINITIONS() -> list[tuple[str, str]]:  # noqa: N802
    return [
        (_("Response rate"), _("Invitations answered among those sent in the period.")),
        (
            _("NPS"),
            _("Percentage of promoters (9-10) minus percentage of detractors (0-6), −100 to 100."),
        ),
        (
            _("Called back"),
            _("The detractor's follow-up playbook (opened by the answer) was completed."),
        ),
        (
            _("Turned passive or promoter"),
            _("The same contact's next NPS answer, after the call back, was 7 or more."),
        ),
    ]


# -- drill-down -------------------------------------------------------------------------------


def drill(
    f: ReportFilters, *, table: str, column: str, keys, by: str = "persona", **_params
) -> d.Drill:
    where = f.period.label()
    if table == "rate":
        qs = sel.invitations(f)
        raw = keys.get("campaign")
        if raw not in (None, ""):
            if not str(raw).isdigit() or len(str(raw)) > 18:
                raise d.DrillError("campaign: not an id")
            qs = qs.filter(campaign_id=int(raw))
        if column == "answered":
            qs = qs.filter(answered_at__isnull=False)
        elif column != "sent":
            raise d.DrillError(f"{column}: no such number in this report")
        return d.accounts(
            Account.objects.filter(pk__in=qs.values("account_id")),
            _("Accounts surveyed — %(where)s") % {"where": where},
        )
    if table == "nps":
        qs = sel.nps_answers(f)
        month = keys.get("month")
        if month not in (None, ""):
            first = parse_month(month)
            if first is None:
                raise d.DrillError("month: not a month (YYYY-MM)")
            qs = qs.filter(answered_at__year=first.year, answered_at__month=first.month)
            where = f"{month_label(first)} · {where}"
        raw = keys.get("grp")
        if raw not in (None, ""):
            value = None if raw == "none" else raw
            if value is not None and (not str(value).isdigit() or len(str(value)) > 18):
                raise d.DrillError("grp: not an id")
            field = (
                "account__persona_id" if by == "persona" else "account__subscriptions__product_id"
            )
            qs = qs.filter(**{field: int(value)} if value else {f"{field}__isnull": True})
        scores = {
            "answers": Q(),
            "promoters": Q(score__gte=9),
            "passives": Q(score__gte=7, score__lte=8),
            "detractors": Q(score__lte=6),
        }
        if column not in scores:
            raise d.DrillError(f"{column}: no such number in this report")
        return d.accounts(
            Account.objects.filter(pk__in=qs.filter(scores[column]).values("account_id")),
            _("Accounts that answered — %(where)s") % {"where": where},
        )
    if table == "loop":
        rows = sel.detractor_loop(f)
        keep = {
            "detractors": lambda r: True,
            "followed_up": lambda r: r["followup_status"] is not None,
            "contacted": lambda r: r["followup_status"] == sel.COMPLETED,
            "answered_again": lambda r: (
                r["followup_status"] == sel.COMPLETED and r["next_score"] is not None
            ),
            "turned": lambda r: (
                r["followup_status"] == sel.COMPLETED and (r["next_score"] or 0) >= 7
            ),
        }
        if column not in keep:
            raise d.DrillError(f"{column}: no such number in this report")
        ids = {r["account_id"] for r in rows if keep[column](r)}
        return d.accounts(
            Account.objects.filter(pk__in=ids),
            _("Accounts of detractor answers — %(where)s") % {"where": where},
        )
    raise d.DrillError(f"{table}: no such table in this report")
