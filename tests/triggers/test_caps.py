"""The weekly per-CSM cap: which firings become playbooks or alerts, which wait in the queue,
in which order, what the next week releases, and that re-runs and two releases at once never
exceed the cap nor duplicate. A hand-built fixture: two CSMs, a few accounts without an
owner, two triggers (retention raises alerts, expansion opens playbooks), cap 2.

The hand computation (health scores; retention fires below 50, expansion at 70 and above):

Night 1, Sunday 2024-06-30 (week of Monday 06-24), cap 2 per owner, nothing delivered yet:
  Carla: retention A1 30, A3 40, A2 45, A8 48; expansion A5 75, A4 80. Release order:
         retention first, lower health first -> A1, A3 | A2, A8, A5, A4 queue (ranks 3-6).
  Bruno: retention B1 20, expansion B2 70 -> both (ranks 1, 2 <= 2).
  No owner: retention U3 15, U1 25, U2 35 -> U3, U1 | U2 queues (one queue, capped alike).
  => alerts A1, A3, B1, U3, U1; playbook B2; queued A2, A8, A5, A4, U2 (5).

Night 2, Monday 2024-07-01 (a new week: capacity 2 each again). Before it: A8 rises to 55
(no longer matches: dropped), A5 churns (dropped), A4 is handed to Bruno (re-routed to his
queue), A6 (score 10) and A7 (score 45) are new retention firings. A1, A3, B1, U1, U3 wait for
a decision and B2 is open: cooling down, they do not fire again.
  Carla: A6 10 (new), A2 45 (fired 06-30), A7 45 (fired 07-01): lower health, then older ->
         A6, A2 | A7 stays queued.
  Bruno: A4 (expansion, queued since 06-30) -> released to Bruno, a playbook.
  No owner: U2 -> released (alert).
  => released A6, A2, U2 (alerts) and A4 (playbook); dropped A8, A5; queued A7.
"""

import datetime as dt

import pandas as pd
import pytest

from orgs.tenancy import org_context
from playbooks.models import Playbook
from tests import factories as f
from tests.builders import at_once, score, template
from tests.conftest import _member
from triggers import services
from triggers.caps import Caps, release_plan, remaining_capacity, week_start
from triggers.models import Alert, Firing, FiringQueue, Trigger, WeeklyCap
from triggers.services.caps import firings_release, weekly_cap_set

NIGHT1 = dt.date(2024, 6, 30)  # a Sunday
NIGHT2 = dt.date(2024, 7, 1)  # the Monday after: a new week


@pytest.fixture
def bruno(org):
    return _member(org, "csm", "bruno.csm")


def _world(org, carla, bruno):
    mk = lambda name, owner, **kw: f.AccountFactory(  # noqa: E731
        organization=org, name=name, owner=owner, customer_since=dt.date(2022, 1, 1), **kw
    )
    accounts = {
        "A1": mk("A1", carla),
        "A2": mk("A2", carla),
        "A3": mk("A3", carla),
        "A4": mk("A4", carla),
        "A5": mk("A5", carla),
        "A8": mk("A8", carla),
        "B1": mk("B1", bruno),
        "B2": mk("B2", bruno),
        "U1": mk("U1", None),
        "U2": mk("U2", None),
        "U3": mk("U3", None),
    }
    night1 = {"A1": 30, "A2": 45, "A3": 40, "A4": 80, "A5": 75, "A8": 48}
    night1 |= {"B1": 20, "B2": 70, "U1": 25, "U2": 35, "U3": 15}
    for name, value in night1.items():
        score(org, accounts[name], NIGHT1, value, "red" if value < 51 else "green")
    retention = Trigger.all_objects.create(
        organization=org,
        name="Low health",
        kind="retention",
        template=template(org, "Save", "retention"),
        action="alert",
        cooldown_days=30,
        condition={"field": "health_score", "op": "<", "value": 50},
    )
    expansion = Trigger.all_objects.create(
        organization=org,
        name="Healthy: grow",
        kind="expansion",
        template=template(org, "Grow", "expansion"),
        action="playbook",
        cooldown_days=30,
        condition={"field": "health_score", "op": ">=", "value": 70},
    )
    WeeklyCap.all_objects.create(organization=org, persona=None, per_csm=2)
    return accounts, retention, expansion


