"""Writes to the portfolio. Each is set-based where it touches many accounts."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import DataError, transaction
from django.db.models import Case, DateField, Min, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Now
from django.utils import timezone, translation
from django.utils.translation import gettext

from csplatform.db.bulk import update_from_values
from orgs.formatting import format_date
from orgs.languages import supported_language
from orgs.models import WORKER_ROLES, Organization, Role, User
from orgs.tenancy import org_context

from .models import (
    Account,
    ChurnReason,
    Contact,
    Interaction,
    Persona,
    Product,
    Subscription,
    SubscriptionStatus,
    UsageMetric,
)
from .personas import persona_rules_compile
from .selectors import churned_q
from .signals import account_owner_changed, accounts_churned

logger = logging.getLogger(__name__)


class PortfolioError(ValueError):
    """A write refused because of what it was asked; the message names the field."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def account_rollups_refresh(
    *, org: Organization | int, account_ids: list[int] | None = None
) -> int:
    """Recompute each account's MRR and next renewal date from its active subscriptions, in
    one UPDATE for the whole organization (or only `account_ids`); a churned account has
    none (its subscriptions and ledger keep its history). Returns the count."""
    with org_context(org):
        active = Subscription.objects.filter(
            account=OuterRef("pk"), status=SubscriptionStatus.ACTIVE
        )
        mrr = active.values("account").annotate(total=Sum("mrr")).values("total")
        renewal = active.values("account").annotate(next=Min("renewal_date")).values("next")
        accounts, touched = Account.objects.all(), {}
        if account_ids is not None:
            # a write to these accounts' subscriptions: they were changed now
            accounts, touched = accounts.filter(pk__in=account_ids), {"updated_at": Now()}
        money = Account._meta.get_field("mrr")
        updated = accounts.update(
            **touched,
            mrr=Case(
                When(churned_q(), then=Value(0)),
                default=Coalesce(Subquery(mrr), 0, output_field=money),
                output_field=money,
            ),
            renewal_date=Case(
                When(churned_q(), then=Value(None)),
                default=Subquery(renewal),
                output_field=DateField(),
            ),
        )
    logger.info("account rollups refreshed org=%s accounts=%s", getattr(org, "pk", org), updated)
    return updated


@dataclass
class PersonaAssignment:
    counts: dict[str, int] = field(default_factory=dict)  # accounts per persona slug
    # Personas skipped because their rules fail: {"persona": id, "name": ..., "error": ...}.
    problems: list[dict] = field(default_factory=list)


def persona_assign_all(*, org: Organization) -> PersonaAssignment:
    """Store each account's persona: the first, by priority, whose rules match it or that
    picked it by hand. One UPDATE per persona, never one per account.

    A persona whose rules fail (stored before a catalogue change, or written around the
    validation) is skipped and reported: it keeps the accounts it had, and the others are
    refreshed. One whose UPDATE the database refuses is reported too; its accounts go to the
    next persona that holds them."""
    out = PersonaAssignment()
    with org_context(org), transaction.atomic():
        personas = list(Persona.objects.order_by("priority", "pk"))
        rules, out.problems = persona_rules_compile(personas)
        kept = [p["persona"] for p in out.problems]
        Account.objects.exclude(persona=None).exclude(persona_id__in=kept).update(persona=None)
        for persona in personas:
            if persona.pk not in rules:
                continue
            q = Q(
                pk__in=persona.hand_picked.through.objects.filter(persona_id=persona.pk).values(
                    "account_id"
                )
            )
            if rules[persona.pk] is not None:
                q |= rules[persona.pk]
            try:
                with transaction.atomic():
                    out.counts[persona.slug] = (
                        Account.objects.filter(persona=None).filter(q).update(persona=persona)
                    )
            except DataError as exc:  # a value the database refuses: this persona only
                out.problems.append(
                    {"persona": persona.pk, "name": persona.name, "error": str(exc).strip()}
                )
    for problem in out.problems:
        logger.error(
            "persona skipped org=%s persona=%s name=%r: %s",
            org.slug,
            problem["persona"],
            problem["name"],
            problem["error"],
        )
    logger.info("personas assigned org=%s counts=%s", org.slug, out.counts)
    return out


