"""Trigger evaluation on the hand-built fixture: who fires, the evidence, exactly once,
cool-downs, alerts, the monthly forecast; and a trigger's versions (a change to what fires).
The playbooks it opens are worked and closed in tests/playbooks/test_services.py."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from conditions.phrases import PHRASES_KEY
from playbooks import services as pb
from playbooks.models import Notification, Playbook, PlaybookStep
from playbooks.services import PlaybookError
from tests.builders import DAY, at_once, score, template, trigger_world
from triggers import services
from triggers.models import Alert, Firing


def values(evidence: dict) -> dict:
    """The fields' values of a firing's evidence (its sentences, stored beside them as data,
    are tests/triggers/test_evidence_language.py's)."""
    return {k: v for k, v in evidence.items() if k != PHRASES_KEY}


pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, csm, manager, in_org):
    return trigger_world(org, csm, manager)


def fired(trigger):
    return set(Firing.objects.filter(trigger=trigger).values_list("account__name", flat=True))


def test_who_fires(org, world):
    stats = services.triggers_evaluate(org=org, day=DAY)
    t = world["triggers"]
    # Bravo already holds Analytics; Echo is green but its volume is flat
    assert fired(t["expansion"]) == {"Alfa"}
    assert fired(t["retention"]) == {"Charlie", "Delta", "Echo"}
    assert (stats.fired, stats.playbooks, stats.alerts) == (4, 1, 3)


def test_evidence_is_what_the_fixture_says(org, world):
    services.triggers_evaluate(org=org, day=DAY)
    t, acc = world["triggers"], world["accounts"]
    alfa = Firing.objects.get(trigger=t["expansion"], account=acc["a"])
    assert values(alfa.evidence) == {"health_colour": "green", "indicator.volume_trend.raw": 35.0}
    echo = Firing.objects.get(trigger=t["retention"], account=acc["e"])
    assert values(echo.evidence) == {
        "health_score": 80.0,
        "indicator.volume_trend.raw": 0.0,
        "overdue_invoice_max_days": 41.0,  # due 2024-05-20, unpaid on 2024-06-30
    }
    assert echo.evidence_text == "The oldest unpaid invoice is 41 days overdue"
    delta = Firing.objects.get(trigger=t["retention"], account=acc["d"])
    assert delta.evidence_text == "Transacted volume fell 38% over 90 days"


def test_playbook_carries_the_evidence_and_steps(org, world, csm, manager):
    services.triggers_evaluate(org=org, day=DAY)
    playbook = Playbook.objects.get(account=world["accounts"]["a"])
    assert playbook.origin == "trigger"
    assert playbook.origin_label == "Enterprise growth: offer Analytics"
    assert values(playbook.evidence) == {
        "health_colour": "green",
        "indicator.volume_trend.raw": 35.0,
    }
    assert playbook.evidence_text == (
        "Health is green (82); Transacted volume rose 35% over 90 days"
    )
    steps = list(PlaybookStep.objects.filter(playbook=playbook).order_by("order"))
    assert [(s.title, s.due_on, s.assignee_id) for s in steps] == [
        ("Call the sponsor", DAY + dt.timedelta(days=2), csm.pk),
        ("Review with manager", DAY + dt.timedelta(days=7), manager.pk),
    ]
    assert Firing.objects.get(account=world["accounts"]["a"]).playbook_id == playbook.pk
    assert Notification.objects.filter(user=csm, kind="playbook_assigned").count() == 1
    assert Notification.objects.filter(user=csm, kind="alert_raised").count() == 3


def test_rerunning_the_night_creates_nothing_new(org, world):
    services.triggers_evaluate(org=org, day=DAY)
    services.triggers_evaluate(org=org, day=DAY)
    assert Firing.objects.count() == 4
    assert Playbook.objects.count() == 1
    assert Alert.objects.count() == 3
    assert Notification.objects.count() == 4