def _night2(org, accounts, bruno):
    """What changes before night 2 (see the module)."""
    accounts["A4"].owner = bruno
    accounts["A4"].save(update_fields=["owner"])
    accounts["A5"].lifecycle_stage = "churned"
    accounts["A5"].churned_at = NIGHT2
    accounts["A5"].save(update_fields=["lifecycle_stage", "churned_at"])
    mk = lambda name, value: f.AccountFactory(  # noqa: E731
        organization=org,
        name=name,
        owner=accounts["A1"].owner,
        customer_since=dt.date(2022, 1, 1),
    )
    accounts["A6"] = mk("A6", 10)
    accounts["A7"] = mk("A7", 45)
    night2 = {"A1": 30, "A2": 45, "A3": 40, "A4": 80, "A6": 10, "A7": 45, "A8": 55}
    night2 |= {"B1": 20, "B2": 70, "U1": 25, "U2": 35, "U3": 15}
    for name, value in night2.items():
        score(org, accounts[name], NIGHT2, value, "red" if value < 51 else "green")


def _by_state(org):
    with org_context(org):
        rows = list(Firing.objects.values_list("account__name", "queue_state"))
    out: dict[str, set] = {}
    for name, state in rows:
        out.setdefault(state, set()).add(name)
    return out


def _delivered(org):
    """(account, kind of thing, owner) of every alert and trigger playbook."""
    with org_context(org):
        alerts = {
            (a.account.name, "alert", a.owner.username if a.owner else None)
            for a in Alert.objects.select_related("account", "owner")
        }
        playbooks = {
            (p.account.name, "playbook", p.owner.username if p.owner else None)
            for p in Playbook.objects.select_related("account", "owner")
        }
    return alerts | playbooks


NIGHT1_DELIVERED = {
    ("A1", "alert", "carla.csm"),
    ("A3", "alert", "carla.csm"),
    ("B1", "alert", "bruno.csm"),
    ("B2", "playbook", "bruno.csm"),
    ("U3", "alert", None),
    ("U1", "alert", None),
}


def test_night_one_delivers_up_to_the_cap_and_queues_the_rest(org, csm, bruno):
    """Night 1 of the module's hand computation: 11 firings, 6 delivered, 5 queued."""
    _world(org, csm, bruno)
    stats = services.triggers_evaluate(org=org, day=NIGHT1)
    assert (stats.fired, stats.queued, stats.released, stats.waiting) == (11, 11, 6, 5)
    assert (stats.playbooks, stats.alerts) == (1, 5)
    assert _delivered(org) == NIGHT1_DELIVERED
    states = _by_state(org)
    assert states[FiringQueue.QUEUED] == {"A2", "A8", "A5", "A4", "U2"}
    assert states[FiringQueue.RELEASED] == {"A1", "A3", "B1", "B2", "U1", "U3"}
    with org_context(org):
        assert Firing.objects.filter(delivered_on=NIGHT1).count() == 6
        assert (
            Firing.objects.filter(queue_state=FiringQueue.QUEUED, playbook__isnull=False).count()
            == 0
        )


def test_a_rerun_of_the_night_adds_nothing(org, csm, bruno):
    """The same night again (and a third time): the week's capacity is used, the queued
    firings keep their place, no firing, playbook or alert is added."""
    _world(org, csm, bruno)
    services.triggers_evaluate(org=org, day=NIGHT1)
    for _ in range(2):
        stats = services.triggers_evaluate(org=org, day=NIGHT1)
        assert (stats.released, stats.waiting) == (0, 5)
    assert _delivered(org) == NIGHT1_DELIVERED
    with org_context(org):
        assert Firing.objects.count() == 11


def test_the_next_week_releases_in_order_drops_and_reroutes(org, csm, bruno):
    """Night 2 of the module's hand computation."""
    accounts, retention, expansion = _world(org, csm, bruno)
    services.triggers_evaluate(org=org, day=NIGHT1)
    _night2(org, accounts, bruno)
    stats = services.triggers_evaluate(org=org, day=NIGHT2)
    assert (stats.dropped, stats.released, stats.waiting) == (2, 4, 1)
    assert _delivered(org) == NIGHT1_DELIVERED | {
        ("A6", "alert", "carla.csm"),
        ("A2", "alert", "carla.csm"),
        ("U2", "alert", None),
        ("A4", "playbook", "bruno.csm"),
    }
    states = _by_state(org)
    assert states[FiringQueue.DROPPED] == {"A8", "A5"}
    assert states[FiringQueue.QUEUED] == {"A7"}
    with org_context(org):
        # the waiting A2 kept its firing of night 1 (its age is its place), none was added
        a2 = Firing.objects.get(account=accounts["A2"])
        assert (a2.fired_on, a2.delivered_on) == (NIGHT1, NIGHT2)
    # and a re-run of night 2 adds nothing
    again = services.triggers_evaluate(org=org, day=NIGHT2)
    assert (again.released, again.waiting, again.dropped) == (0, 1, 0)


