"""The nightly facts: the portfolio snapshot of a day, the risk carried into it, the
comparison group's health baselines and the effect of closed playbooks, on small fixtures
computed by hand; a re-run replaces a day; the trigger stage's hook refreshes them."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Interaction, UsageMetric
from health.models import HealthScore
from orgs.tenancy import org_context
from reports.models import (
    FactRefresh,
    HealthBaseline,
    PlaybookEffect,
    PortfolioDay,
    ReportSettings,
    RiskDay,
)
from reports.services import facts_refresh
from tests import factories as f
from tests.reports.fixtures import at, build

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def world(org, csm):
    with org_context(org):
        return build(org, csm)


def cells(org, day):
    return {
        (c.persona_key, c.owner_key, c.colour): c
        for c in PortfolioDay.all_objects.filter(organization=org, date=day)
    }


def test_the_snapshot_of_a_day(org, csm, world):
    """On 2024-06-30 the customers are A, B (Enterprise, the CSM's), D (no persona, no owner)
    and E (the CSM's); C and F churned in June. Their MRR from the ledger: A 1500 + B 1500 =
    3000 for Enterprise, D 800, E 600. A is green (82), B red (40); D and E not scored.
    Active (logins on at least 8 of the 30 days): A (10 days) only; B has 7. Last contact:
    A 06-25 (5 days: touched for every window); B 05-01 (60 days: untouched at 14, 30 and 60,
    not at 90); D never, signed in 2023: untouched at every window; E never, signed 04-15 (76
    days ago, counted from then): untouched at 14, 30 and 60, not at 90."""
    a, b = world["accounts"]["a"], world["accounts"]["b"]
    persona = world["persona"].pk
    day = D(2024, 6, 30)
    HealthScore.all_objects.create(organization=org, account=a, date=day, score=82, colour="green")
    HealthScore.all_objects.create(organization=org, account=b, date=day, score=40, colour="red")
    for account, days in ((a, 10), (b, 7)):
        UsageMetric.all_objects.bulk_create(
            UsageMetric(
                organization=org,
                account=account,
                metric="logins",
                date=day - dt.timedelta(days=i),
                value=3.0,
            )
            for i in range(days)
        )
    f.InteractionFactory(account=a, occurred_at=at(D(2024, 6, 25)))
    f.InteractionFactory(account=b, occurred_at=at(D(2024, 5, 1)))
    stats = facts_refresh(org=org, day=day)
    got = cells(org, day)
    assert stats.cells == len(got) == 4
    green, red = got[(persona, csm.pk, "green")], got[(persona, csm.pk, "red")]
    assert (green.customers, float(green.mrr), green.scored, green.score_sum) == (1, 1500, 1, 82)
    assert (green.active_30d, green.untouched_14, green.untouched_90) == (1, 0, 0)
    assert (red.active_30d, red.untouched_30, red.untouched_60, red.untouched_90) == (0, 1, 1, 0)
    delta = got[(0, 0, "")]
    assert (delta.customers, float(delta.mrr), delta.scored, delta.untouched_90) == (1, 800, 0, 1)
    echo = got[(0, csm.pk, "")]
    assert (float(echo.mrr), echo.untouched_60, echo.untouched_90) == (600, 1, 0)
    assert FactRefresh.all_objects.get(organization=org, date=day).cells == 4
    # the activity rule is the organization's: 7 days are enough for B once it says so
    ReportSettings.all_objects.create(organization=org, activity_min_days=7)
    facts_refresh(org=org, day=day)
    assert cells(org, day)[(persona, csm.pk, "red")].active_30d == 1


def test_activity_from_the_scores_usage_frequency(org, csm, world):
    """Where the day's score measured usage frequency over 30 days on the activity metric,
    its count of active days decides (A: 9 days in its breakdown, no usage rows read); an
    account whose score does not measure it is counted from its usage (B: none: inactive)."""
    a, b = world["accounts"]["a"], world["accounts"]["b"]
    day = D(2024, 6, 30)
    HealthScore.all_objects.create(
        organization=org,
        account=a,
        date=day,
        score=82,
        colour="green",
        breakdown={"usage_frequency:30:logins": [9.0, 38.9, 0.5], "tenure": [100.0, 90.0, 0.5]},
    )
    HealthScore.all_objects.create(
        organization=org,
        account=b,
        date=day,
        score=40,
        colour="red",
        breakdown={"tenure": [100.0, 40.0, 1.0]},
    )
    facts_refresh(org=org, day=day)
    got = cells(org, day)
    persona = world["persona"].pk
    assert got[(persona, csm.pk, "green")].active_30d == 1
    assert got[(persona, csm.pk, "red")].active_30d == 0


def test_a_rerun_replaces_the_day(org, csm, world):
    """A day refreshed twice has one set of cells; what changed in between (B became green)
    is what the second run says, and no cell of the first run lingers."""
    a, b = world["accounts"]["a"], world["accounts"]["b"]
    day = D(2024, 6, 30)
    HealthScore.all_objects.create(organization=org, account=a, date=day, score=82, colour="green")
    score = HealthScore.all_objects.create(
        organization=org, account=b, date=day, score=40, colour="red"
    )
    facts_refresh(org=org, day=day)
    before = set(cells(org, day))
    score.score, score.colour = 90, "green"
    score.save(update_fields=["score", "colour"])
    facts_refresh(org=org, day=day)
    after = cells(org, day)
    persona = world["persona"].pk
    assert (persona, csm.pk, "red") in before and (persona, csm.pk, "red") not in after
    assert after[(persona, csm.pk, "green")].customers == 2
    assert FactRefresh.all_objects.filter(organization=org, date=day).count() == 1


def test_the_risk_carried_into_a_day(org, world):
    """At the end of 2024-04-01: customers A, B, C, D, F (E signs on 04-15); C's alert fired
    that day and was decided on 04-03: at risk 1. Nothing closed in the year before."""
    facts_refresh(org=org, day=D(2024, 4, 1))
    total = {
        k: sum(getattr(r, k) for r in RiskDay.all_objects.filter(organization=org))
        for k in ("customers", "at_risk", "renewing", "retained_12m", "lost_12m")
    }
    assert total == {"customers": 5, "at_risk": 1, "renewing": 0, "retained_12m": 0, "lost_12m": 0}
    # three months on, the year before holds C churned and F retained
    facts_refresh(org=org, day=D(2024, 7, 1))
    july = RiskDay.all_objects.filter(organization=org, date=D(2024, 7, 1))
    assert sum(r.retained_12m for r in july) == 1 and sum(r.lost_12m for r in july) == 1
    assert sum(r.at_risk for r in july) == 0


def test_playbook_effects_beside_their_comparison_group(org, csm, world):
    """A's expansion playbook closed on 2024-04-25 (week of Monday 04-22). A's scores: 80
    green on 04-23 (within 6 days before the close), 90 on 05-25 (+30 days: +10), 70 on 07-20
    (the latest within 6 days before 07-24, +90 days: −10).
    Comparison group: Enterprise accounts green at the week's end (04-28) with no playbook
    open that week: G (80 on 04-28, 84 on 05-28: +4; 78 on 07-25: −2) and H (90 on 04-27, 92
    on 05-26: +2; 92 on 07-27: +2). A (its own playbook) and B (playbook open) are not in it.
    Baselines: 30 days (4 + 2) / 2 = +3; 90 days (−2 + 2) / 2 = 0. So A's playbook moved
    health 10 − 3 = +7 more than no playbook at 30 days, and −10 at 90."""
    a = world["accounts"]["a"]
    persona = world["persona"]
    g = f.AccountFactory(organization=org, name="Golf", persona=persona)
    h = f.AccountFactory(organization=org, name="Hotel", persona=persona)
    for account, day, score in (
        (a, D(2024, 4, 23), 80),
        (a, D(2024, 5, 25), 90),
        (a, D(2024, 7, 20), 70),
        (g, D(2024, 4, 28), 80),
        (g, D(2024, 5, 28), 84),
        (g, D(2024, 7, 25), 78),
        (h, D(2024, 4, 27), 90),
        (h, D(2024, 5, 26), 92),
        (h, D(2024, 7, 27), 92),
    ):
        colour = "green" if score > 75 else "yellow"
        HealthScore.all_objects.create(
            organization=org, account=account, date=day, score=score, colour=colour
        )
    facts_refresh(org=org, day=D(2024, 8, 1), rebuild=True)
    week = D(2024, 4, 22)
    cell30 = HealthBaseline.all_objects.get(
        organization=org, week=week, horizon=30, persona_key=persona.pk, colour="green"
    )
    assert (cell30.accounts, cell30.change_sum) == (2, 6.0)
    effect = PlaybookEffect.all_objects.get(playbook=world["playbooks"]["p1"])
    assert (effect.closed_on, effect.week, effect.colour) == (D(2024, 4, 25), week, "green")
    assert (effect.score_at_close, effect.score_30, effect.score_90) == (80, 90, 70)
    assert (effect.baseline_30, effect.baseline_90) == (3.0, 0.0)
    # every closed playbook has its row, once, however often the night runs
    facts_refresh(org=org, day=D(2024, 8, 1))
    assert PlaybookEffect.all_objects.filter(organization=org).count() == 4

    from reports.definitions import REPORTS
    from reports.filters import ReportFilters
    from reports.periods import QUARTER, Period

    with org_context(org):
        report = REPORTS["effectiveness"].build(
            ReportFilters(
                period=Period(QUARTER, D(2024, 4, 1), D(2024, 6, 30), D(2024, 6, 30), "2024-Q2"),
                today=D(2024, 8, 1),
            ),
            currency="BRL",
            by="template",
        )
    offer = next(
        r.values for r in report.table("effect").rows if r.values["group"] == "Offer Analytics"
    )
    assert (offer["n_30"], offer["change_30"], offer["baseline_30"], offer["lift_30"]) == (
        1,
        10.0,
        3.0,
        7.0,
    )
    assert offer["lift_90"] == -10.0


def test_the_trigger_stage_hook_refreshes_the_days_facts(
    org, world, django_capture_on_commit_callbacks
):
    """triggers offers trigger_run_completed; reports takes it: in the foreground (inline)
    the day's facts are refreshed at once."""
    from triggers.models import TriggerRun
    from triggers.signals import trigger_run_completed

    day = D(2024, 6, 30)
    assert not FactRefresh.all_objects.filter(organization=org, date=day).exists()
    trigger_run_completed.send(sender=TriggerRun, organization_id=org.pk, date=day, inline=True)
    assert FactRefresh.all_objects.filter(organization=org, date=day).exists()


def test_the_night_in_the_foreground_ends_with_the_facts(
    org, csm, django_capture_on_commit_callbacks
):
    """nightly_run_inline (run_nightly, the demo's backfill) sends the hook after its trigger
    stage, so the day has its snapshot."""
    from tests.builders import active_days, simple_model
    from triggers.services import nightly_run_inline

    day = D(2024, 6, 30)
    account = f.AccountFactory(organization=org, owner=csm, customer_since=D(2020, 1, 1))
    active_days(org, account, 9, end=day)
    simple_model(org)
    with django_capture_on_commit_callbacks(execute=True):
        nightly_run_inline(org=org, day=day)
    (cell,) = PortfolioDay.all_objects.filter(organization=org, date=day)
    assert (cell.customers, cell.colour, cell.active_30d) == (1, "green", 1)
    assert Interaction.all_objects.count() == 0  # nothing else was touched
