"""Persona drafts and versions: editing a published persona saves a draft (nobody moves);
an admin's publish saves the persona, refreshes membership at once (not at night) and records
one immutable version (snapshot, what changed, who, members); restoring an old version makes a
draft whose publish is a new version with the old rules; the history shows two versions side
by side. The fixture (tests/builders.trigger_world): Alfa and Bravo diamond (Enterprise,
rules "tier in diamond, platinum"), Charlie silver, Delta and Echo gold."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Account, Persona
from configuration.models import PersonaDraft, PersonaVersion
from tests.builders import trigger_world

pytestmark = pytest.mark.django_db

GOLD_TOO = {"field": "tier", "op": "in", "value": ["diamond", "platinum", "gold"]}


@pytest.fixture
def world(org, csm, manager):
    return trigger_world(org, csm, manager)


def _form(**extra) -> dict:
    """The Enterprise persona's form with rules "tier in diamond, platinum, gold"."""
    data = {
        "name": "Enterprise",
        "slug": "enterprise",
        "priority": "1",
        "description": "",
        "c.kind": "cmp",
        "c.field": "tier",
        "c.op": "in",
        "c.values": ["diamond", "platinum", "gold"],
    }
    data.update(extra)
    return data


def _members(persona) -> list[str]:
    return sorted(Account.all_objects.filter(persona=persona).values_list("name", flat=True))


def _versions(persona):
    return list(
        PersonaVersion.all_objects.filter(persona=persona)
        .order_by("version")
        .values_list("version", "fields", "changed", "members", "created_by", "created_at")
    )


def test_a_draft_moves_nobody_and_publishing_refreshes_membership_and_records_a_version(
    client, world, org_admin, analyst
):
    persona = Persona.all_objects.get(slug="enterprise")
    assert _members(persona) == ["Alfa", "Bravo"]
    client.force_login(analyst)
    url = reverse("configuration:persona", args=[persona.pk])
    response = client.post(url, _form(add_accounts="Charlie"))
    assert response.status_code == 302, response.context["form"].errors
    draft = PersonaDraft.all_objects.get(persona=persona)
    assert response.url == reverse("configuration:persona_draft", args=[draft.pk])
    assert client.get(url).url == response.url  # the persona's page opens its draft
    assert Persona.all_objects.get(pk=persona.pk).rules != GOLD_TOO
    assert _members(persona) == ["Alfa", "Bravo"]  # a draft moves nobody

    client.force_login(org_admin)
    client.post(reverse("configuration:persona_draft_publish", args=[draft.pk]))
    persona.refresh_from_db()
    assert persona.rules == GOLD_TOO
    # by hand: diamond Alfa, Bravo; gold Delta, Echo; Charlie (silver) picked by hand
    assert _members(persona) == ["Alfa", "Bravo", "Charlie", "Delta", "Echo"]
    rows = _versions(persona)
    # version 1: what it was before versions (saved by the fixture), version 2: this publish
    assert [(v, changed, members, who) for v, _f, changed, members, who, _at in rows] == [
        (1, [], 2, None),
        (2, ["hand_picked", "rules"], 5, org_admin.pk),
    ]
    charlie = Account.all_objects.get(name="Charlie")
    assert rows[1][1]["hand_picked"] == [charlie.pk]
    assert not PersonaDraft.all_objects.exists()


def test_restore_then_publish_makes_a_new_version_with_the_old_rules(client, world, org_admin):
    persona = Persona.all_objects.get(slug="enterprise")
    client.force_login(org_admin)
    client.post(reverse("configuration:persona", args=[persona.pk]), _form())
    client.post(
        reverse(
            "configuration:persona_draft_publish",
            args=[PersonaDraft.all_objects.get().pk],
        )
    )
    before = _versions(persona)
    assert [v for v, *_ in before] == [1, 2]

    restore = reverse("configuration:persona_version_restore", args=[persona.pk, 1])
    response = client.post(restore)
    draft = PersonaDraft.all_objects.get(persona=persona)
    assert response.url == reverse("configuration:persona_draft", args=[draft.pk])
    assert draft.rules == {"field": "tier", "op": "in", "value": ["diamond", "platinum"]}
    assert "already has a draft" in client.post(restore, follow=True).content.decode()
    client.post(reverse("configuration:persona_draft_publish", args=[draft.pk]))
    after = _versions(persona)
    assert after[:2] == before  # never rewritten
    assert (after[2][0], after[2][1], after[2][2], after[2][3]) == (
        3,
        before[0][1],  # version 1's fields
        ["rules"],
        2,  # Alfa and Bravo again
    )
    assert _members(persona) == ["Alfa", "Bravo"]


