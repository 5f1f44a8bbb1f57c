"""The demo organization's own rows: the organization, its users and memberships, products, churn
reasons, personas and the hand-picked strategic accounts; and deleting a demo organization
with everything in it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalogue import (
    CHURN_REASONS,
    DEMO_PASSWORD,
    DEMO_USERS,
    PERSONAS,
    PRODUCTS,
    DemoSpec,
    demo_username,
)
from .words import demo_words


class DemoSeedError(ValueError):
    """The seed was refused; the message says why in one line."""


@dataclass
class SeedResult:
    organization: object
    counts: dict[str, int]
    seconds: float


def _rules_in_words(rules, w):
    """A persona's rules with the industries they name in the demo's words (the accounts'
    industries are written in them)."""
    if isinstance(rules, dict):
        if rules.get("field") == "industry" and isinstance(rules.get("value"), str):
            return {**rules, "value": w(rules["value"])}
        return {k: _rules_in_words(v, w) for k, v in rules.items()}
    if isinstance(rules, list):
        return [_rules_in_words(r, w) for r in rules]
    return rules


def _organization_create(spec: DemoSpec):
    """The organization, its users and memberships, products, churn reasons and personas.
    Returns the organization, {login: user id} and {name: ids} of the catalogue rows."""
    from django.contrib.auth.hashers import make_password

    from accounts import models as am
    from orgs.models import Membership, Organization, User

    org = Organization.objects.create(
        name=spec.org_name,
        slug=spec.slug,
        currency=spec.currency,
        timezone=spec.timezone,
        locale=spec.locale,
    )
    usernames = [demo_username(spec.slug, u.login) for u in DEMO_USERS]
    taken = list(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise DemoSeedError(
            f"user {taken[0]!r} already exists outside this organization; remove it or seed "
            "another --org"
        )
    password = make_password(DEMO_PASSWORD)  # hashed once: the slow part of creating users
    users = User.objects.bulk_create(
        [
            User(
                username=name,
                password=password,
                first_name=u.first_name,
                last_name=u.last_name,
                email=f"{name}@demo.csplatform.example",
                is_staff=u.role == "admin",
            )
            for name, u in zip(usernames, DEMO_USERS, strict=True)
        ]
    )
    Membership.objects.bulk_create(
        [
            Membership(user=user, organization=org, role=u.role)
            for user, u in zip(users, DEMO_USERS, strict=True)
        ]
    )
    w = demo_words(spec.locale)  # the catalogue's words in the organization's language
    products = am.Product.objects.bulk_create(
        [
            am.Product(organization=org, code=code, name=w(name), description=w(description))
            for code, name, description, _ in PRODUCTS
        ]
    )
    reasons = am.ChurnReason.objects.bulk_create(
        [am.ChurnReason(organization=org, name=w(name)) for name, _ in CHURN_REASONS]
    )
    personas = am.Persona.objects.bulk_create(
        [
            am.Persona(
                organization=org,
                slug=p["slug"],
                name=w(p["name"]),
                priority=p["priority"],
                description=w(p["description"]),
                rules=_rules_in_words(p["rules"], w),
            )
            for p in PERSONAS
        ]
    )
    catalogue = {
        "products": np.array([p.pk for p in products]),
        # by the catalogue's (English) name, which the frames carry
        "reasons": {name: r.pk for (name, _), r in zip(CHURN_REASONS, reasons, strict=True)},
        "strategic": next(p for p in personas if not p.rules),
    }
    user_ids = {u.login: user.pk for u, user in zip(DEMO_USERS, users, strict=True)}
    return org, user_ids, catalogue


def _strategic_pick(accounts: pd.DataFrame, account_ids: np.ndarray, persona) -> None:
    """Hand-pick the biggest live accounts into the persona without rules."""
    from accounts.models import Persona

    live = accounts.index[accounts["churn_day"] < 0]
    top = accounts.loc[live, "target_mrr"].nlargest(min(12, max(1, len(accounts) // 250)))
    link = Persona.hand_picked.through
    link.objects.bulk_create(
        [link(persona_id=persona.pk, account_id=int(account_ids[i])) for i in top.index]
    )


def demo_org_delete(*, org) -> None:
    """Delete an organization and every row that belongs to it, one DELETE per table (a
    cascade through the ORM would load every row), then the users left with no organization."""
    from django.apps import apps
    from django.db import connection

    from orgs.models import Membership, Organization, User

    member_ids = list(Membership.objects.filter(organization=org).values_list("user_id", flat=True))
    tables = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    ]
    owned = []  # (model, organization column)
    for model in tables:
        for f in model._meta.concrete_fields:
            if f.many_to_one and f.related_model is Organization:
                owned.append((model, f))
    owned_models = {m for m, _ in owned}
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        # Rows outside the tenant tables that point into them (many-to-many links).
        for model in tables:
            if model in owned_models:
                continue
            for f in model._meta.concrete_fields:
                if not (f.many_to_one and f.related_model in owned_models):
                    continue
                target = f.related_model
                org_col = next(c for m, c in owned if m is target).column
                inner = (
                    f"SELECT {qn(target._meta.pk.column)} FROM {qn(target._meta.db_table)} "
                    f"WHERE {qn(org_col)} = %s"
                )
                table, col = qn(model._meta.db_table), qn(f.column)
                if f.null:
                    cursor.execute(
                        f"UPDATE {table} SET {col} = NULL WHERE {col} IN ({inner})", [org.pk]
                    )
                else:
                    cursor.execute(f"DELETE FROM {table} WHERE {col} IN ({inner})", [org.pk])
        for model, f in owned:
            cursor.execute(
                f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(f.column)} = %s", [org.pk]
            )
    Organization.objects.filter(pk=org.pk).delete()
    User.objects.filter(pk__in=member_ids, memberships__isnull=True, is_superuser=False).delete()