def test_cooldown_while_open_and_within_days(org, world, csm):
    services.triggers_evaluate(org=org, day=DAY)
    acc = world["accounts"]
    next_day = DAY + dt.timedelta(days=1)
    for key, s, c, v in [("a", 82, "green", 35.0), ("c", 43, "red", 5.0)]:
        score(org, acc[key], next_day, s, c, volume=v)
    services.triggers_evaluate(org=org, day=next_day)
    assert Firing.objects.filter(fired_on=next_day).count() == 0  # open playbook / pending alert
    # close the playbook and dismiss the alert: still within the 30 cool-down days
    playbook = Playbook.objects.get(account=acc["a"])
    pb.playbook_close(playbook_id=playbook.pk, user=csm, outcome="no_opportunity", today=next_day)
    alert = Alert.objects.get(account=acc["c"])
    services.alert_dismiss(alert_id=alert.pk, user=csm, reason="Talked to them, fine")
    services.triggers_evaluate(org=org, day=next_day)
    assert Firing.objects.filter(fired_on=next_day).count() == 0
    later = DAY + dt.timedelta(days=30)
    for key, s, c, v in [("a", 82, "green", 35.0), ("c", 43, "red", 5.0)]:
        score(org, acc[key], later, s, c, volume=v)
    services.triggers_evaluate(org=org, day=later)
    assert set(Firing.objects.filter(fired_on=later).values_list("account__name", flat=True)) == {
        "Alfa",
        "Charlie",
    }


def test_open_playbooks_and_pending_alerts_hold_back_past_the_cooldown_days(org, world, csm):
    """The night of DAY fires the expansion trigger on Alfa (a playbook) and the retention
    trigger on Charlie, Delta and Echo (alerts). Moved 100 days back, past both 30-day
    cool-downs, the firings still hold their accounts back while the playbook is open and the
    alerts pending, each for its own trigger only. Alfa's playbook closed and Charlie's alert
    dismissed: only Delta and Echo are held (retention); expansion holds nobody back."""
    from triggers import selectors

    services.triggers_evaluate(org=org, day=DAY)
    Firing.objects.update(fired_on=DAY - dt.timedelta(days=100))
    acc, t = world["accounts"], world["triggers"]
    name = {a.pk: a.name for a in acc.values()}

    def held():
        blocked = selectors.accounts_cooling_down(triggers=list(t.values()), day=DAY)
        return {k: {name[i] for i in blocked.get(t[k].pk, [])} for k in t}

    assert held() == {"expansion": {"Alfa"}, "retention": {"Charlie", "Delta", "Echo"}}
    playbook = Playbook.objects.get(account=acc["a"])
    pb.playbook_close(playbook_id=playbook.pk, user=csm, outcome="no_opportunity", today=DAY)
    alert = Alert.objects.get(account=acc["c"])
    services.alert_dismiss(alert_id=alert.pk, user=csm, reason="Talked to them, fine")
    assert held() == {"expansion": set(), "retention": {"Delta", "Echo"}}


def test_alert_confirm_creates_the_playbook_and_dismiss_needs_a_reason(org, world, csm):
    services.triggers_evaluate(org=org, day=DAY)
    acc = world["accounts"]
    alert = Alert.objects.get(account=acc["c"])
    services.alert_confirm(alert_id=alert.pk, user=csm, today=DAY)
    alert.refresh_from_db()
    assert alert.status == "confirmed" and alert.playbook.kind == "retention"
    assert alert.playbook.evidence == alert.firing.evidence
    with pytest.raises(PlaybookError, match="already confirmed"):
        services.alert_confirm(alert_id=alert.pk, user=csm, today=DAY)
    other = Alert.objects.get(account=acc["d"])
    with pytest.raises(PlaybookError) as exc:
        services.alert_dismiss(alert_id=other.pk, user=csm, reason="  ")
    assert exc.value.field == "reason"
    services.alert_dismiss(alert_id=other.pk, user=csm, reason="Seasonal dip")
    other.refresh_from_db()
    assert other.status == "dismissed" and other.dismiss_reason == "Seasonal dip"


def test_monthly_run_and_forecast(org, world):
    from triggers.models import RetentionForecast, Trigger

    t = world["triggers"]["retention"]
    Trigger.objects.filter(pk=t.pk).update(schedule="monthly")
    first = dt.date(2024, 7, 1)
    for key, s, c, v in [
        ("c", 43, "red", 5.0),
        ("d", 60, "yellow", -38.0),
        ("e", 80, "green", 0.0),
    ]:
        score(org, world["accounts"][key], first, s, c, volume=v)
    stats = services.triggers_run_monthly(org=org, day=first)
    assert stats.alerts == 3
    assert set(Firing.objects.values_list("period", flat=True)) == {first}
    cells = list(RetentionForecast.objects.filter(month=first))
    # no alert decided before: every alert is expected to need an action; all hold core
    assert [(c.persona_id, c.product_id, c.alerts_raised, c.expected_actions) for c in cells] == [
        (None, world["products"]["core"].pk, 3, 3)
    ]
    assert cells[0].mrr_at_risk == Decimal("3000")
    services.triggers_run_monthly(org=org, day=first)  # idempotent
    assert Alert.objects.count() == 3 and RetentionForecast.objects.count() == 1


