"""Reads of playbook effectiveness: the playbooks closed in the period per template, trigger
or CSM, their outcomes, how long they took, and how their accounts' health moved 30 and 90
days after closing against the comparison group (reports.models.PlaybookEffect)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from orgs.tenancy import current_org_id
from playbooks.models import Playbook, PlaybookTemplate
from triggers.models import Firing

from ..effect_facts import full_months
from ..filters import ReportFilters
from ..models import EffectMonth, EffectMonthState
from .scope import accounts_q, day_start, instant_range

OUTCOMES = (
    "won",
    "lost",
    "no_opportunity",
    "retained",
    "churned",
    "risk_not_confirmed",
    "activated",
    "not_activated",
    "done",
)
GROUPS = ("template", "trigger", "csm")


def closed_playbooks(f: ReportFilters) -> QuerySet[Playbook]:
    """Playbooks closed with an outcome in the period, on the filtered accounts, of the
    kind filtered (and, with a product, whose opportunity was for it)."""
    start, end = instant_range(f.date_from, f.date_to)
    qs = Playbook.objects.filter(
        status="completed", closed_at__gte=start, closed_at__lt=end
    ).filter(accounts_q(f, "account__"))
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.product_id is not None:
        qs = qs.filter(opportunity_product_id=f.product_id)
    return qs


def _aggregates(prefix: str) -> dict:
    """Counts and health sums over playbooks, `prefix` leading from the row to the playbook."""
    p = prefix
    n = lambda q=None: Count(f"{p}pk" if p else "pk", distinct=bool(p), filter=q)  # noqa: E731
    out = {"closed": n()}
    for outcome in OUTCOMES:
        out[outcome] = n(Q(**{f"{p}outcome": outcome}))
    for horizon in (30, 90):
        known = Q(
            **{
                f"{p}effect__score_at_close__isnull": False,
                f"{p}effect__score_{horizon}__isnull": False,
                f"{p}effect__baseline_{horizon}__isnull": False,
            }
        )
        out[f"n_{horizon}"] = n(known)
        out[f"change_{horizon}"] = Sum(
            F(f"{p}effect__score_{horizon}") - F(f"{p}effect__score_at_close"), filter=known
        )
        out[f"baseline_{horizon}"] = Sum(f"{p}effect__baseline_{horizon}", filter=known)
    return out


def _days(prefix: str) -> ExpressionWrapper:
    return ExpressionWrapper(
        TruncDate(f"{prefix}closed_at") - F(f"{prefix}opened_on"), output_field=DurationField()
    )


def by_group(f: ReportFilters, *, group: str) -> list[dict]:
    """Per template, or per CSM (the account's owner): closed playbooks, outcomes, and the
    sums behind the health changes. `grp` is the template or owner id."""
    key = {"template": "template_id", "csm": "account__owner_id"}[group]
    return [
        {**r, "grp": r[key]}
        for r in closed_playbooks(f).values(key).annotate(**_aggregates("")).order_by()
    ]


def by_trigger(f: ReportFilters) -> list[dict]:
    """Per trigger: the closed playbooks its firings made or joined (`grp` the trigger id);
    and a row with `grp` None for the playbooks no trigger made (started by hand)."""
    closed = closed_playbooks(f)
    from_firings = Firing.objects.filter(playbook__in=closed.values("pk"))
    rows = [
        {**r, "grp": r["trigger_id"]}
        for r in from_firings.values("trigger_id").annotate(**_aggregates("playbook__")).order_by()
    ]
    by_hand = closed.exclude(
        pk__in=Firing.objects.filter(playbook__isnull=False).values("playbook_id")
    ).aggregate(**_aggregates(""))
    if by_hand["closed"]:
        rows.append({**by_hand, "grp": None})
    return rows


def days_to_close(f: ReportFilters, *, group: str) -> list[dict]:
    """Days from opening to closing, counted per group and number of days (a histogram)."""
    if group == "trigger":
        qs = Firing.objects.filter(playbook__in=closed_playbooks(f).values("pk"))
        rows = (
            qs.annotate(days=_days("playbook__"))
            .values("trigger_id", "days")
            .annotate(n=Count("playbook", distinct=True))
            .order_by()
        )
        return [{**r, "grp": r["trigger_id"]} for r in rows]
    key = {"template": "template_id", "csm": "account__owner_id"}[group]
    rows = (
        closed_playbooks(f)
        .annotate(days=_days(""))
        .values(key, "days")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [{**r, "grp": r[key]} for r in rows]


def by_group_days(f: ReportFilters, *, group: str) -> list[dict]:
    """Per template or CSM and number of days from opening to closing: the aggregates of
    by_group. One read of the period's closed playbooks gives the rows per group, the
    histogram of days per group and, summed, the totals and their histogram (fold_group_days)
    instead of four reads of the same playbooks.

    Per template, unless the filters name a persona or a CSM (today's, which the facts of
    past months cannot know), the months the period wholly covers come from the nightly
    EffectMonth facts and only the playbooks closed since their cut, or in the months the
    period covers in part, are read raw (reports.effect_facts)."""
    key = {"template": "template_id", "csm": "account__owner_id"}[group]
    qs = closed_playbooks(f)
    facts = []
    if group == "template" and f.persona_id is None and f.owner_id is None:
        qs, facts = _with_facts(f, qs)
    rows = qs.annotate(days=_days("")).values(key, "days").annotate(**_aggregates("")).order_by()
    return [*facts, *({**r, "grp": r[key]} for r in rows)]


def _with_facts(f: ReportFilters, qs: QuerySet[Playbook]) -> tuple[QuerySet[Playbook], list]:
    """The raw playbooks left to read beside the EffectMonth cells, and those cells."""
    state = EffectMonthState.objects.values("cut").first()
    months = full_months(f.date_from, f.date_to)
    if state is None or not months:
        return qs, []
    cut = state["cut"]
    first = day_start(months[0])
    after = day_start(_month_after(months[-1]))
    facts = EffectMonth.objects.filter(month__in=months)
    if f.kind:
        facts = facts.filter(kind=f.kind)
    if f.product_id is not None:
        facts = facts.filter(product_key=f.product_id)
    # a deleted template's playbooks have none (SET_NULL), as the raw read finds them
    templates = set(PlaybookTemplate.objects.values_list("pk", flat=True))
    cells = [
        {
            **r,
            "grp": r["template_key"] if r["template_key"] in templates else None,
            "days": dt.timedelta(days=r["days"]),
        }
        for r in facts.values("template_key", "days").annotate(**FACT_SUMS).order_by()
    ]
    raw = qs.filter(Q(closed_at__gte=cut) | Q(closed_at__lt=first) | Q(closed_at__gte=after))
    return raw, cells


def _month_after(m: dt.date) -> dt.date:
    return dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)


SUMMED = tuple(_aggregates(""))
FACT_SUMS = {name: Sum(name) for name in SUMMED}


def fold_group_days(cells: list[dict]) -> tuple[list[dict], dict, dict, list]:
    """by_group_days' rows folded: (rows per group as by_group gives them, {group: [(days,
    closed)]}, the totals as totals() gives them, the totals' [(days, closed)]). Pure: each
    playbook is in exactly one cell, so the sums are those of the period's playbooks; a sum
    no playbook contributed to stays None, as the database's SUM leaves it."""

    def add(into: dict, cell: dict) -> None:
        for name in SUMMED:
            value = cell.get(name)
            if value is not None:
                into[name] = value if into.get(name) is None else into[name] + value

    empty = {name: None if name.startswith(("change_", "baseline_")) else 0 for name in SUMMED}
    groups: dict = {}
    histogram: dict = {}
    total = dict(empty)
    total_days: dict = {}
    for cell in cells:
        grp = cell["grp"]
        row = groups.setdefault(grp, {**empty, "grp": grp})
        add(row, cell)
        add(total, cell)
        if cell["days"] is not None:
            histogram.setdefault(grp, []).append((cell["days"].days, cell["closed"]))
            days = cell["days"].days
            total_days[days] = total_days.get(days, 0) + cell["closed"]
    return list(groups.values()), histogram, total, sorted(total_days.items())


