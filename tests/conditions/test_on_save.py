"""The limits hold where trees are saved: the Trigger and Persona admin forms refuse a tree
beyond them with the message on the field (never a 500) and save nothing; and a tree that got
into the database some other way never reaches the nightly evaluation."""

import json
import logging

import pytest

from accounts.models import Persona
from tests.builders import DAY, template, trigger_world
from triggers import services
from triggers.models import Firing, Trigger

pytestmark = pytest.mark.django_db

TRIGGER_ADD = "/admin/triggers/trigger/add/"
PERSONA_ADD = "/admin/accounts/persona/add/"


def cmp(field, op, value):
    return {"field": field, "op": op, "value": value}


def deep_json(levels, leaf):
    return '{"not":' * levels + json.dumps(leaf) + "}" * levels


# (the JSON text an admin types, words of the message on the field) for a trigger
TRIGGER_CASES = [
    (deep_json(1000, cmp("health_score", "<", 51)), "nested deeper than 12 levels"),
    (deep_json(100_000, cmp("health_score", "<", 51)), "characters long"),
    (
        '{"field": "health_score", "op": "<", "value": ' + "1" * 401 + "}",
        "condition.value: numbers must",
    ),
    ('{"field": "health_score", "op": "<", "value": ' + "1" * 5000 + "}", "5000 digits"),
    ('{"field": "health_score", "op": "<", "value": 1' + "0" * 20 + "}", "numbers must be"),
    ('{"field": "health_score", "op": "<", "value": 1e309}', "numbers must be finite"),
    ('{"field": "health_score", "op": "<", "value": NaN}', "numbers must be finite"),
    ('{"field": "health_score", "op": "<", "value": -Infinity}', "numbers must be finite"),
    (json.dumps({"any": [cmp("health_score", "<", i) for i in range(1_000)]}), "at most 200"),
    (json.dumps({"any": [cmp("health_score", "<", i) for i in range(20_000)]}), "characters"),
    (
        json.dumps({"all": [cmp("health_score", ">", 1), cmp("renewal_date", "<", "9999-12-31")]}),
        "condition.all[1].value: dates must be between 1900-01-01 and 2200-12-31",
    ),
    (json.dumps(cmp("industry", "in", ["x"] * 501)), "at most 500 values"),
    (json.dumps(cmp("industry", "=", "x" * 5000)), "at most 200 characters; got 5000"),
]


def trigger_data(template_pk, text):
    return {
        "name": "Poison",
        "kind": "retention",
        "persona": "",
        "product": "",
        "condition": text,
        "schedule": "nightly",
        "cooldown_days": "30",
        "action": "alert",
        "template": str(template_pk),
        "is_active": "on",
    }


@pytest.mark.parametrize("text, words", TRIGGER_CASES, ids=range(len(TRIGGER_CASES)))
def test_the_trigger_form_refuses_trees_beyond_the_limits(client, org, org_admin, text, words):
    t = template(org, "Save", "retention")
    client.force_login(org_admin)
    response = client.post(TRIGGER_ADD, trigger_data(t.pk, text))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert any(words in message for message in errors["condition"]), errors
    assert not Trigger.all_objects.exists()


def test_editing_a_trigger_with_a_poison_tree_keeps_the_saved_one(client, org, org_admin):
    t = template(org, "Save", "retention")
    good = cmp("health_score", "<", 51)
    trigger = Trigger.all_objects.create(
        organization=org, name="Poison", kind="retention", template=t, condition=good
    )
    client.force_login(org_admin)
    response = client.post(
        f"/admin/triggers/trigger/{trigger.pk}/change/",
        trigger_data(t.pk, json.dumps(cmp("health_score", "<", 10**400))),
    )
    assert response.status_code == 200
    assert "numbers must be between" in str(response.context["adminform"].form.errors)
    trigger.refresh_from_db()
    assert (trigger.condition, trigger.version) == (good, 1)


def persona_data(text):
    return {"name": "Huge", "slug": "huge", "description": "", "priority": "5", "rules": text}


PERSONA_CASES = [
    (json.dumps({"any": [cmp("mrr", ">", i) for i in range(30_000)]}), "characters long"),
    (json.dumps({"any": [cmp("mrr", ">", i) for i in range(2_000)]}), "at most 200 conditions"),
    (
        json.dumps({"any": [{"all": [cmp("mrr", ">", i), cmp("mrr", "<", 9)]} for i in range(80)]}),
        "condition.any[66]",
    ),
    (deep_json(1000, cmp("mrr", ">", 1)), "nested deeper than 12 levels"),
    (json.dumps(cmp("mrr", ">", 10**400)), "condition.value: numbers must be between"),
    (json.dumps({"all": [cmp("mrr", ">", 10**13)]}), "condition.all[0].value: numbers must"),
    (json.dumps(cmp("customer_since", ">", "0001-01-01")), "dates must be between"),
]


@pytest.mark.parametrize("text, words", PERSONA_CASES, ids=range(len(PERSONA_CASES)))
def test_the_persona_form_refuses_rules_beyond_the_limits(client, org, org_admin, text, words):
    client.force_login(org_admin)
    response = client.post(PERSONA_ADD, persona_data(text))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert any(words in message for message in errors["rules"]), errors
    assert not Persona.all_objects.exists()


def test_rules_within_the_limits_are_saved(client, org, org_admin):
    client.force_login(org_admin)
    rules = {"any": [cmp("mrr", ">", 10**12), cmp("industry", "in", ["Retail"] * 500)]}
    response = client.post(PERSONA_ADD, persona_data(json.dumps(rules)))
    assert response.status_code == 302
    assert Persona.all_objects.get().rules == rules


def test_the_nightly_stage_skips_a_poison_tree_and_runs_the_others(
    org, csm, manager, in_org, caplog
):
    world = trigger_world(org, csm, manager)
    # Written past validation (an old row, a script): 10**400 made pandas raise OverflowError.
    poison = Trigger.all_objects.create(
        organization=org,
        name="Poison",
        kind="retention",
        template=world["templates"]["save"],
        action="alert",
        condition={"any": [cmp("health_score", "<", 10**400)]},
    )
    with caplog.at_level(logging.ERROR, logger="triggers.services"):
        stats = services.triggers_evaluate(org=org, day=DAY)
    assert not Firing.objects.filter(trigger=poison).exists()
    assert stats.fired == 4  # the fixture's two triggers still fire for their four accounts
    assert f"trigger skipped org=acme trigger={poison.pk} name='Poison'" in caplog.text
    assert [p["trigger"] for p in stats.problems] == [poison.pk]
    assert "numbers must be between" in caplog.text
