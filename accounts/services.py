"""Writes to the portfolio. Each is set-based where it touches many accounts."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from orgs.models import Organization, Role, User
from orgs.tenancy import org_context

from .models import Account, Persona, Subscription, SubscriptionStatus
from .personas import persona_rules_q

logger = logging.getLogger(__name__)


class PortfolioError(ValueError):
    """A write refused because of what it was asked; the message names the field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


def account_rollups_refresh(*, org: Organization) -> int:
    """Recompute each account's MRR and next renewal date from its active subscriptions, in
    one UPDATE for the whole organization. Returns the number of accounts updated."""
    with org_context(org):
        active = Subscription.objects.filter(
            account=OuterRef("pk"), status=SubscriptionStatus.ACTIVE
        )
        mrr = active.values("account").annotate(total=Sum("mrr")).values("total")
        renewal = active.values("account").annotate(next=Min("renewal_date")).values("next")
        updated = Account.objects.update(
            mrr=Coalesce(Subquery(mrr), 0, output_field=Account._meta.get_field("mrr")),
            renewal_date=Subquery(renewal),
        )
    logger.info("account rollups refreshed org=%s accounts=%s", org.slug, updated)
    return updated


def persona_assign_all(*, org: Organization) -> dict[str, int]:
    """Store each account's persona: the first, by priority, whose rules match it or that
    picked it by hand. One UPDATE per persona, never one per account."""
    counts: dict[str, int] = {}
    with org_context(org), transaction.atomic():
        Account.objects.exclude(persona=None).update(persona=None)
        for persona in Persona.objects.order_by("priority", "pk"):
            q = Q(
                pk__in=persona.hand_picked.through.objects.filter(persona_id=persona.pk).values(
                    "account_id"
                )
            )
            rules_q = persona_rules_q(persona.rules)
            if rules_q is not None:
                q |= rules_q
            counts[persona.slug] = (
                Account.objects.filter(persona=None).filter(q).update(persona=persona)
            )
    logger.info("personas assigned org=%s counts=%s", org.slug, counts)
    return counts


def account_reassign(*, account: Account, owner: User, acting_user: User) -> Account:
    """Give an account to another CSM of its organization (managers and admins only)."""
    from orgs.models import Membership

    acting = Membership.objects.filter(
        user=acting_user, organization_id=account.organization_id
    ).first()
    if acting_user.is_superuser is False and (
        acting is None or acting.role not in (Role.ADMIN, Role.MANAGER)
    ):
        raise PortfolioError("owner", "only managers and admins reassign accounts")
    if not Membership.objects.filter(user=owner, organization_id=account.organization_id).exists():
        raise PortfolioError("owner", f"{owner} is not a member of this organization")
    with transaction.atomic():
        previous = account.owner_id
        account.owner = owner
        account.save(update_fields=["owner", "updated_at"])
    logger.info(
        "account reassigned account=%s from=%s to=%s by=%s",
        account.pk,
        previous,
        owner.pk,
        acting_user.pk,
    )
    return account
