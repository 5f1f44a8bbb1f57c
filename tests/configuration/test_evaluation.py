"""The dry run and the backtest against the night: the dry run names the accounts the night
then fires on, holds back those in cool-down, and writes nothing; the backtest replays the
stored history and its figures are the hand-computed ones; the commands print them."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from accounts.models import Account, MrrMovement
from configuration.backtest import apply_cooldown, backtest_figures
from configuration.evaluation import backtest_days, trigger_backtest, trigger_dry_run
from health.models import HealthScore
from orgs.tenancy import org_context
from tests import factories as f
from tests.builders import DAY, template, trigger_world
from triggers.models import Firing, Trigger
from triggers.services import triggers_evaluate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, csm, manager):
    return trigger_world(org, csm, manager)


def _row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        out = {}
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            out[table] = cursor.fetchone()[0]
    return out


def test_the_dry_run_names_the_accounts_the_night_then_fires_on(world, org):
    with org_context(org):
        runs = {
            name: trigger_dry_run(trigger=Trigger.objects.get(pk=t.pk), day=DAY)
            for name, t in world["triggers"].items()
        }
    assert sorted(runs["retention"].accounts["name"]) == ["Charlie", "Delta", "Echo"]
    # Alfa only: Bravo already holds Analytics, the others are not in the persona
    assert sorted(runs["expansion"].accounts["name"]) == ["Alfa"]
    assert runs["expansion"].in_scope == 1
    triggers_evaluate(org=org, day=DAY)
    for name, trigger in world["triggers"].items():
        fired = set(Firing.all_objects.filter(trigger=trigger).values_list("account_id", flat=True))
        assert fired == set(runs[name].accounts.index), name


def test_the_dry_run_writes_nothing_and_holds_back_what_is_cooling_down(world, org):
    retention = world["triggers"]["retention"]
    Firing.all_objects.create(
        organization=org,
        trigger=retention,
        account=world["accounts"]["c"],
        period=DAY - dt.timedelta(days=10),
        fired_on=DAY - dt.timedelta(days=10),
    )
    before = _row_counts()
    with org_context(org):
        run = trigger_dry_run(trigger=Trigger.objects.get(pk=retention.pk), day=DAY)
    assert _row_counts() == before
    # Charlie fired 10 days ago, within the 30-day cool-down
    assert (run.matched, run.held_back, run.would_fire) == (3, 1, 2)
    assert sorted(run.accounts["name"]) == ["Delta", "Echo"]


def test_the_dry_run_shows_each_firing_accounts_name_owner_and_mrr(world, org, csm, monkeypatch):
    """The retention trigger fires on Charlie, Delta and Echo (3 of the 5 accounts): owned by
    the CSM, MRR 1,000 each (one Core subscription of 1,000). The condition's frame does not
    carry these columns: they are read for the firing accounts by id, or for the whole frame
    when the firing accounts are many (3 in 5 is more than one in MANY_FIRE_SHARE = 4; with a
    share of 1 they are read by id): both read the same."""
    from configuration import evaluation

    expected = {n: (csm.pk, 1000.0) for n in ("Charlie", "Delta", "Echo")}
    with org_context(org):
        trigger = Trigger.objects.get(pk=world["triggers"]["retention"].pk)
        whole = trigger_dry_run(trigger=trigger, day=DAY)
        monkeypatch.setattr(evaluation, "MANY_FIRE_SHARE", 1)
        by_id = trigger_dry_run(trigger=trigger, day=DAY)
    for run in (whole, by_id):
        shown = {r["name"]: (int(r["owner_id"]), r["mrr"]) for r in run.accounts.to_dict("records")}
        assert shown == expected
        assert run.accounts["health_score"].to_dict() == {
            world["accounts"][k].pk: v for k, v in (("c", 43.0), ("d", 60.0), ("e", 80.0))
        }
    assert list(whole.accounts.index) == list(by_id.accounts.index)


def test_accounts_shown_reads_only_the_organizations_accounts(world, org, other_org):
    """Asked for Alfa, an account of another organization and Bravo, in that order: Alfa and
    Bravo are read; the other organization's row stays empty."""
    from configuration.selectors import accounts_shown

    theirs = f.AccountFactory(organization=other_org, name="Theirs")
    a, b = world["accounts"]["a"], world["accounts"]["b"]
    with org_context(org):
        shown = accounts_shown(ids=[a.pk, theirs.pk, b.pk])
    assert list(shown.index) == [a.pk, theirs.pk, b.pk]
    assert shown.loc[a.pk, "name"] == "Alfa" and shown.loc[b.pk, "name"] == "Bravo"
    assert shown.loc[theirs.pk].isna().all()


