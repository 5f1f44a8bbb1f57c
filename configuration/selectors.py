"""Reads of the configuration area: triggers with their drafts, drafts, personas with their
member counts, a persona's live count and sample, and the choices the builder names by
name. Every read is the organization's in context (the tenant managers)."""

from __future__ import annotations

import pandas as pd
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts.models import Account, Persona, Product
from accounts.personas import persona_rules_q
from csplatform.db.frames import values_frame
from playbooks.models import PlaybookTemplate
from triggers.models import Firing, Trigger, TriggerSwitch, TriggerVersion
from triggers.services import trigger_snapshot

from .models import PersonaDraft, PersonaVersion, TriggerDraft, persona_snapshot

SAMPLE_SIZE = 10


def triggers_with_drafts() -> QuerySet[Trigger]:
    return Trigger.objects.select_related("persona", "product", "template", "draft").order_by(
        "kind", "name"
    )


def trigger_get(*, pk: int) -> Trigger:
    return Trigger.objects.select_related("persona", "product", "template").get(pk=pk)


def drafts_new() -> QuerySet[TriggerDraft]:
    """Drafts of triggers not yet published."""
    return TriggerDraft.objects.filter(trigger__isnull=True).select_related(
        "persona", "product", "template", "updated_by"
    )


def draft_get(*, pk: int) -> TriggerDraft:
    return TriggerDraft.objects.select_related("trigger", "persona", "product", "template").get(
        pk=pk
    )


def draft_of(*, trigger: Trigger) -> TriggerDraft | None:
    return TriggerDraft.objects.filter(trigger=trigger).first()


def personas_with_counts() -> QuerySet[Persona]:
    return (
        Persona.objects.select_related("draft")
        .annotate(
            members=Count("accounts", distinct=True),
            picked=Count("hand_picked", distinct=True),
        )
        .order_by("priority", "name")
    )


def persona_get(*, pk: int) -> Persona:
    return Persona.objects.get(pk=pk)


def persona_live(*, rules, hand_picked_ids: list[int]) -> tuple[int, list[Account]]:
    """How many accounts the rules or the hand-picking hold right now, and a sample of them
    by name: one count and one short list (before priorities between personas)."""
    q = Q(pk__in=hand_picked_ids) if hand_picked_ids else Q(pk__in=[])
    rules_q = persona_rules_q(rules)
    if rules_q is not None:
        q |= rules_q
    matching = Account.objects.filter(q)
    sample = list(matching.order_by("name", "pk").only("pk", "name", "tier", "mrr")[:SAMPLE_SIZE])
    return matching.count(), sample


def builder_choices() -> dict[str, list[tuple[str, str]]]:
    """Values the builder offers by name: the organization's products and personas."""
    return {
        "products": list(Product.objects.order_by("name").values_list("code", "name")),
        "persona": list(Persona.objects.order_by("name").values_list("slug", "name")),
    }


def trigger_versions(*, trigger: Trigger) -> list[TriggerVersion]:
    """The trigger's versions, newest first. A trigger saved without the versioning services
    (none should be) gets its current state as an unsaved row of its current version, so the
    history always shows what fires now."""
    rows = list(
        TriggerVersion.objects.filter(trigger=trigger)
        .select_related("created_by")
        .order_by("-version")
    )
    if not rows or rows[0].version != trigger.version:
        rows.insert(
            0,
            TriggerVersion(
                organization_id=trigger.organization_id,
                trigger=trigger,
                version=trigger.version,
                fields=trigger_snapshot(trigger),
                created_at=trigger.updated_at,
            ),
        )
    return rows


def trigger_version_get(*, trigger: Trigger, version: int) -> TriggerVersion:
    return TriggerVersion.objects.get(trigger=trigger, version=version)


def trigger_firings_per_version(*, trigger: Trigger) -> dict[int, int]:
    """How many firings each version of the trigger recorded (one grouped count)."""
    return dict(
        Firing.objects.filter(trigger=trigger)
        .values("trigger_version")
        .annotate(n=Count("pk"))
        .values_list("trigger_version", "n")
    )