def persona_save(
    *, persona: Persona, hand_picked: list[Account], acting_user: User | None = None
) -> PersonaAssignment:
    """Save a persona (new or changed: its rules validated as the model says) with its
    hand-picked accounts, and refresh every account's persona at once (persona_assign_all),
    so the new membership shows now rather than after the night."""
    with org_context(persona.organization_id), transaction.atomic():
        persona.full_clean()
        persona.save()
        persona.hand_picked.set(hand_picked)
    logger.info(
        "persona saved id=%s org=%s by=%s",
        persona.pk,
        persona.organization_id,
        getattr(acting_user, "pk", None),
    )
    return persona_assign_all(org=persona.organization)


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
    if not Membership.objects.filter(
        user=owner, organization_id=account.organization_id, role__in=WORKER_ROLES
    ).exists():
        raise PortfolioError(
            "owner", f"{owner} is not a CSM, manager or admin of this organization"
        )
    with transaction.atomic():
        previous = account.owner_id
        account.owner = owner
        account.save(update_fields=["owner", "updated_at"])
        # Handover: the layers above move what the previous owner had open on the account.
        account_owner_changed.send(
            sender=Account, account=account, previous_owner_id=previous, acting_user=acting_user
        )
    logger.info(
        "account reassigned account=%s from=%s to=%s by=%s",
        account.pk,
        previous,
        owner.pk,
        acting_user.pk,
    )
    return account


def accounts_hand_over(*, org: Organization, previous_owner: User, owner: User) -> list[int]:
    """Every account `previous_owner` owns in `org` goes to `owner` (a member leaving), in one
    UPDATE; returns their ids. It sends no account_owner_changed per account: the caller
    (configuration's member deactivation) hands the open playbooks over in the same
    transaction, set-based (playbooks_handover_member)."""
    from orgs.models import Membership

    if owner.pk == previous_owner.pk:
        raise PortfolioError("owner", gettext("Choose someone else to hand the accounts to."))
    if not Membership.objects.filter(
        user=owner, organization=org, role__in=WORKER_ROLES, user__is_active=True
    ).exists():
        raise PortfolioError(
            "owner",
            gettext("%(user)s is not an active CSM, manager or admin of this organization.")
            % {"user": owner},
        )
    with org_context(org), transaction.atomic():
        held = Account.objects.select_for_update().filter(owner_id=previous_owner.pk)
        ids = list(held.order_by("pk").values_list("pk", flat=True))
        Account.objects.filter(pk__in=ids).update(owner_id=owner.pk, updated_at=timezone.now())
    logger.info(
        "accounts handed over org=%s from=%s to=%s accounts=%s",
        org.pk,
        previous_owner.pk,
        owner.pk,
        len(ids),
    )
    return ids


def subscription_add(
    *,
    account: Account,
    product: Product,
    mrr: Decimal | int | str,
    start_date: dt.date,
    renewal_months: int = 12,
    note: str = "",
) -> Subscription:
    """Add a product to an account (a won expansion): the subscription, its MRR ledger
    entry and the account's rollups, in one transaction."""
    import datetime as dt
    from decimal import Decimal

    from .models import MrrMovement, MrrMovementKind

    mrr = Decimal(mrr)
    if mrr <= 0:
        raise PortfolioError("mrr_won", "a won expansion needs a positive MRR")
    if product.organization_id != account.organization_id:
        raise PortfolioError("product", "the product belongs to another organization")
    with transaction.atomic():
        sub = Subscription.objects.create(
            organization_id=account.organization_id,
            account=account,
            product=product,
            mrr=mrr,
            start_date=start_date,
            renewal_date=start_date + dt.timedelta(days=round(renewal_months * 30.4375)),
        )
        MrrMovement.objects.create(
            organization_id=account.organization_id,
            account=account,
            subscription=sub,
            date=start_date,
            kind=MrrMovementKind.EXPANSION,
            delta_mrr=mrr,
            note=note[:200],
        )
        _refresh_one(account)
    logger.info("subscription added account=%s product=%s mrr=%s", account.pk, product.pk, mrr)
    return sub


@dataclass(frozen=True)
class Churn:
    """One account to mark churned: when, and why (a ChurnReason of its organization)."""

    account_id: int
    churned_at: dt.date
    reason_id: int