def totals(f: ReportFilters) -> dict:
    return closed_playbooks(f).aggregate(**_aggregates(""))


def totals_days(f: ReportFilters) -> list[dict]:
    return list(
        closed_playbooks(f)
        .annotate(days=_days(""))
        .values("days")
        .annotate(n=Count("pk"))
        .order_by()
    )


# The accounts of the comparison groups (HealthBaseline cells) given as three arrays (week,
# persona key, colour), as the nightly job counted them (reports.services._baseline_week):
# scored in the week (the latest score within 6 days before its end, of the cell's colour),
# scored again within 6 days before the week's end + the horizon, of the cell's persona, with
# no playbook open that week. Every table named with the organization.
_COMPARISON_SQL = """
SELECT DISTINCT ref.account_id FROM (
    SELECT DISTINCT ON (w.week, s.account_id) w.week, s.account_id, s.colour
    FROM (SELECT DISTINCT cw AS week FROM unnest(%s::date[]) cw) w
    JOIN health_healthscore s ON s.organization_id = %s
        AND s.date >= w.week AND s.date <= w.week + 6 AND s.score IS NOT NULL
    ORDER BY w.week, s.account_id, s.date DESC
) ref
JOIN unnest(%s::date[], %s::bigint[], %s::text[]) AS c(week, persona_key, colour)
    ON c.week = ref.week AND c.colour = ref.colour
JOIN accounts_account a ON a.id = ref.account_id AND a.organization_id = %s
    AND COALESCE(a.persona_id, 0) = c.persona_key
WHERE EXISTS (
    SELECT 1 FROM health_healthscore l
    WHERE l.organization_id = %s AND l.account_id = ref.account_id AND l.score IS NOT NULL
        AND l.date >= ref.week + %s AND l.date <= ref.week + %s
) AND NOT EXISTS (
    SELECT 1 FROM playbooks_playbook p
    WHERE p.organization_id = %s AND p.account_id = ref.account_id
        AND p.opened_on <= ref.week + 6
        AND (p.closed_at IS NULL OR p.closed_at >= (ref.week::timestamp AT TIME ZONE %s))
)
"""