def test_no_cap_creates_everything_at_once(org, csm, bruno):
    """The organization's cap emptied: all 11 firings are delivered at once, none queues."""
    _world(org, csm, bruno)
    WeeklyCap.all_objects.filter(organization=org).update(per_csm=None)
    stats = services.triggers_evaluate(org=org, day=NIGHT1)
    assert (stats.fired, stats.queued, stats.playbooks, stats.alerts) == (11, 0, 3, 8)
    assert FiringQueue.QUEUED not in _by_state(org)


def test_a_persona_with_its_own_cap_is_its_own_budget(org, csm, bruno):
    """Expansion's persona "Growth" (A4, A5, B2) gets its own cap of 1 per CSM: Carla's
    retention bucket still delivers A1, A3 (cap 2, queue A2, A8); her Growth bucket delivers
    the first of A5 75, A4 80 (both expansion, lower health first): A5; A4 queues. Bruno: B1
    (retention) and B2 (Growth, 1 of 1). 7 delivered: A1, A3, A5, B1, B2, U3, U1."""
    accounts, retention, expansion = _world(org, csm, bruno)
    growth = f.PersonaFactory(organization=org, name="Growth", slug="growth")
    for name in ("A4", "A5", "B2"):
        accounts[name].persona = growth
        accounts[name].save(update_fields=["persona"])
    expansion.persona = growth
    expansion.save(update_fields=["persona"])
    weekly_cap_set(org=org, persona=growth, per_csm=1, acting_user=csm)
    stats = services.triggers_evaluate(org=org, day=NIGHT1)
    assert (stats.released, stats.waiting) == (7, 4)
    assert _by_state(org)[FiringQueue.QUEUED] == {"A2", "A8", "A4", "U2"}


def test_capacity_counts_what_the_week_delivered_uncapped_too(org, csm, bruno):
    """Carla already received one playbook this week from an earlier, uncapped night (a
    delivered firing of Monday 06-24): night 1 leaves her 2 - 1 = 1: A1 only."""
    accounts, retention, expansion = _world(org, csm, bruno)
    with org_context(org):
        pb = Playbook.objects.create(
            organization=org,
            account=accounts["A4"],
            template=expansion.template,
            owner=csm,
            kind="expansion",
            opened_on=dt.date(2024, 6, 24),
            status="completed",
        )
        Firing.objects.create(
            organization=org,
            trigger=expansion,
            account=accounts["A4"],
            period=dt.date(2024, 6, 24),
            fired_on=dt.date(2024, 6, 24),
            playbook=pb,
            delivered_on=dt.date(2024, 6, 24),
        )
    services.triggers_evaluate(org=org, day=NIGHT1)
    with org_context(org):
        carla_alerts = set(Alert.objects.filter(owner=csm).values_list("account__name", flat=True))
    assert carla_alerts == {"A1"}