@dataclass(frozen=True)
class ChurnedAccount:
    """What the accounts_churned hook tells the layers above about one churned account."""

    account_id: int
    churned_at: dt.date
    reason: str
    # the organization's locale: the closing reason is its data, written once in its language
    locale: str = ""

    @property
    def text(self) -> str:
        """Why what the account had open is closed: "account churned on <date>: <reason>", in
        the organization's language and date format (the active language without one)."""
        language = supported_language(self.locale) if self.locale else None
        with translation.override(language or translation.get_language() or settings.LANGUAGE_CODE):
            return gettext("account churned on %(date)s: %(reason)s") % {
                "date": format_date(self.churned_at, locale=self.locale)
                if self.locale
                else (self.churned_at.isoformat()),
                "reason": self.reason,
            }


def accounts_mark_churned(
    *,
    org: Organization | int,
    churns: list[Churn],
    acting_user: User | None = None,
    note: str = "",
) -> list[ChurnedAccount]:
    """The one way accounts become churned, set-based and in one transaction: each account's
    churn date, reason and stage; its active subscriptions cancelled on that date, one churn
    entry each in the MRR ledger; its MRR and renewal rollups (none once churned) and its
    latest-health columns cleared (the score history stays); then the `accounts_churned`
    hook, with which the layers above cancel the account's open playbooks and close its
    pending alerts. An account already churned keeps its first date and reason, and the hook
    runs again for it (closing whatever was opened since)."""
    from .models import ChurnReason, LifecycleStage, MrrMovement, MrrMovementKind

    org_id = getattr(org, "pk", org)
    if not churns:
        return []
    wanted: dict[int, Churn] = {}
    for churn in churns:
        if churn.account_id in wanted:
            raise PortfolioError("account", f"account {churn.account_id} is listed twice")
        if not isinstance(churn.churned_at, dt.date):
            raise PortfolioError("churned_at", f"{churn.churned_at!r} is not a date")
        wanted[churn.account_id] = churn
    with transaction.atomic():
        rows = list(
            Account.objects.select_for_update()
            .filter(organization_id=org_id, pk__in=list(wanted))
            .order_by("pk")
            .values_list("pk", "churned_at", "churn_reason_id")
        )
        unknown = sorted(set(wanted) - {pk for pk, _, _ in rows})
        if unknown:
            raise PortfolioError("account", f"no account {unknown[0]} in this organization")
        # the first churn stands: an account churned before keeps its date and reason
        effective = {
            pk: (churned_at, reason_id or wanted[pk].reason_id)
            if churned_at is not None
            else (wanted[pk].churned_at, wanted[pk].reason_id)
            for pk, churned_at, reason_id in rows
        }
        reason_ids = {reason_id for _, reason_id in effective.values()}
        reasons = dict(
            ChurnReason.objects.filter(organization_id=org_id, pk__in=list(reason_ids)).values_list(
                "pk", "name"
            )
        )
        if reason_ids - set(reasons):
            raise PortfolioError("churn_reason", "the reason belongs to another organization")
        ids = sorted(effective)
        active = list(
            Subscription.objects.select_for_update()
            .filter(organization_id=org_id, account_id__in=ids, status=SubscriptionStatus.ACTIVE)
            .values_list("pk", "account_id", "mrr")
        )
        MrrMovement.objects.bulk_create(
            [
                MrrMovement(
                    organization_id=org_id,
                    account_id=account_id,
                    subscription_id=pk,
                    date=effective[account_id][0],
                    kind=MrrMovementKind.CHURN,
                    delta_mrr=-mrr,
                    note=(note or f"Churn: {reasons[effective[account_id][1]]}")[:200],
                )
                for pk, account_id, mrr in active
            ]
        )
        update_from_values(
            table=Subscription._meta.db_table,
            key="id",
            columns=[("status", "varchar"), ("end_date", "date")],
            org_id=org_id,
            rows=[
                (pk, SubscriptionStatus.CANCELLED.value, effective[account_id][0])
                for pk, account_id, _ in active
            ],
        )
        now = timezone.now()
        update_from_values(
            table=Account._meta.db_table,
            key="id",
            columns=[
                ("churned_at", "date"),
                ("churn_reason_id", "bigint"),
                ("lifecycle_stage", "varchar"),
                ("health_score", "float8"),
                ("health_colour", "varchar"),
                ("health_change_7d", "float8"),
                ("health_change_30d", "float8"),
                ("updated_at", "timestamptz"),
            ],
            org_id=org_id,
            rows=[
                (pk, day, reason_id, LifecycleStage.CHURNED.value, None, "", None, None, now)
                for pk, (day, reason_id) in effective.items()
            ],
        )
        account_rollups_refresh(org=org_id, account_ids=ids)
        locale = Organization.objects.filter(pk=org_id).values_list("locale", flat=True).first()
        churned = [
            ChurnedAccount(
                account_id=pk, churned_at=day, reason=reasons[reason_id], locale=locale or ""
            )
            for pk, (day, reason_id) in sorted(effective.items())
        ]
        accounts_churned.send(
            sender=Account, organization_id=org_id, churns=churned, acting_user=acting_user
        )
    logger.info(
        "accounts churned org=%s accounts=%s subscriptions=%s by=%s",
        org_id,
        len(churned),
        len(active),
        getattr(acting_user, "pk", None),
    )
    return churned