def trigger_switches(*, trigger: Trigger, limit: int = 20) -> list[TriggerSwitch]:
    """When the trigger was paused and resumed, and by whom, newest first."""
    return list(
        TriggerSwitch.objects.filter(trigger=trigger)
        .select_related("created_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def version_relation_names(versions: list[TriggerVersion]) -> dict[str, dict[int, str]]:
    """The names of the personas, products and templates the versions name (one read each;
    a row since deleted reads as missing)."""
    ids: dict[str, set[int]] = {"persona": set(), "product": set(), "template": set()}
    for v in versions:
        for name in ids:
            if v.fields.get(name) is not None:
                ids[name].add(v.fields[name])
    return {
        "persona": dict(Persona.objects.filter(pk__in=ids["persona"]).values_list("pk", "name")),
        "product": dict(Product.objects.filter(pk__in=ids["product"]).values_list("pk", "name")),
        "template": dict(
            PlaybookTemplate.objects.filter(pk__in=ids["template"]).values_list("pk", "name")
        ),
    }


DRY_RUN_SHOWN = ("name", "owner_id", "mrr")


def accounts_shown(*, ids) -> pd.DataFrame:
    """The name, owner_id and MRR (a float) of the accounts with these ids, indexed by id in
    the order of `ids` (a dry run's accounts that would fire). On PostgreSQL the ids go as one
    array (`id = ANY(%s)`): a list of thousands of `IN` parameters costs more to send and plan
    than the read itself."""
    ids = [int(i) for i in ids]
    columns = ["account_id", *DRY_RUN_SHOWN]
    accounts = Account.objects.order_by()
    if connection.vendor == "postgresql":
        column = f'"{Account._meta.db_table}"."{Account._meta.pk.column}"'
        accounts = accounts.filter(
            ExpressionWrapper(RawSQL(f"{column} = ANY(%s)", (ids,)), output_field=BooleanField())
        )
    else:
        accounts = accounts.filter(pk__in=ids)
    rows = values_frame(accounts.values_list("pk", *DRY_RUN_SHOWN), columns)
    shown = rows.set_index("account_id").reindex(pd.Index(ids, name="account_id"))
    shown["mrr"] = shown["mrr"].astype("float64")
    return shown


def accounts_by_ids(*, ids: list[int], limit: int = 200) -> list[Account]:
    return list(Account.objects.filter(pk__in=ids).order_by("name")[:limit])


def persona_drafts_new() -> QuerySet[PersonaDraft]:
    """Drafts of personas not yet published."""
    return PersonaDraft.objects.filter(persona__isnull=True).select_related("updated_by")


def persona_draft_get(*, pk: int) -> PersonaDraft:
    return PersonaDraft.objects.select_related("persona").get(pk=pk)


def persona_draft_of(*, persona: Persona) -> PersonaDraft | None:
    return PersonaDraft.objects.filter(persona=persona).first()


def persona_versions(*, persona: Persona) -> list[PersonaVersion]:
    """The persona's versions, newest first (each existing persona has its version 1 from the
    migration; every publish adds one). A persona saved without them (the demo's seed) shows
    its current state as an unsaved version 1."""
    rows = list(
        PersonaVersion.objects.filter(persona=persona)
        .select_related("created_by")
        .order_by("-version")
    )
    if not rows:
        rows.append(
            PersonaVersion(
                organization_id=persona.organization_id,
                persona=persona,
                version=1,
                fields=persona_snapshot(persona=persona),
                members=Account.objects.filter(persona=persona).count(),
            )
        )
    return rows


def persona_version_get(*, persona: Persona, version: int) -> PersonaVersion:
    return PersonaVersion.objects.get(persona=persona, version=version)


def account_names(*, ids) -> dict[int, str]:
    return dict(Account.objects.filter(pk__in=list(ids)).values_list("pk", "name"))
