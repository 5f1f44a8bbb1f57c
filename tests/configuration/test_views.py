"""The configuration pages: who may do what (admins everything, analysts drafts, dry runs and
backtests, nobody else anything: 403), a trigger built through the builder, saved as a
draft, published as version 1 and changed into version 2, the dry run and backtest pages,
personas with their live count and membership refreshed on save."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Account, Persona
from configuration.models import PersonaDraft, TriggerDraft
from tests.builders import posted, trigger_world
from triggers.models import Trigger

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, csm, manager):
    return trigger_world(org, csm, manager)


def _draft_data(world, **extra) -> dict:
    data = {
        "name": "Low health gold",
        "kind": "retention",
        "persona": "",
        "product": "",
        "schedule": "nightly",
        "cooldown_days": "30",
        "action": "alert",
        "template": str(world["templates"]["save"].pk),
        "c.kind": "all",
        "c-0.kind": "cmp",
        "c-0.field": "tier",
        "c-0.op": "=",
        "c-0.value": "gold",
        "c-1.kind": "any",
        "c-1-0.kind": "cmp",
        "c-1-0.field": "health_score",
        "c-1-0.op": "<",
        "c-1-0.value": "65",
        "c-1-1.kind": "cmp",
        "c-1-1.field": "overdue_invoice_max_days",
        "c-1-1.op": ">",
        "c-1-1.value": "30",
    }
    data.update(extra)
    return data


CONDITION = {
    "all": [
        {"field": "tier", "op": "=", "value": "gold"},
        {
            "any": [
                {"field": "health_score", "op": "<", "value": 65},
                {"field": "overdue_invoice_max_days", "op": ">", "value": 30},
            ]
        },
    ]
}


def _writes(world) -> list[tuple[str, dict]]:
    trigger = world["triggers"]["retention"]
    draft = TriggerDraft.all_objects.create(
        organization=trigger.organization,
        name="A draft",
        kind="retention",
        condition={"field": "tier", "op": "=", "value": "gold"},
        template=world["templates"]["save"],
    )
    persona = Persona.all_objects.get(slug="enterprise")
    from configuration.models import PersonaVersion

    persona_draft = PersonaDraft.all_objects.create(
        organization=persona.organization, persona=persona, name="Draft", slug="enterprise"
    )
    PersonaVersion.all_objects.create(
        organization=persona.organization, persona=persona, version=1, fields={"name": "E"}
    )
    from triggers.models import TriggerVersion
    from triggers.services import trigger_snapshot

    TriggerVersion.all_objects.create(
        organization=trigger.organization,
        trigger=trigger,
        version=1,
        fields=trigger_snapshot(trigger),
    )
    return [
        (reverse("configuration:trigger_version_restore", args=[trigger.pk, 1]), {}),
        (reverse("configuration:trigger_pause", args=[trigger.pk]), {"paused": "1"}),
        (reverse("configuration:trigger_new"), _draft_data(world)),
        (reverse("configuration:trigger_edit", args=[trigger.pk]), _draft_data(world)),
        (reverse("configuration:draft", args=[draft.pk]), _draft_data(world)),
        (reverse("configuration:draft_publish", args=[draft.pk]), {}),
        (reverse("configuration:draft_discard", args=[draft.pk]), {}),
        (reverse("configuration:persona_new"), {"name": "X", "slug": "x", "priority": "5"}),
        (reverse("configuration:persona", args=[persona.pk]), {"name": "Y", "slug": "y"}),
        (reverse("configuration:caps"), {"form": "org", "org-per_csm": "3"}),
        (reverse("configuration:persona_draft", args=[persona_draft.pk]), {"name": "Z"}),
        (reverse("configuration:persona_draft_publish", args=[persona_draft.pk]), {}),
        (reverse("configuration:persona_draft_discard", args=[persona_draft.pk]), {}),
        (reverse("configuration:persona_version_restore", args=[persona.pk, 1]), {}),
    ]


def _reads(world) -> list[str]:
    trigger = world["triggers"]["retention"]
    return [
        reverse("configuration:home"),
        reverse("configuration:triggers"),
        reverse("configuration:trigger", args=[trigger.pk]),
        reverse("configuration:trigger_history", args=[trigger.pk]),
        reverse("configuration:dry_run", args=[trigger.pk]),
        reverse("configuration:backtest", args=[trigger.pk]),
        reverse("configuration:personas"),
        reverse("configuration:caps"),
        reverse(
            "configuration:persona_history", args=[Persona.all_objects.get(slug="enterprise").pk]
        ),
    ]


@pytest.mark.parametrize("role", ["csm", "manager"])
def test_csms_and_managers_are_refused_every_configuration_page_and_write(
    client, world, role, request
):
    client.force_login(request.getfixturevalue(role))
    writes = _writes(world)
    before = (
        list(Trigger.all_objects.values_list("pk", "version", "name", "is_active")),
        TriggerDraft.all_objects.count(),
        list(Persona.all_objects.values_list("pk", "name")),
        list(PersonaDraft.all_objects.values_list("pk", "name")),
    )
    for url, data in writes:
        assert client.post(url, data).status_code == 403, url
    for url in _reads(world):
        assert client.get(url).status_code == 403, url
    after = (
        list(Trigger.all_objects.values_list("pk", "version", "name", "is_active")),
        TriggerDraft.all_objects.count(),
        list(Persona.all_objects.values_list("pk", "name")),
        list(PersonaDraft.all_objects.values_list("pk", "name")),
    )
    assert after == before
    assert "/configuration/" not in client.get(reverse("accounts:portfolio")).content.decode()


def test_an_analyst_drafts_and_dry_runs_but_does_not_publish_or_save_personas(
    client, world, analyst
):
    client.force_login(analyst)
    html = client.get(reverse("configuration:home")).content.decode()
    assert 'href="/configuration/" aria-current="page"' in html
    response = client.post(reverse("configuration:trigger_new"), _draft_data(world))
    assert response.status_code == 302, response.content.decode()[:2000]
    draft = TriggerDraft.all_objects.get(name="Low health gold")
    assert draft.condition == CONDITION
    assert draft.created_by == analyst
    assert client.get(reverse("configuration:draft_dry_run", args=[draft.pk])).status_code == 200
    assert client.get(reverse("configuration:draft_backtest", args=[draft.pk])).status_code == 200
    page = client.get(reverse("configuration:draft", args=[draft.pk])).content.decode()
    assert "Only an admin publishes" in page
    assert client.post(reverse("configuration:draft_publish", args=[draft.pk])).status_code == 403
    assert not Trigger.all_objects.filter(name="Low health gold").exists()
    # a persona: the analyst saves a draft, which changes nothing published; publishing is 403
    persona = Persona.all_objects.get(slug="enterprise")
    drafted = client.post(
        reverse("configuration:persona", args=[persona.pk]),
        {"name": "Renamed", "slug": "enterprise", "priority": "1"},
    )
    assert drafted.status_code == 302
    persona_draft = PersonaDraft.all_objects.get(persona=persona)
    assert (persona_draft.name, persona_draft.created_by) == ("Renamed", analyst)
    assert "Only an admin publishes a persona" in client.get(drafted.url).content.decode()
    publish = reverse("configuration:persona_draft_publish", args=[persona_draft.pk])
    assert client.post(publish).status_code == 403
    assert Persona.all_objects.get(pk=persona.pk).name == "Enterprise"


def test_an_admin_builds_publishes_and_changes_a_trigger_as_versions(client, world, org_admin):
    client.force_login(org_admin)
    response = client.post(reverse("configuration:trigger_new"), _draft_data(world))
    assert response.status_code == 302
    draft = TriggerDraft.all_objects.get(name="Low health gold")
    assert not Trigger.all_objects.filter(name="Low health gold").exists()  # a draft fires nothing
    published = client.post(reverse("configuration:draft_publish", args=[draft.pk]))
    trigger = Trigger.all_objects.get(name="Low health gold")
    assert published.url == reverse("configuration:trigger", args=[trigger.pk])
    assert (trigger.version, trigger.condition, trigger.is_active) == (1, CONDITION, True)
    assert not TriggerDraft.all_objects.exists()

    # Changing it: the edit form starts from the published values, the save is a draft
    edit = reverse("configuration:trigger_edit", args=[trigger.pk])
    page = client.get(edit).content.decode()
    data = posted(page)
    assert data["name"] == "Low health gold" and data["c-1-0.value"] == "65"
    data["c-1-0.value"] = "55"
    assert client.post(edit, data).status_code == 302
    draft = TriggerDraft.all_objects.get(trigger=trigger)
    assert Trigger.all_objects.get(pk=trigger.pk).condition == CONDITION  # still the published
    assert client.get(edit).url == reverse("configuration:draft", args=[draft.pk])
    client.post(reverse("configuration:draft_publish", args=[draft.pk]))
    trigger.refresh_from_db()
    assert trigger.version == 2
    assert trigger.condition["all"][1]["any"][0]["value"] == 55


def test_a_bad_row_is_refused_with_its_error_on_the_row_and_nothing_saved(client, world, org_admin):
    client.force_login(org_admin)
    data = _draft_data(world, **{"c-1-0.value": "lots"})
    response = client.post(reverse("configuration:trigger_new"), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="c-1-0-error"' in html and "is a number" in html
    assert 'aria-invalid="true" aria-describedby="c-1-0-error"' in html
    assert not TriggerDraft.all_objects.exists()
    # a template of another kind is refused on its field
    wrong = _draft_data(world, template=str(world["templates"]["offer"].pk))
    response = client.post(reverse("configuration:trigger_new"), wrong)
    assert response.status_code == 422
    assert "template" in response.context["form"].errors


def test_the_builder_buttons_work_without_javascript_and_as_htmx_fragments(
    client, world, org_admin
):
    client.force_login(org_admin)
    url = reverse("configuration:trigger_new")
    data = _draft_data(world, builder_action="add-cmp:c-1")
    page = client.post(url, data)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<html" in html and 'name="c-1-2.field"' in html
    assert not TriggerDraft.all_objects.exists()  # a button saves nothing
    fragment = client.post(url, data, HTTP_HX_REQUEST="true")
    text = fragment.content.decode()
    assert "<html" not in text and text.lstrip().startswith("<fieldset")
    assert 'name="c-1-2.field" autofocus' in text.replace('id="c-1-2-field" ', "")
    refresh = client.post(url, _draft_data(world, builder_refresh="1"), HTTP_HX_REQUEST="true")
    assert "Tier is gold and (Health score is less than 65" in refresh.content.decode()


def test_the_dry_run_page_shows_the_counts_the_accounts_and_the_csv(client, world, org_admin, csm):
    client.force_login(org_admin)
    trigger = world["triggers"]["retention"]
    response = client.get(reverse("configuration:dry_run", args=[trigger.pk]))
    assert response.status_code == 200
    run = response.context["run"]
    # Charlie (43), Delta (volume -38%) and Echo (invoice 41 days overdue) of the five
    assert (run.in_scope, run.matched, run.held_back, run.would_fire) == (5, 3, 0, 3)
    assert [r["name"] for r in response.context["rows"]] == ["Charlie", "Delta", "Echo"]
    assert response.context["rows"][2]["evidence"] == "The oldest unpaid invoice is 41 days overdue"
    # under the default weekly cap (15 per CSM), nothing delivered this week: all 3 go
    assert run.per_owner == [
        {
            "owner_id": csm.pk,
            "owner": csm.get_full_name() or csm.username,
            "count": 3,
            "this_week": 0,
            "receives": 3,
            "held": 0,
            "week_total": 3,
        }
    ]
    csv = client.get(reverse("configuration:dry_run", args=[trigger.pk]), {"format": "csv"})
    lines = csv.content.decode().strip().splitlines()
    assert len(lines) == 4 and lines[1].split(",")[1] == "Charlie"


def test_a_persona_shows_its_live_count_and_membership_is_refreshed_on_save(
    client, world, org_admin, org
):
    client.force_login(org_admin)
    url = reverse("configuration:persona_new")
    data = {
        "name": "Gold",
        "slug": "gold",
        "priority": "5",
        "description": "",
        "c.kind": "cmp",
        "c.field": "tier",
        "c.op": "=",
        "c.value": "gold",
        "builder_refresh": "1",
    }
    live = client.post(url, data, HTTP_HX_REQUEST="true")
    text = live.content.decode()
    assert (
        'id="persona-live" aria-labelledby="persona-live-title" aria-live="polite" '
        'hx-swap-oob="true"' in text
    )
    assert live.context["live_count"] == 2  # Delta and Echo are gold
    assert [a.name for a in live.context["sample"]] == ["Delta", "Echo"]
    del data["builder_refresh"]
    data["add_accounts"] = "Charlie"
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    draft = PersonaDraft.all_objects.get(slug="gold")
    assert saved.url == reverse("configuration:persona_draft", args=[draft.pk])
    assert not Persona.all_objects.filter(slug="gold").exists()  # a draft: nobody moved yet
    published = client.post(reverse("configuration:persona_draft_publish", args=[draft.pk]))
    persona = Persona.all_objects.get(slug="gold")
    assert published.url == reverse("configuration:persona", args=[persona.pk])
    assert persona.rules == {"field": "tier", "op": "=", "value": "gold"}
    picked = Account.all_objects.filter(hand_picked_personas=persona).values_list("name", flat=True)
    assert list(picked) == ["Charlie"]
    members = Account.all_objects.filter(persona=persona).order_by("name")
    assert [a.name for a in members] == ["Charlie", "Delta", "Echo"]  # now, not at night


def test_another_organizations_persona_product_or_template_is_refused(
    client, world, org_admin, other_org
):
    from tests import tenant_graph

    foreign = tenant_graph.build(other_org, "globex")
    from accounts.models import Persona as P
    from accounts.models import Product
    from playbooks.models import PlaybookTemplate

    client.force_login(org_admin)
    for name, model in (("persona", P), ("product", Product), ("template", PlaybookTemplate)):
        data = _draft_data(world, **{name: str(foreign[model].pk)})
        response = client.post(reverse("configuration:trigger_new"), data)
        assert response.status_code == 422, name
        assert name in response.context["form"].errors, name
    assert not TriggerDraft.all_objects.exists()
