"""An admin defines triggers in the Django admin; the JSON condition is validated on save with
a message that says where it is wrong, and nothing is saved until it is right."""

import json

import pytest

from tests.builders import template
from triggers.models import Trigger

pytestmark = pytest.mark.django_db


def form(template_pk, condition, **extra):
    data = {
        "name": "Low score",
        "kind": "retention",
        "persona": "",
        "product": "",
        "condition": json.dumps(condition),
        "schedule": "nightly",
        "cooldown_days": "30",
        "action": "alert",
        "template": str(template_pk),
        "is_active": "on",
    }
    data.update(extra)
    return data


@pytest.mark.parametrize(
    "condition, words",
    [
        (
            {"field": "health_scor", "op": "<", "value": 51},
            "condition.field: unknown field 'health_scor'",
        ),
        (
            {"field": "health_score", "op": "contains", "value": 51},
            "operator 'contains' does not apply",
        ),
        ({"field": "health_score", "op": "<", "value": "51"}, "is a number"),
        (
            {"any": [{"field": "health_score", "op": "<", "value": 51}, {"field": "tier"}]},
            "condition.any[1].op",
        ),
        (
            {"field": "industry", "op": "=", "value": "__import__('os').system('id')", "x": 1},
            "unknown key(s): x",
        ),
    ],
)
def test_bad_conditions_are_refused_with_the_place(client, org, org_admin, condition, words):
    t = template(org, "Save", "retention")
    client.force_login(org_admin)
    response = client.post("/admin/triggers/trigger/add/", form(t.pk, condition))
    assert response.status_code == 200
    assert words.replace("'", "&#x27;") in response.content.decode()
    assert not Trigger.all_objects.exists()


def test_template_of_another_kind_is_refused(client, org, org_admin):
    t = template(org, "Offer", "expansion")
    client.force_login(org_admin)
    response = client.post(
        "/admin/triggers/trigger/add/",
        form(t.pk, {"field": "health_score", "op": "<", "value": 51}),
    )
    assert (
        "the template makes expansion playbooks; this trigger is retention"
        in response.content.decode()
    )


def test_a_good_trigger_is_saved_in_the_admins_organization(client, org, org_admin):
    t = template(org, "Save", "retention")
    client.force_login(org_admin)
    condition = {
        "any": [
            {"field": "health_score", "op": "<", "value": 51},
            {"field": "overdue_invoice_max_days", "op": ">", "value": 30},
        ]
    }
    response = client.post("/admin/triggers/trigger/add/", form(t.pk, condition))
    assert response.status_code == 302
    trigger = Trigger.all_objects.get()
    assert trigger.organization_id == org.pk and trigger.condition == condition


def change_form(trigger, **changes):
    data = form(
        trigger.template_id,
        trigger.condition,
        name=trigger.name,
        kind=trigger.kind,
        persona=str(trigger.persona_id or ""),
        product=str(trigger.product_id or ""),
        schedule=trigger.schedule,
        cooldown_days=str(trigger.cooldown_days),
        action=trigger.action,
    )
    data.update(changes)
    return data


def test_a_change_through_the_admin_is_a_new_version_that_firings_record(
    client, org, csm, manager, org_admin
):
    from orgs.tenancy import org_context
    from tests.builders import DAY, trigger_world
    from triggers import services
    from triggers.models import Firing

    with org_context(org):
        retention = trigger_world(org, csm, manager)["triggers"]["retention"]
    url = f"/admin/triggers/trigger/{retention.pk}/change/"
    client.force_login(org_admin)

    # saved as it is: no change, the same version
    assert client.post(url, change_form(retention)).status_code == 302
    retention.refresh_from_db()
    assert retention.version == 1

    # a stricter score threshold: version 2, and tonight's firings say so
    condition = {**retention.condition}
    condition["any"] = [{"field": "health_score", "op": "<", "value": 45}, *condition["any"][1:]]
    response = client.post(url, change_form(retention, condition=json.dumps(condition)))
    assert response.status_code == 302
    retention.refresh_from_db()
    assert (retention.version, retention.condition) == (2, condition)
    services.triggers_evaluate(org=org, day=DAY)
    with org_context(org):
        versions = set(Firing.objects.filter(trigger=retention).values_list("trigger_version"))
    assert versions == {(2,)}

    # saved again unchanged: still version 2
    assert client.post(url, change_form(retention)).status_code == 302
    retention.refresh_from_db()
    assert retention.version == 2