def test_forecast_confirm_rate_comes_from_the_alerts_decided_in_the_last_six_months(
    org, world, csm
):
    """Expected actions = ceil(alerts raised x the share of retention alerts confirmed among
    those decided in the 182 days before the month) + open retention playbooks with a step
    due in the month. Hand-computed below."""
    from triggers.models import RetentionForecast, Trigger

    # June 30: the nightly retention trigger raises 3 alerts (Charlie, Delta, Echo).
    services.triggers_evaluate(org=org, day=DAY)
    acc = world["accounts"]
    alerts = {a.account_id: a for a in Alert.objects.all()}
    # Charlie: confirmed on June 30 -> a retention playbook, steps due July 2 and 7 (open).
    services.alert_confirm(alert_id=alerts[acc["c"].pk].pk, user=csm, today=DAY)
    # Delta: dismissed on June 30. Echo: dismissed, but back in December 2023, before the
    # window (2024-07-01 - 182 days = 2024-01-01): it does not count.
    services.alert_dismiss(alert_id=alerts[acc["d"].pk].pk, user=csm, reason="Seasonal")
    services.alert_dismiss(alert_id=alerts[acc["e"].pk].pk, user=csm, reason="Paid since")
    june_30 = dt.datetime(2024, 6, 30, 12, tzinfo=dt.UTC)
    Alert.objects.filter(account__in=[acc["c"], acc["d"]]).update(decided_at=june_30)
    Alert.objects.filter(account=acc["e"]).update(
        decided_at=dt.datetime(2023, 12, 15, 12, tzinfo=dt.UTC)
    )
    # Confirm rate = 1 confirmed / 2 decided in the window = 0.5.

    first = dt.date(2024, 7, 1)
    Trigger.all_objects.create(
        organization=org,
        name="Monthly retention review",
        kind="retention",
        schedule="monthly",
        action="alert",
        template=world["templates"]["save"],
        condition={"field": "health_score", "op": "<", "value": 81},
    )
    for key, s, c in [("a", 82, "green"), ("b", 90, "green"), ("c", 43, "red")]:
        score(org, acc[key], first, s, c)
    for key, s, c in [("d", 60, "yellow"), ("e", 80, "green")]:
        score(org, acc[key], first, s, c)
    stats = services.triggers_run_monthly(org=org, day=first)
    assert stats.alerts == 3  # Charlie 43, Delta 60, Echo 80 (< 81); Alfa 82, Bravo 90 not

    cells = list(RetentionForecast.objects.filter(month=first))
    # One cell: no persona, main product core. Alerts 3; open retention playbooks with a
    # step due in July: Charlie's (1). Expected = ceil(3 x 0.5) + 1 = 2 + 1 = 3 (with the
    # default rate 1.0 it would be 4; counting Echo's old dismissal, ceil(3 x 1/3) + 1 = 2).
    assert [
        (c.persona_id, c.product_id, c.alerts_raised, c.expected_actions, c.accounts_at_risk)
        for c in cells
    ] == [(None, world["products"]["core"].pk, 3, 3, 3)]
    assert cells[0].mrr_at_risk == Decimal("3000")


@pytest.mark.django_db(transaction=True)
def test_the_night_twice_at_once_fires_once(org, csm, manager):
    assert connection.vendor == "postgresql"
    from orgs.tenancy import org_context

    with org_context(org):
        trigger_world(org, csm, manager)
    _, errors = at_once(lambda: services.triggers_evaluate(org=org, day=DAY), 3)
    assert errors == []
    with org_context(org):
        assert Firing.objects.count() == 4
        assert Playbook.objects.count() == 1
        assert Alert.objects.count() == 3
        assert Notification.objects.count() == 4


# -- configuration: a change to what fires is a new version --------------------------------


