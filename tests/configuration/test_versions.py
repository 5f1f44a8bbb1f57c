"""A trigger's history page and what it does: versions side by side with what changed named
in words, firings per version, restoring an old version as a draft (publishing it makes the
next version with the old fields; the earlier rows stay as they were), pausing and resuming
from the trigger's page (admins only; not a version). Another organization's triggers and
versions are not found (404); CSMs and managers are refused (403: tests/configuration/
test_views.py walks every write)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from configuration.models import TriggerDraft
from tests.builders import DAY, trigger_world
from triggers import services
from triggers.models import Firing, Trigger, TriggerSwitch, TriggerVersion

pytestmark = pytest.mark.django_db

LOW_55 = {"field": "health_score", "op": "<", "value": 55}


@pytest.fixture
def world(org, csm, manager):
    return trigger_world(org, csm, manager)


def _versions(trigger):
    return list(
        TriggerVersion.all_objects.filter(trigger=trigger)
        .order_by("version")
        .values_list("version", "fields", "changed", "created_at")
    )


def _publish_v2(trigger, user):
    from orgs.tenancy import org_context

    with org_context(trigger.organization):
        services.trigger_update(
            trigger=trigger, data={"condition": LOW_55, "cooldown_days": 7}, acting_user=user
        )
        services.trigger_update(
            trigger=trigger, data={"cooldown_days": 14}, acting_user=user
        )  # version 3
    trigger.refresh_from_db()
    return trigger


def test_restore_then_publish_makes_the_next_version_with_the_old_fields(
    client, world, org_admin, analyst
):
    retention = _publish_v2(world["triggers"]["retention"], org_admin)
    before = _versions(retention)
    assert [v for v, *_ in before] == [2, 3]
    v2_fields = before[0][1]

    client.force_login(analyst)  # an analyst restores: a draft fires nothing
    url = reverse("configuration:trigger_version_restore", args=[retention.pk, 2])
    response = client.post(url)
    draft = TriggerDraft.all_objects.get(trigger=retention)
    assert response.url == reverse("configuration:draft", args=[draft.pk])
    assert (draft.condition, draft.cooldown_days, draft.created_by) == (LOW_55, 7, analyst)
    assert Trigger.all_objects.get(pk=retention.pk).cooldown_days == 14  # still version 3
    # a second restore while the draft is open is refused, and says why
    again = client.post(url, follow=True)
    assert "already has a draft" in again.content.decode()
    assert TriggerDraft.all_objects.filter(trigger=retention).count() == 1
    assert client.post(reverse("configuration:draft_publish", args=[draft.pk])).status_code == 403

    client.force_login(org_admin)
    client.post(reverse("configuration:draft_publish", args=[draft.pk]))
    retention.refresh_from_db()
    assert (retention.version, retention.cooldown_days, retention.condition) == (4, 7, LOW_55)
    after = _versions(retention)
    assert after[:2] == before  # versions 2 and 3 exactly as they were
    assert after[2][0] == 4
    assert after[2][1] == v2_fields  # version 4 holds version 2's fields
    assert after[2][2] == ["cooldown_days"]  # against version 3


def test_the_history_shows_versions_side_by_side_with_the_changes_named(
    client, org, world, org_admin
):
    retention = _publish_v2(world["triggers"]["retention"], org_admin)
    from orgs.tenancy import org_context

    with org_context(org):
        services.triggers_evaluate(org=org, day=DAY)  # version 3 fires: Charlie (43)
    assert set(Firing.all_objects.filter(trigger=retention).values_list("trigger_version")) == {
        (3,)
    }
    client.force_login(org_admin)
    url = reverse("configuration:trigger_history", args=[retention.pk])
    response = client.get(url)
    assert response.status_code == 200
    rows = {r["label"]: r for r in response.context["rows"]}
    # default: version 3 beside version 2; only the cool-down differs (7 -> 14 days)
    assert (response.context["left"].version, response.context["right"].version) == (2, 3)
    assert [label for label, r in rows.items() if r["changed"]] == ["Cool-down"]
    assert (rows["Cool-down"]["left"], rows["Cool-down"]["right"]) == ("7 days", "14 days")
    assert rows["Playbook template"]["right"] == "Retention call"
    html = response.content.decode()
    assert "1 field changed" in html and ">Changed</span>" in html  # in words, not colour
    items = {i["version"].version: i for i in response.context["items"]}
    assert {v: i["firings"] for v, i in items.items()} == {3: 1, 2: 0}
    assert items[3]["changed"] == ["Cool-down"]
    assert f'action="/configuration/triggers/{retention.pk}/versions/2/restore/"' in html
    assert "versions/3/restore/" not in html  # the current version is not restored
    # another pair: version 2 against nothing before it (1 was never recorded)
    single = client.get(url, {"right": "2", "left": "x"})
    assert single.context["left"] is None
    assert not any(r["changed"] for r in single.context["rows"])


def test_a_trigger_never_versioned_shows_its_current_state(client, world, analyst):
    """The world's triggers were created without the services: the history shows version 1
    from what fires now, and offers nothing to restore."""
    retention = world["triggers"]["retention"]
    client.force_login(analyst)
    response = client.get(reverse("configuration:trigger_history", args=[retention.pk]))
    assert response.status_code == 200
    [item] = response.context["items"]
    assert (item["version"].version, item["recorded"], item["current"]) == (1, False, True)
    assert "restore" not in response.content.decode().split('id="versions-title"')[1]


def test_an_admin_pauses_and_resumes_from_the_trigger_page(client, org, world, org_admin):
    retention = world["triggers"]["retention"]
    client.force_login(org_admin)
    page = reverse("configuration:trigger", args=[retention.pk])
    assert 'name="paused" value="1"' in client.get(page).content.decode()
    pause = reverse("configuration:trigger_pause", args=[retention.pk])
    response = client.post(pause, {"paused": "1"}, follow=True)
    html = response.content.decode()
    assert 'id="trigger-paused"' in html and "fires nothing until it is resumed" in html
    assert "Paused by" in html
    retention.refresh_from_db()
    assert (retention.is_active, retention.version) == (False, 1)
    dry = client.get(reverse("configuration:dry_run", args=[retention.pk])).content.decode()
    assert "tonight it fires nothing" in dry
    from orgs.tenancy import org_context

    with org_context(org):
        services.triggers_evaluate(org=org, day=DAY)
    assert not Firing.all_objects.filter(trigger=retention).exists()
    assert client.post(pause, {"paused": "maybe"}).status_code == 302
    client.post(pause, {"paused": "0"})
    retention.refresh_from_db()
    assert retention.is_active
    assert list(
        TriggerSwitch.all_objects.order_by("pk").values_list("is_active", "created_by")
    ) == [(False, org_admin.pk), (True, org_admin.pk)]


def test_an_analyst_cannot_pause(client, world, analyst):
    retention = world["triggers"]["retention"]
    client.force_login(analyst)
    pause = reverse("configuration:trigger_pause", args=[retention.pk])
    assert client.post(pause, {"paused": "1"}).status_code == 403
    assert Trigger.all_objects.get(pk=retention.pk).is_active
    page = client.get(reverse("configuration:trigger", args=[retention.pk])).content.decode()
    assert 'name="paused"' not in page


def test_another_organizations_trigger_and_versions_are_not_found(
    client, world, org_admin, other_org
):
    from tests.builders import template

    theirs = Trigger.all_objects.create(
        organization=other_org,
        name="Theirs",
        kind="retention",
        template=template(other_org, "Their call", "retention"),
        condition=LOW_55,
    )
    TriggerVersion.all_objects.create(
        organization=other_org, trigger=theirs, version=1, fields={"name": "Theirs"}
    )
    client.force_login(org_admin)
    assert client.get(reverse("configuration:trigger_history", args=[theirs.pk])).status_code == 404
    restore = reverse("configuration:trigger_version_restore", args=[theirs.pk, 1])
    assert client.post(restore).status_code == 404
    pause = reverse("configuration:trigger_pause", args=[theirs.pk])
    assert client.post(pause, {"paused": "1"}).status_code == 404
    assert Trigger.all_objects.get(pk=theirs.pk).is_active
    assert not TriggerDraft.all_objects.exists()
    # our trigger with another organization's version number that we do not have
    ours = world["triggers"]["retention"]
    missing = reverse("configuration:trigger_version_restore", args=[ours.pk, 9])
    assert client.post(missing).status_code == 404


def test_a_version_naming_a_deleted_template_is_refused_on_restore(client, org, world, org_admin):
    retention = _publish_v2(world["triggers"]["retention"], org_admin)
    row = TriggerVersion.all_objects.get(trigger=retention, version=2)
    TriggerVersion.all_objects.filter(pk=row.pk).update(
        fields={**row.fields, "template": 999999}
    )  # as if the template had gone
    client.force_login(org_admin)
    response = client.post(
        reverse("configuration:trigger_version_restore", args=[retention.pk, 2]), follow=True
    )
    assert "names a template that no longer exists" in response.content.decode()
    assert not TriggerDraft.all_objects.exists()


def test_a_versions_publishing_time_is_in_the_organizations_zone(client, org, world, org_admin):
    """Version 2 stamped 2026-06-01 18:30 UTC reads 15:30 in São Paulo (UTC−3), the zone
    named, on the history and nowhere as the bare UTC time."""
    import datetime as dt

    org.timezone = "America/Sao_Paulo"
    org.save(update_fields=["timezone"])
    retention = _publish_v2(world["triggers"]["retention"], org_admin)
    TriggerVersion.all_objects.filter(trigger=retention, version=2).update(
        created_at=dt.datetime(2026, 6, 1, 18, 30, tzinfo=dt.UTC)
    )
    client.force_login(org_admin)
    url = reverse("configuration:trigger_history", args=[retention.pk])
    html = client.get(url, {"left": "2", "right": "3"}).content.decode()
    assert "06/01/2026 15:30 America/Sao Paulo" in html
    assert "2026-06-01 18:30" not in html and "2026-06-01 15:30" not in html