def account_mark_churned(
    *,
    account: Account,
    churned_at: dt.date,
    reason: ChurnReason | None,
    note: str = "",
    acting_user: User | None = None,
) -> Account:
    """Churn one account (accounts_mark_churned): its date and reason, its subscriptions
    cancelled with their ledger entries, its rollups, and what it had open closed."""
    if reason is None:
        raise PortfolioError("churn_reason", "a churn needs a reason")
    if reason.organization_id != account.organization_id:
        raise PortfolioError("churn_reason", "the reason belongs to another organization")
    accounts_mark_churned(
        org=account.organization_id,
        churns=[Churn(account_id=account.pk, churned_at=churned_at, reason_id=reason.pk)],
        acting_user=acting_user,
        note=note,
    )
    account.refresh_from_db(
        fields=[
            "churned_at",
            "churn_reason",
            "lifecycle_stage",
            "mrr",
            "renewal_date",
            "health_score",
            "health_colour",
            "health_change_7d",
            "health_change_30d",
            "updated_at",
        ]
    )
    return account


def _refresh_one(account: Account) -> None:
    account_rollups_refresh(org=account.organization_id, account_ids=[account.pk])
    account.refresh_from_db(fields=["mrr", "renewal_date"])


def interaction_log(
    *,
    account: Account,
    user: User,
    kind: str,
    summary: str,
    contact: Contact | None = None,
    notes: str = "",
    occurred_at: dt.datetime | None = None,
) -> Interaction:
    """Log a contact with the customer (call, meeting, email, visit, note)."""
    from .models import InteractionKind

    if not summary.strip():
        raise PortfolioError("summary", "say what was discussed")
    if kind not in InteractionKind.values:
        raise PortfolioError("kind", f"unknown channel {kind!r}")
    if contact is not None and contact.account_id != account.pk:
        raise PortfolioError("contact", "that contact is not at this account")
    interaction = Interaction.objects.create(
        organization_id=account.organization_id,
        account=account,
        contact=contact,
        author=user,
        kind=kind,
        occurred_at=occurred_at or timezone.now(),
        summary=summary.strip()[:240],
        notes=notes,
    )
    logger.info(
        "contact logged account=%s interaction=%s by=%s", account.pk, interaction.pk, user.pk
    )
    return interaction


def account_sentiment_set(
    *, account: Account, sentiment: int | None, reason: str, expires_on: dt.date | None
) -> None:
    """The CSM's sentiment on the account (the health catalogue's CSM sentiment indicator
    reads it), with its reason and expiry; None clears it. Called by health's judgement."""
    account.csm_sentiment = sentiment
    account.csm_sentiment_reason = reason[:240]
    account.csm_sentiment_expires_on = expires_on
    account.save(
        update_fields=[
            "csm_sentiment",
            "csm_sentiment_reason",
            "csm_sentiment_expires_on",
            "updated_at",
        ]
    )


# -- daily usage: monthly partitions ahead, retention into monthly roll-ups ------------------

USAGE_TABLE = "accounts_usagemetric"


@dataclass
class UsageMaintenance:
    """What one maintenance pass did (or, with dry_run, would do)."""

    dry_run: bool
    partitions_created: list[str] = field(default_factory=list)
    keep_from: dt.date | None = None  # the oldest raw day kept; None: retention is off
    months: list[dict] = field(default_factory=list)  # per month rolled up (oldest first)

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "partitions_created": self.partitions_created,
            "keep_from": self.keep_from.isoformat() if self.keep_from else None,
            "months": self.months,
        }


