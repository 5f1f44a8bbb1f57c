"""The dry run under the weekly cap, on the hand-built world of tests/triggers/test_caps.py
(cap 2 per owner; retention fires below 50: Carla A1 30, A3 40, A2 45, A8 48; Bruno B1 20; no
owner U3 15, U1 25, U2 35)."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from configuration.evaluation import trigger_dry_run
from orgs.tenancy import org_context
from tests.conftest import _member
from tests.triggers.test_caps import NIGHT1, _world
from triggers import services
from triggers.models import Alert, Firing, WeeklyCap

pytestmark = pytest.mark.django_db


@pytest.fixture
def bruno(org):
    return _member(org, "csm", "bruno.csm")


def _per_csm(run, carla, bruno):
    names = {carla.pk: "carla", bruno.pk: "bruno", None: None}
    return {
        names[r["owner_id"]]: (
            r["count"],
            r["this_week"],
            r["receives"],
            r["held"],
            r["week_total"],
        )
        for r in run.per_owner
    }


def test_the_dry_run_says_what_the_cap_holds_and_the_night_agrees(org, csm, bruno):
    """Before the night: Carla would fire 4, receive 2 and have 2 held; Bruno 1 and 1; no
    owner 3, 2 and 1 held. 8 would fire, 3 held, 5 alerts. The night then raises exactly those
    5 retention alerts (retention goes first, so expansion does not compete for them)."""
    accounts, retention, expansion = _world(org, csm, bruno)
    with org_context(org):
        run = trigger_dry_run(trigger=retention, day=NIGHT1)
        assert (run.would_fire, run.held_by_cap, run.would_create, run.cap) == (8, 3, 5, 2)
        assert _per_csm(run, csm, bruno) == {
            "carla": (4, 0, 2, 2, 2),
            "bruno": (1, 0, 1, 0, 1),
            None: (3, 0, 2, 1, 2),
        }
        assert Firing.objects.count() == 0  # it wrote nothing
    services.triggers_evaluate(org=org, day=NIGHT1)
    with org_context(org):
        assert Alert.objects.count() == run.would_create
        # after the night: the alerted accounts cool down, the queued A2, A8 and U2 would fire
        # again; Carla and the unowned pile have their 2 of the week: all 3 held
        after = trigger_dry_run(trigger=retention, day=NIGHT1)
        assert (after.would_fire, after.held_by_cap, after.would_create, after.waiting) == (
            3,
            3,
            0,
            3,
        )
        assert _per_csm(after, csm, bruno) == {"carla": (2, 2, 0, 2, 2), None: (1, 2, 0, 1, 2)}
        # the next week (a Monday) starts afresh
        monday = trigger_dry_run(trigger=retention, day=NIGHT1, week_of=dt.date(2024, 7, 1))
        assert (monday.held_by_cap, monday.would_create) == (0, 3)


def test_no_cap_holds_nothing_and_the_command_prints_the_same(org, csm, bruno):
    accounts, retention, expansion = _world(org, csm, bruno)
    out = io.StringIO()
    call_command(
        "trigger_dry_run", org="acme", trigger=str(retention.pk), date="2024-06-30", stdout=out
    )
    figures = json.loads(out.getvalue())
    assert (figures["held_back_by_cap"], figures["would_create"], figures["cap_per_csm"]) == (
        3,
        5,
        2,
    )
    carla = next(r for r in figures["per_csm"] if r["owner_id"] == csm.pk)
    assert (carla["receives"], carla["held"], carla["week_total"]) == (2, 2, 2)
    WeeklyCap.all_objects.filter(organization=org).update(per_csm=None)
    with org_context(org):
        run = trigger_dry_run(trigger=retention, day=NIGHT1)
    assert (run.would_fire, run.held_by_cap, run.would_create, run.cap) == (8, 0, 8, None)