def test_apply_cooldown_by_hand():
    """Weekly days 1, 8, 15, 22 (as Jan 2024). Account 1 holds every week, account 2 on
    weeks 1 and 22. Cool-down 14 days: account 1 fires on the 1st, is held on the 8th (7
    days), fires on the 15th (14 days: not less than 14), is held on the 22nd; account 2
    fires on the 1st and the 22nd (21 days). Firings per week: 2, 0, 1, 1."""
    days = [dt.date(2024, 1, d) for d in (1, 8, 15, 22)]
    hits = pd.DataFrame(
        {
            "day": [days[0], days[1], days[2], days[3], days[0], days[3]],
            "account_id": [1, 1, 1, 1, 2, 2],
        }
    )
    fired = apply_cooldown(hits, days, 14)
    assert sorted(zip(fired["day"], fired["account_id"], strict=True)) == [
        (days[0], 1),
        (days[0], 2),
        (days[2], 1),
        (days[3], 2),
    ]


def test_backtest_figures_by_hand():
    """Days Jan 1 and Jan 8; today Jun 1 (both judged: +90 days is Mar 31 / Apr 7).
    Population: accounts 1-4 on both days (8 account-days). Hits: 1 and 2 on Jan 1, 1 again
    on Jan 8 (held: cool-down 30). Account 1 churned Feb 1 (within 90 days of both days);
    account 3 churned May 30 (outside both windows); account 2 expanded Jan 20; account 4
    expanded Jan 5 (within Jan 1's window only).
    Fired: accounts 1 and 2, judged from Jan 1: churned 1 of 2 (0.5), expanded 1 of 2 (0.5).
    Base: churn = account 1 on both days = 2 of 8 (0.25) -> lift 2.0;
    expansion = account 2 on both days + account 4 on Jan 1 = 3 of 8 (0.375) -> lift 4/3."""
    days = [dt.date(2024, 1, 1), dt.date(2024, 1, 8)]
    population = pd.DataFrame({"day": days * 4, "account_id": [1, 1, 2, 2, 3, 3, 4, 4]})
    hits = pd.DataFrame({"day": [days[0], days[0], days[1]], "account_id": [1, 2, 1]})
    churned = pd.Series({1: dt.date(2024, 2, 1), 3: dt.date(2024, 5, 30)})
    expansions = pd.DataFrame(
        {"account_id": [2, 4], "date": [dt.date(2024, 1, 20), dt.date(2024, 1, 5)]}
    )
    result = backtest_figures(
        days=days,
        hits=hits,
        population=population,
        cooldown_days=30,
        churned_on=churned,
        expansions=expansions,
        today=dt.date(2024, 6, 1),
    )
    assert result.firings == [2, 0]
    assert result.accounts_fired == 2
    assert (result.fired.judged, result.fired.churned, result.fired.expanded) == (2, 1, 1)
    assert (result.base.judged, result.base.churned, result.base.expanded) == (8, 2, 3)
    assert result.churn_lift == pytest.approx(2.0)
    assert result.expansion_lift == pytest.approx(0.5 / 0.375)
    # a horizon that has not passed is not judged
    early = backtest_figures(
        days=days,
        hits=hits,
        population=population,
        cooldown_days=30,
        churned_on=churned,
        expansions=expansions,
        today=dt.date(2024, 4, 1),
    )
    assert (early.fired.judged, early.base.judged) == (2, 4)