def test_publishing_an_unchanged_draft_records_no_version(client, world, org_admin):
    persona = Persona.all_objects.get(slug="enterprise")
    client.force_login(org_admin)
    same = _form(**{"c.values": ["diamond", "platinum"]})
    client.post(reverse("configuration:persona", args=[persona.pk]), same)
    draft = PersonaDraft.all_objects.get()
    response = client.post(
        reverse("configuration:persona_draft_publish", args=[draft.pk]), follow=True
    )
    assert "Nothing changed" in response.content.decode()
    assert [v for v, *_ in _versions(persona)] == [1]


def test_a_new_persona_is_a_draft_until_published_as_version_one(client, world, org_admin):
    client.force_login(org_admin)
    data = _form(name="Gold", slug="gold", priority="5", **{"c.op": "=", "c.value": "gold"})
    client.post(reverse("configuration:persona_new"), data)
    draft = PersonaDraft.all_objects.get(slug="gold")
    listing = client.get(reverse("configuration:personas")).content.decode()
    assert "New personas not yet published" in listing and "Gold" in listing
    client.post(reverse("configuration:persona_draft_publish", args=[draft.pk]))
    gold = Persona.all_objects.get(slug="gold")
    assert _members(gold) == ["Delta", "Echo"]
    assert [(v, m) for v, _f, _c, m, _w, _a in _versions(gold)] == [(1, 2)]


def test_a_slug_another_persona_has_is_refused_on_the_draft(client, world, org_admin):
    client.force_login(org_admin)
    data = _form(name="Again", slug="enterprise")
    response = client.post(reverse("configuration:persona_new"), data)
    assert response.status_code == 422
    assert "slug" in response.context["form"].errors
    assert not PersonaDraft.all_objects.exists()


def test_the_history_shows_two_versions_side_by_side(client, world, org_admin, analyst):
    persona = Persona.all_objects.get(slug="enterprise")
    client.force_login(org_admin)
    client.post(reverse("configuration:persona", args=[persona.pk]), _form())
    client.post(
        reverse("configuration:persona_draft_publish", args=[PersonaDraft.all_objects.get().pk])
    )
    client.force_login(analyst)
    response = client.get(reverse("configuration:persona_history", args=[persona.pk]))
    assert response.status_code == 200
    rows = {r["label"]: r for r in response.context["rows"]}
    assert [label for label, r in rows.items() if r["changed"]] == ["Rules"]
    assert rows["Rules"]["right"] == "Tier is one of diamond or platinum or gold"
    assert rows["Rules"]["left"] == "Tier is one of diamond or platinum"
    html = response.content.decode()
    assert "1 field changed" in html and ">Changed</span>" in html
    assert "4 accounts in it then" in html and "2 accounts in it then" in html
    assert f"/configuration/personas/{persona.pk}/versions/1/restore/" in html


def test_another_organizations_persona_and_drafts_are_not_found(
    client, world, org_admin, other_org
):
    theirs = Persona.all_objects.create(organization=other_org, name="Theirs", slug="theirs")
    PersonaVersion.all_objects.create(
        organization=other_org, persona=theirs, version=1, fields={"name": "Theirs"}
    )
    their_draft = PersonaDraft.all_objects.create(
        organization=other_org, persona=theirs, name="Theirs", slug="theirs"
    )
    client.force_login(org_admin)
    for url in (
        reverse("configuration:persona_history", args=[theirs.pk]),
        reverse("configuration:persona_draft", args=[their_draft.pk]),
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        reverse("configuration:persona_version_restore", args=[theirs.pk, 1]),
        reverse("configuration:persona_draft_publish", args=[their_draft.pk]),
        reverse("configuration:persona_draft_discard", args=[their_draft.pk]),
    ):
        assert client.post(url).status_code == 404, url
    assert PersonaDraft.all_objects.filter(pk=their_draft.pk).exists()
    assert PersonaVersion.all_objects.filter(persona=theirs).count() == 1
    # another organization's account picked by hand in our draft is refused on the field
    from tests import factories as f

    foreign = f.AccountFactory(organization=other_org, name="Foreign")
    persona = Persona.all_objects.get(slug="enterprise")
    response = client.post(
        reverse("configuration:persona", args=[persona.pk]), _form(hand_picked=[foreign.pk])
    )
    assert response.status_code == 422
    assert "hand_picked" in response.context["form"].errors
    assert not PersonaDraft.all_objects.filter(persona=persona).exists()