def test_a_new_trigger_is_validated_and_saved_at_version_one(org, world):
    from django.core.exceptions import ValidationError

    from triggers.models import Trigger

    def retention(name, field, **extra):
        condition = {"field": field, "op": "<", "value": 51}
        save = world["templates"]["save"]
        return Trigger(
            organization=org,
            name=name,
            kind="retention",
            template=save,
            condition=condition,
            **extra,
        )

    with pytest.raises(ValidationError) as exc:
        services.trigger_create(trigger=retention("Typo", "health_scor"))
    assert "unknown field 'health_scor'" in str(exc.value)
    assert not Trigger.objects.filter(name="Typo").exists()

    services.trigger_create(trigger=retention("Low score", "health_score", version=7))
    assert Trigger.objects.get(name="Low score").version == 1


def _versioned_changes(org, world):
    """One change of each field that changes what the trigger fires or opens, valid as a
    whole (a new kind comes with a template of that kind)."""
    enterprise = world["accounts"]["a"].persona
    renewal = template(org, "Renewal call", "renewal")
    return {
        "condition": {"condition": {"field": "health_score", "op": "<", "value": 45}},
        "persona": {"persona": enterprise},
        "product": {"product": world["products"]["analytics"]},
        "schedule": {"schedule": "monthly"},
        "cooldown_days": {"cooldown_days": 7},
        "action": {"action": "playbook"},
        "template": {"template": template(org, "Second save", "retention")},
        "kind": {"kind": "renewal", "template": renewal},
    }


@pytest.mark.parametrize(
    "field",
    ["condition", "persona", "product", "schedule", "cooldown_days", "action", "template", "kind"],
)
def test_a_change_to_what_fires_is_the_next_version(org, world, csm, field):
    retention = world["triggers"]["retention"]
    data = _versioned_changes(org, world)[field]
    services.trigger_update(trigger=retention, data=data, acting_user=csm)
    retention.refresh_from_db()
    assert retention.version == 2
    assert {name: getattr(retention, name) for name in data} == data


@pytest.mark.parametrize("data", [{"name": "Renamed"}, {"is_active": False}])
def test_a_new_name_or_switching_off_is_saved_in_the_same_version(org, world, csm, data):
    retention = world["triggers"]["retention"]
    services.trigger_update(trigger=retention, data=data, acting_user=csm)
    retention.refresh_from_db()
    assert retention.version == 1
    assert {name: getattr(retention, name) for name in data} == data


def test_values_equal_to_the_stored_ones_change_nothing(org, world, csm):
    from triggers.models import Trigger

    retention = world["triggers"]["retention"]
    before = Trigger.objects.values_list("updated_at", flat=True).get(pk=retention.pk)
    same = {
        "name": retention.name,
        "condition": {**retention.condition},
        "template": world["templates"]["save"],
        "persona": None,
        "cooldown_days": retention.cooldown_days,
    }
    services.trigger_update(trigger=retention, data=same, acting_user=csm)
    stored = Trigger.objects.values_list("version", "updated_at").get(pk=retention.pk)
    assert stored == (1, before)


def test_a_form_that_already_changed_the_instance_still_makes_a_version(org, world, csm):
    """The admin's form sets the new values on the instance before the service runs: what
    changed is decided against the stored row."""
    retention = world["triggers"]["retention"]
    retention.cooldown_days = 3
    services.trigger_update(trigger=retention, data={"cooldown_days": 3}, acting_user=csm)
    retention.refresh_from_db()
    assert (retention.cooldown_days, retention.version) == (3, 2)


def test_an_invalid_change_is_refused_and_nothing_is_written(org, world, csm):
    from django.core.exceptions import ValidationError

    from triggers.models import Trigger

    retention = world["triggers"]["retention"]
    with pytest.raises(ValidationError) as exc:
        services.trigger_update(
            trigger=retention,
            data={"template": world["templates"]["offer"], "name": "Broken"},
            acting_user=csm,
        )
    assert "the template makes expansion playbooks" in str(exc.value)
    stored = Trigger.objects.values_list("name", "template_id", "version").get(pk=retention.pk)
    assert stored == ("Retention risk", world["templates"]["save"].pk, 1)
    with pytest.raises(ValueError, match="not writable here: organization"):
        services.trigger_update(trigger=retention, data={"organization": org}, acting_user=csm)


def test_tonights_firings_record_the_version_that_fired(org, world, csm):
    retention = world["triggers"]["retention"]
    condition = {"field": "health_score", "op": "<", "value": 61}
    services.trigger_update(trigger=retention, data={"condition": condition}, acting_user=csm)
    services.triggers_evaluate(org=org, day=DAY)
    versions = set(Firing.objects.filter(trigger=retention).values_list("trigger_version"))
    assert versions == {(2,)}