def test_the_backtest_replays_the_stored_history(org, csm):
    """Four accounts, scored weekly on the replayed days. Condition: health score < 50,
    cool-down 21. Today is DAY (Jun 30); 28 days back weekly: Jun 2, 9, 16, 23, 30.
    - A: 40 every week: fires Jun 2, held Jun 9 and 16 (7, 14 days), fires Jun 23 (21 days:
      not less than 21), held Jun 30 -> 2 firings.
    - B: 40 on Jun 16 only: fires Jun 16 -> 1.
    - C and D: 80: never.
    Firings per replayed day: 1, 0, 1, 1, 0. With today Jun 30 no firing is 90 days old,
    so nothing is judged.

    Then A churns on Aug 1 and the backtest runs on Oct 27 over 147 days (Jun 2 to Oct 27,
    weekly; no scores after Jun 30, so no later firing). Judged days: those up to Jul 29
    (+90 <= Oct 27): Jun 2 .. Jul 28, 9 days x 4 accounts (A is a customer until Aug 1) = 36
    account-days, of which A's 9 churn within 90 days: base 9/36 = 0.25. Fired: A (first on
    Jun 2, churned) and B (Jun 16, did not): 1/2. Lift 0.5 / 0.25 = 2."""
    accounts = {
        k: f.AccountFactory(organization=org, name=k, owner=csm, customer_since=dt.date(2020, 1, 1))
        for k in "ABCD"
    }
    days = backtest_days(today=DAY, days=28)
    assert days == [dt.date(2024, 6, d) for d in (2, 9, 16, 23, 30)]
    for day in days:
        for name, account in accounts.items():
            value = 40 if name == "A" or (name == "B" and day == days[2]) else 80
            HealthScore.all_objects.create(
                organization=org, account=account, date=day, score=value, colour="green"
            )
    trigger = Trigger.all_objects.create(
        organization=org,
        name="Low",
        kind="retention",
        template=template(org, "Call", "retention"),
        cooldown_days=21,
        condition={"field": "health_score", "op": "<", "value": 50},
    )
    with org_context(org):
        result = trigger_backtest(trigger=trigger, today=DAY, days=28)
    assert result.firings == [1, 0, 1, 1, 0]
    assert result.accounts_fired == 2
    assert result.fired.judged == 0 and result.churn_lift is None
    Account.all_objects.filter(pk=accounts["A"].pk).update(churned_at=dt.date(2024, 8, 1))
    later_day = dt.date(2024, 10, 27)
    with org_context(org):
        later = trigger_backtest(trigger=trigger, today=later_day, days=147)
    assert later.days[0] == days[0]
    assert later.firings[:5] == [1, 0, 1, 1, 0] and sum(later.firings[5:]) == 0
    assert (later.fired.judged, later.fired.churned) == (2, 1)
    assert (later.base.judged, later.base.churned) == (36, 9)
    assert later.churn_lift == pytest.approx(2.0)
    assert MrrMovement.all_objects.count() == 0


def test_the_commands_print_the_pages_figures_and_refuse_in_one_line(world, org):
    retention = world["triggers"]["retention"]
    out = io.StringIO()
    call_command("trigger_dry_run", org="acme", trigger=str(retention.pk), stdout=out)
    figures = json.loads(out.getvalue())
    assert (figures["matched"], figures["would_fire"], figures["day"]) == (3, 3, DAY.isoformat())
    out = io.StringIO()
    call_command("trigger_dry_run", org="acme", trigger=str(retention.pk), format="csv", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0] == "account_id,account,owner_id,evidence" and len(lines) == 4
    out = io.StringIO()
    call_command("trigger_backtest", org="acme", trigger=str(retention.pk), days="14", stdout=out)
    assert len(json.loads(out.getvalue())["weeks"]) == 3
    with pytest.raises(CommandError, match="--org: no organization with slug 'nope'"):
        call_command("trigger_dry_run", org="nope", trigger="1")
    with pytest.raises(CommandError, match="--trigger: the organization has no trigger with id"):
        call_command("trigger_backtest", org="acme", trigger="999999")
    with pytest.raises(CommandError, match="--trigger must be a whole number"):
        call_command("trigger_dry_run", org="acme", trigger="abc")
    with pytest.raises(CommandError, match="--days must be between 7 and 730"):
        call_command("trigger_backtest", org="acme", trigger=str(retention.pk), days="5000")


def test_a_backtest_reaching_further_back_than_the_raw_usage_kept_is_refused(
    client, world, org, org_admin, settings
):
    """With USAGE_RAW_RETENTION_DAYS = 400 the longest backtest is 400 - 90 = 310 days (its
    oldest replayed day's usage fields read 90 days before it): 311 is refused by the command
    (one line naming the setting) and by the page (the message, and the 310 days it ran)."""
    retention = world["triggers"]["retention"]
    settings.USAGE_RAW_RETENTION_DAYS = 400
    with pytest.raises(CommandError, match=r"--days: at most 310 \(got 311\): raw daily usage"):
        call_command("trigger_backtest", org="acme", trigger=str(retention.pk), days="311")
    out = io.StringIO()
    call_command("trigger_backtest", org="acme", trigger=str(retention.pk), days="310", stdout=out)
    assert len(json.loads(out.getvalue())["weeks"]) == 45  # 0, 7, ..., 308 days back
    client.force_login(org_admin)
    page = client.get(reverse("configuration:backtest", args=[retention.pk]), {"days": "311"})
    assert page.status_code == 200
    assert "raw daily usage is kept for 400 days" in page.content.decode()
    assert page.context["days"] == 310