def comparison_cells(playbooks: QuerySet[Playbook], *, horizon: int) -> list[tuple]:
    """The comparison-group cells (week, persona key, colour) behind the playbooks'
    baselines at `horizon` days: those of the effects whose change and baseline are known."""
    from ..models import PlaybookEffect

    known = {
        "score_at_close__isnull": False,
        f"score_{horizon}__isnull": False,
        f"baseline_{horizon}__isnull": False,
    }
    return list(
        PlaybookEffect.objects.filter(playbook__in=playbooks.values("pk"), **known)
        .values_list("week", "persona_key", "colour")
        .distinct()
        .order_by()
    )


def comparison_accounts_sql(cells: list[tuple], *, horizon: int) -> tuple[str, list]:
    """The ids of the comparison groups' accounts, as SQL for `pk__in=RawSQL(...)`."""
    from django.utils import timezone

    org_id = current_org_id()
    weeks = [c[0] for c in cells]
    end = 6 + horizon  # the week's end + the horizon, and the tolerance before it
    return _COMPARISON_SQL, [
        weeks,
        org_id,
        weeks,
        [c[1] for c in cells],
        [c[2] for c in cells],
        org_id,
        org_id,
        end - 6,
        end,
        org_id,
        timezone.get_current_timezone_name(),
    ]