def usage_keep_from(*, today: dt.date, retention_days: int | None) -> dt.date | None:
    """The oldest day of raw daily usage the retention keeps (the last `retention_days` days
    up to today), or None when everything is kept. Only whole months before it's month go."""
    if not retention_days:
        return None
    return today - dt.timedelta(days=retention_days - 1)


def _usage_months_before(cutoff: dt.date) -> list[dt.date]:
    """The months with raw usage before `cutoff` (a month's first day), oldest first: the
    partitions' months and DEFAULT's on PostgreSQL, the rows' own months elsewhere."""
    from django.db import connection

    from csplatform.db import partitions

    if not partitions.is_partitioned(USAGE_TABLE):
        return list(UsageMetric.all_objects.filter(date__lt=cutoff).dates("date", "month"))
    months = {p.month for p in partitions.monthly_partitions(USAGE_TABLE) if p.month}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT date_trunc('month', date)::date FROM "
            f"{USAGE_TABLE}{partitions.DEFAULT_SUFFIX} WHERE date < %s",
            [cutoff],
        )
        months |= {row[0] for row in cur.fetchall()}
    return sorted(m for m in months if m < cutoff)


_ROLL_UP = f"""
INSERT INTO accounts_usagemonth
    (organization_id, account_id, metric, month, total, days, active_days, peak)
SELECT organization_id, account_id, metric, %s, SUM(value), COUNT(*),
       SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END), MAX(value)
FROM {USAGE_TABLE}
WHERE organization_id = %s AND date >= %s AND date < %s
GROUP BY organization_id, account_id, metric
ON CONFLICT (organization_id, account_id, metric, month) DO UPDATE SET
    total = excluded.total, days = excluded.days, active_days = excluded.active_days,
    peak = excluded.peak
"""


def usage_month_roll_up(*, month: dt.date) -> dict:
    """Roll one month of raw daily usage up into UsageMonth (every organization, one grouped
    INSERT each; a second run replaces the first) and drop the raw month: its partition on
    PostgreSQL (detached and dropped whole), then any of its rows in DEFAULT or, on SQLite,
    the rows themselves. One transaction: the month is either still raw or rolled up."""
    from django.db import connection

    from csplatform.db import partitions

    end = partitions.add_months(month, 1)
    org_ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    monthly = 0
    with transaction.atomic(), connection.cursor() as cur:
        for org_id in org_ids:
            cur.execute(_ROLL_UP, [month, org_id, month, end])
            monthly += max(cur.rowcount, 0)
        dropped = partitions.monthly_partition_drop(table=USAGE_TABLE, month=month)
        for org_id in org_ids:
            cur.execute(
                f"DELETE FROM {USAGE_TABLE} WHERE organization_id = %s AND date >= %s "
                "AND date < %s",
                [org_id, month, end],
            )
    return {"month": month.isoformat()[:7], "monthly_rows": monthly, "partition_dropped": dropped}


def usage_partitions_maintain(
    *,
    today: dt.date,
    months_ahead: int,
    retention_days: int | None,
    dry_run: bool = False,
) -> UsageMaintenance:
    """The night's care of the daily usage table, before scoring: this month's partition and
    `months_ahead` more (settings.USAGE_PARTITION_MONTHS_AHEAD), rows stranded in DEFAULT moved
    to their month; then, when `retention_days` is set (settings.USAGE_RAW_RETENTION_DAYS),
    every whole month before the kept days rolled up and dropped. With dry_run nothing is
    written: the months are listed with their raw row counts."""
    from csplatform.db import partitions

    result = UsageMaintenance(dry_run=dry_run)
    if not dry_run:
        result.partitions_created = partitions.monthly_partitions_ensure(
            table=USAGE_TABLE, column="date", today=today, months_ahead=months_ahead
        )
    result.keep_from = usage_keep_from(today=today, retention_days=retention_days)
    if result.keep_from is None:
        return result
    for month in _usage_months_before(result.keep_from.replace(day=1)):
        if dry_run:
            end = partitions.add_months(month, 1)
            rows = UsageMetric.all_objects.filter(date__gte=month, date__lt=end).count()
            result.months.append({"month": month.isoformat()[:7], "raw_rows": rows})
        else:
            result.months.append(usage_month_roll_up(month=month))
    return result