@pytest.mark.django_db(transaction=True)
def test_two_releases_at_once_never_exceed_the_cap(org, csm, bruno):
    """Two chunks of night 1 write their firings (ids split in two), then two releases run at
    once, as two workers would: together they deliver exactly night 1's six, once each."""
    accounts, retention, expansion = _world(org, csm, bruno)
    ids = sorted(a.pk for a in accounts.values())
    middle = ids[len(ids) // 2]
    services.triggers_evaluate(org=org, day=NIGHT1, first_id=ids[0], last_id=middle)
    services.triggers_evaluate(org=org, day=NIGHT1, first_id=middle + 1, last_id=ids[-1])
    assert _delivered(org) == set()  # chunks only queue: the release is the run's
    results, errors = at_once(lambda: firings_release(org=org, day=NIGHT1), 2)
    assert errors == []
    assert sorted(r.released for r in results) == [0, 6]
    assert _delivered(org) == NIGHT1_DELIVERED
    with org_context(org):
        assert Alert.objects.count() == 5 and Playbook.objects.count() == 1


def test_the_week_starts_on_monday():
    assert week_start(NIGHT1) == dt.date(2024, 6, 24)
    assert week_start(NIGHT2) == NIGHT2


def test_release_plan_cuts_each_queue_at_what_is_left():
    """Cap 2. Owner 1 used 1 this week: ranks 1 goes (2 - 1 = 1). Owner 2 used 3 (more than
    the cap, as after the cap was lowered): nothing (never negative). Owner None (unowned)
    used 0: ranks 1 and 2. Bucket 7 has no cap: all of it."""
    ranked = pd.DataFrame(
        {
            "firing_id": [11, 12, 21, 31, 32, 33, 41, 42, 43],
            "owner_id": [1, 1, 2, None, None, None, 1, 1, 1],
            "bucket": [0, 0, 0, 0, 0, 0, 7, 7, 7],
            "rn": [1, 2, 1, 1, 2, 3, 1, 2, 3],
        }
    )
    used = pd.DataFrame({"owner_id": [1, 2], "bucket": [0, 0], "n": [1, 3]})
    caps = Caps(organization=2, personas={7: None})
    plan = release_plan(ranked=ranked, used=used, caps=caps)
    assert sorted(plan["firing_id"]) == [11, 31, 32, 41, 42, 43]
    left = remaining_capacity(owners=ranked, used=used, caps=caps)
    assert left[(1, 0)] == 1 and left[(2, 0)] == 0 and left[(-1, 0)] == 2


def test_the_default_cap_is_fifteen(org, in_org):
    from triggers.selectors import caps_in_force

    assert caps_in_force() == Caps(organization=15, personas={})


def test_a_chained_night_releases_once_when_its_last_chunk_closes(org, csm, bruno):
    """The chain: the night's scoring done in two chunks of account ids, the trigger run's
    two chunks evaluated one after the other (the first only queues), and the chunk that
    closes the run releases night 1's six; a chunk delivered again changes nothing."""
    from health.models import HealthRun, HealthRunChunk
    from triggers.models import TriggerRunChunk

    accounts, retention, expansion = _world(org, csm, bruno)
    ids = sorted(a.pk for a in accounts.values())
    middle = ids[len(ids) // 2]
    run = HealthRun.all_objects.create(
        organization=org, date=NIGHT1, state="done", chunks_total=2, chunks_done=2
    )
    for index, (first, last) in enumerate([(ids[0], middle), (middle + 1, ids[-1])]):
        HealthRunChunk.all_objects.create(
            organization=org,
            run=run,
            index=index,
            first_account_id=first,
            last_account_id=last,
            state="done",
        )
    assert services.trigger_run_start(org_id=org.pk, day=NIGHT1) == 2
    first, second = TriggerRunChunk.all_objects.filter(organization=org).order_by("index")
    services.trigger_run_chunk(chunk_id=first.pk)
    assert _delivered(org) == set()
    services.trigger_run_chunk(chunk_id=second.pk)
    assert _delivered(org) == NIGHT1_DELIVERED
    services.trigger_run_chunk(chunk_id=second.pk)  # redelivered: closed, nothing happens
    assert _delivered(org) == NIGHT1_DELIVERED
    assert _by_state(org)[FiringQueue.QUEUED] == {"A2", "A8", "A5", "A4", "U2"}


def test_what_the_night_could_not_check_stays_queued(org, csm, bruno):
    """A failed chunk's accounts (here Carla's six: their ids come first) and a trigger the
    night skipped (here expansion) are not released: Carla receives nothing, Bruno only B1
    (retention), the unowned pile U3 and U1."""
    accounts, retention, expansion = _world(org, csm, bruno)
    carla_ids = sorted(accounts[n].pk for n in ("A1", "A2", "A3", "A4", "A5", "A8"))
    services.triggers_evaluate(org=org, day=NIGHT1, first_id=0, last_id=2**62)
    release = firings_release(
        org=org,
        day=NIGHT1,
        skip_triggers=[expansion.pk],
        skip_ranges=[(carla_ids[0], carla_ids[-1])],
    )
    assert (release.released, release.waiting) == (3, 8)
    assert _delivered(org) == {
        ("B1", "alert", "bruno.csm"),
        ("U3", "alert", None),
        ("U1", "alert", None),
    }


def test_a_firing_waiting_longer_than_the_expiry_leaves_the_queue_as_expired(org, csm, settings):
    """Night 1 leaves A2, A8, A5, A4 and U2 queued, all fired on 06-30; the queue keeps a
    firing 14 days (the setting's default). With the cap at 0 (nothing can be released), the
    release of 07-14 expires none (06-30 is not before 07-14 − 14 = 06-30): 5 still wait;
    that of 07-15 expires all 5 (06-30 < 07-01), in one statement, and 0 wait. Expired is
    a state of its own (not released, not dropped), and a re-run expires nothing more."""
    assert settings.TRIGGER_QUEUE_EXPIRY_DAYS == 14
    bruno = _member(org, "csm", "bruno.csm")
    _world(org, csm, bruno)
    services.triggers_evaluate(org=org, day=NIGHT1)
    WeeklyCap.all_objects.filter(organization=org).update(per_csm=0)
    on_14 = firings_release(org=org, day=dt.date(2024, 7, 14))
    assert (on_14.expired, on_14.released, on_14.waiting) == (0, 0, 5)
    on_15 = firings_release(org=org, day=dt.date(2024, 7, 15))
    assert (on_15.expired, on_15.released, on_15.waiting) == (5, 0, 0)
    states = _by_state(org)
    assert states[FiringQueue.EXPIRED] == {"A2", "A8", "A5", "A4", "U2"}
    assert FiringQueue.QUEUED not in states
    assert firings_release(org=org, day=dt.date(2024, 7, 16)).expired == 0
