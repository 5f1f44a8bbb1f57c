"""A trigger's version history: one immutable row per published version, written by the
versioning services in the transaction of the change (its snapshot, what changed against the
previous version, who), never rewritten; pausing is not a version but is recorded; a paused
trigger fires nothing; each firing records the version that produced it."""

import pytest
from django.db import IntegrityError, transaction

from tests.builders import DAY, trigger_world
from triggers import services
from triggers.models import Firing, Trigger, TriggerSwitch, TriggerVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, csm, manager, in_org):
    return trigger_world(org, csm, manager)


def _rows(trigger):
    return list(
        TriggerVersion.objects.filter(trigger=trigger)
        .order_by("version")
        .values_list("version", "fields", "changed", "created_by_id", "created_at")
    )


def test_a_new_trigger_records_version_one_with_its_snapshot(org, world, analyst):
    save = world["templates"]["save"]
    trigger = services.trigger_create(
        trigger=Trigger(
            organization=org,
            name="Low score",
            kind="retention",
            template=save,
            condition={"field": "health_score", "op": "<", "value": 51},
            cooldown_days=14,
        ),
        acting_user=analyst,
    )
    row = TriggerVersion.objects.get(trigger=trigger)
    assert (row.version, row.changed, row.created_by) == (1, [], analyst)
    assert row.fields == {
        "name": "Low score",
        "action": "playbook",
        "condition": {"field": "health_score", "op": "<", "value": 51},
        "cooldown_days": 14,
        "kind": "retention",
        "persona": None,
        "product": None,
        "schedule": "nightly",
        "template": save.pk,
    }


def test_each_versioned_change_writes_one_row_and_never_rewrites_an_earlier_one(
    org, world, csm, org_admin
):
    retention = world["triggers"]["retention"]  # created without the services: no row yet
    services.trigger_update(
        trigger=retention, data={"cooldown_days": 7}, acting_user=csm
    )  # version 2: its row; version 1 was never recorded (the world's bulk create)
    first = _rows(retention)
    assert [(v, changed, who) for v, _f, changed, who, _at in first] == [
        (2, ["cooldown_days"], csm.pk)
    ]
    # a new name and a pause are not versions: no row
    services.trigger_update(trigger=retention, data={"name": "Renamed"}, acting_user=csm)
    services.trigger_pause(trigger=retention, paused=True, acting_user=org_admin)
    assert _rows(retention) == first
    # the next change: version 3, what changed against version 2 (the name too)
    services.trigger_update(
        trigger=retention,
        data={"condition": {"field": "health_score", "op": "<", "value": 45}},
        acting_user=org_admin,
    )
    rows = _rows(retention)
    assert rows[0] == first[0]  # version 2 exactly as it was
    assert (rows[1][0], rows[1][2], rows[1][3]) == (3, ["condition", "name"], org_admin.pk)
    assert rows[1][1]["condition"] == {"field": "health_score", "op": "<", "value": 45}
    assert rows[1][1]["cooldown_days"] == 7


def test_a_version_row_cannot_be_changed_or_written_twice(org, world, csm):
    retention = world["triggers"]["retention"]
    services.trigger_update(trigger=retention, data={"cooldown_days": 7}, acting_user=csm)
    row = TriggerVersion.objects.get(trigger=retention)
    row.fields = {"cooldown_days": 1}
    with pytest.raises(ValueError, match="immutable"):
        row.save()
    assert TriggerVersion.objects.get(pk=row.pk).fields["cooldown_days"] == 7
    with pytest.raises(IntegrityError), transaction.atomic():
        TriggerVersion.objects.create(
            organization=org, trigger=retention, version=2, fields={}, changed=[]
        )


def test_a_failed_change_writes_no_version(org, world, csm):
    from django.core.exceptions import ValidationError

    retention = world["triggers"]["retention"]
    with pytest.raises(ValidationError):
        services.trigger_update(
            trigger=retention, data={"template": world["templates"]["offer"]}, acting_user=csm
        )
    assert not TriggerVersion.objects.filter(trigger=retention).exists()


def test_pause_and_resume_are_recorded_and_a_paused_trigger_does_not_fire(org, world, org_admin):
    retention = world["triggers"]["retention"]
    services.trigger_pause(trigger=retention, paused=True, acting_user=org_admin)
    services.trigger_pause(trigger=retention, paused=True, acting_user=org_admin)  # no change
    retention.refresh_from_db()
    assert (retention.is_active, retention.version) == (False, 1)
    assert list(TriggerSwitch.objects.values_list("is_active", "created_by_id")) == [
        (False, org_admin.pk)
    ]
    services.triggers_evaluate(org=org, day=DAY)
    assert not Firing.objects.filter(trigger=retention).exists()
    # the expansion trigger, still active, fired for Alfa as the fixture says
    assert Firing.objects.filter(trigger=world["triggers"]["expansion"]).count() == 1
    services.trigger_pause(trigger=retention, paused=False, acting_user=org_admin)
    assert list(TriggerSwitch.objects.order_by("pk").values_list("is_active", flat=True)) == [
        False,
        True,
    ]


def test_a_firing_records_the_version_that_produced_it(org, world, csm):
    """Version 2 holds below 61: Charlie (43) and Delta (60) fire, Echo (80) does not; their
    firings say 2. Version 3 holds for an invoice over 30 days overdue: Echo (41 days) fires
    when the night runs again, and says 3; Charlie and Delta fired already today."""
    retention = world["triggers"]["retention"]
    services.trigger_update(
        trigger=retention,
        data={"condition": {"field": "health_score", "op": "<", "value": 61}},
        acting_user=csm,
    )
    services.triggers_evaluate(org=org, day=DAY)
    services.trigger_update(
        trigger=retention,
        data={"condition": {"field": "overdue_invoice_max_days", "op": ">", "value": 30}},
        acting_user=csm,
    )
    services.triggers_evaluate(org=org, day=DAY)
    got = set(
        Firing.objects.filter(trigger=retention).values_list("account__name", "trigger_version")
    )
    assert got == {("Charlie", 2), ("Delta", 2), ("Echo", 3)}
    assert list(
        TriggerVersion.objects.filter(trigger=retention).values_list("version", flat=True)
    ) == [3, 2]
