"""The manager's home: the headline figures of the quarter so far, each a link into the
report (or the list) behind it. A few aggregate queries, not the whole reports, and the
nightly facts where they are exact (the ledger's total, the triggers' days)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import metrics
from ..filters import ReportFilters
from ..selectors import portfolio as portfolio_sel
from ..selectors import retention as retention_sel
from ..selectors import triggers as trigger_sel
from ..tables import INT, MONEY, PCT, Figure, grouped, whole


def headline(f: ReportFilters, *, goal_pct: int) -> list[tuple[str, Figure]]:
    """(report name, figure) pairs: MRR, NRR, GRR; conversion and MRR won; save rate against
    the goal and the churners flagged a month ahead."""
    t = portfolio_sel.ledger_total(f)  # the nightly total while the ledger is unchanged
    ret = metrics.retention(
        start_mrr=t["start_mrr"],
        churned=t["base_churned"],
        contraction=t["base_contraction"],
        expansion=t["base_expansion"],
        gross_loss=t["base_loss"],
    )
    triggers = trigger_sel.totals(f)
    net = retention_sel.net_monthly(f)
    retained = sum(r["retained"] for r in net)
    churned = sum(r["churned"] for r in net)
    save = metrics.save_rate(retained=retained, churned=churned)
    pred = metrics.predictability(retention_sel.churners(f), retention_sel.churner_firings(f))
    total = pred[pred["persona_id"] == "all"].iloc[0]
    return [
        (
            "portfolio",
            Figure("end_mrr", _("MRR"), t["end_mrr"], MONEY, "end", table="mrr", column="end_mrr"),
        ),
        (
            "portfolio",
            Figure(
                "nrr",
                _("NRR"),
                ret.nrr,
                PCT,
                "base",
                table="mrr",
                column="nrr",
                tone=_tone(ret.nrr, 100),
            ),
        ),
        (
            "portfolio",
            Figure(
                "grr",
                _("GRR"),
                ret.grr,
                PCT,
                "base",
                table="mrr",
                column="grr",
                tone=_tone(ret.grr, 90),
            ),
        ),
        (
            "trigger_performance",
            Figure(
                "conversion",
                _("Trigger conversion"),
                metrics.conversion(
                    successes=triggers["successes"] or 0, playbooks=triggers["playbooks"] or 0
                ),
                PCT,
                "successes",
                table="triggers",
                column="conversion",
                note=_("%(n)s of %(m)s")
                % {
                    "n": grouped(triggers["successes"])["n"],
                    "m": ngettext("%(n)s playbook", "%(n)s playbooks", whole(triggers["playbooks"]))
                    % grouped(triggers["playbooks"]),
                },
            ),
        ),
        (
            "trigger_performance",
            Figure(
                "mrr_won",
                _("MRR won by triggers"),
                triggers["mrr_won"] or 0,
                MONEY,
                "won",
                table="expansion",
                column="mrr_won",
            ),
        ),
        (
            "retention",
            Figure(
                "save_rate",
                _("Save rate"),
                save,
                PCT,
                "retained",
                table="monthly",
                column="save_rate",
                tone=_tone(save, goal_pct),
                note=_("goal %(goal)d%%") % {"goal": goal_pct},
            ),
        ),
        (
            "retention",
            Figure(
                "predictability",
                _("Churners flagged a month ahead"),
                total["share_30"],
                PCT,
                "flagged_30",
                table="predictability",
                column="share_30",
                note=ngettext("%(n)s churned", "%(n)s churned", whole(total["churners"]))
                % grouped(total["churners"]),
            ),
        ),
        (
            "retention",
            Figure(
                "churned",
                _("Accounts churned"),
                int(total["churners"]),
                INT,
                "churners",
                table="predictability",
                column="churners",
                tone="bad" if total["churners"] else "",
            ),
        ),
    ]


def _tone(value, good_from) -> str:
    if value is None:
        return ""
    return "good" if value >= good_from else "warning"
