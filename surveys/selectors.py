"""Reads of surveys: who a campaign is due to (one query per campaign, set-based), the
campaigns of the organization in context, and an invitation behind a link."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db.models import CharField, Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Concat

from accounts.models import Contact, LifecycleChange, LifecycleStage
from playbooks.models import Playbook, PlaybookStatus

from .models import CATCH_UP_DAYS, Cadence, SurveyCampaign, SurveyInvitation


@dataclass(frozen=True)
class Due:
    """One contact a campaign is due to, and the period the invitation would be sent for."""

    contact_id: int
    account_id: int
    contact: str
    email: str
    account: str
    period: str

    def as_dict(self) -> dict:
        return asdict(self)


def campaigns(*, campaign_id: int | None = None, active_only: bool = False) -> QuerySet:
    qs = SurveyCampaign.objects.select_related("persona", "followup_template")
    if campaign_id is not None:
        qs = qs.filter(pk=campaign_id)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("name", "pk")


def campaigns_with_counts() -> QuerySet:
    """Every campaign with its invitations sent and answered: one query."""
    return campaigns().annotate(
        sent=Count("invitations"),
        answered=Count("invitations", filter=Q(invitations__answered_at__isnull=False)),
    )


def targeted_contacts(*, campaign: SurveyCampaign) -> QuerySet[Contact]:
    """The contacts a campaign may ever ask: consent given and not withdrawn, an address, an
    account that has not churned, in the campaign's persona, stages and roles."""
    qs = Contact.objects.filter(
        consent_given_at__isnull=False,
        consent_withdrawn_at__isnull=True,
        account__churned_at__isnull=True,
    ).exclude(email="")
    qs = qs.exclude(account__lifecycle_stage=LifecycleStage.CHURNED)
    if campaign.persona_id:
        qs = qs.filter(account__persona_id=campaign.persona_id)
    if campaign.lifecycle_stages:
        qs = qs.filter(account__lifecycle_stage__in=campaign.lifecycle_stages)
    if campaign.contact_roles:
        qs = qs.filter(role__in=campaign.contact_roles)
    return qs


def _day_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


def campaign_due(
    *, campaign: SurveyCampaign, today: dt.date, now: dt.datetime, zone: dt.tzinfo
) -> list[Due]:
    """Who `campaign` is due to today, in one query (the organization in context):

    - every N days: the targeted contacts it has not invited in the last N days (sent after
      now - N days);
    - N days after a playbook closes: the targeted contacts of accounts whose latest playbook
      completed N to N + CATCH_UP_DAYS - 1 days ago, not yet invited for that playbook;
    - N days after onboarding: likewise, from the account's latest move out of onboarding
      (accounts.LifecycleChange).
    """
    qs = targeted_contacts(campaign=campaign)
    mine = SurveyInvitation.objects.filter(campaign=campaign, contact=OuterRef("pk"))
    if campaign.cadence == Cadence.EVERY:
        qs = qs.exclude(Exists(mine.filter(sent_at__gt=now - dt.timedelta(days=campaign.days))))
        qs = qs.annotate(period=Value(today.isoformat(), output_field=CharField()))
    else:
        last = today - dt.timedelta(days=campaign.days)
        first = last - dt.timedelta(days=CATCH_UP_DAYS - 1)
        if campaign.cadence == Cadence.AFTER_PLAYBOOK:
            event = (
                Playbook.objects.filter(
                    account=OuterRef("account"),
                    status=PlaybookStatus.COMPLETED,
                    closed_at__gte=_day_start(first, zone),
                    closed_at__lt=_day_start(last + dt.timedelta(days=1), zone),
                )
                .order_by("-closed_at", "-pk")
                .values("pk")[:1]
            )
            prefix = "playbook:"
        else:
            event = (
                LifecycleChange.objects.filter(
                    account=OuterRef("account"),
                    from_stage=LifecycleStage.ONBOARDING,
                    changed_on__gte=first,
                    changed_on__lte=last,
                )
                .order_by("-changed_on", "-pk")
                .values("changed_on")[:1]
            )
            prefix = "onboarding:"
        qs = (
            qs.annotate(event=Subquery(event))
            .filter(event__isnull=False)
            .annotate(period=Concat(Value(prefix), Cast("event", CharField())))
            .exclude(Exists(mine.filter(period=OuterRef("period"))))
        )
    rows = qs.order_by("account_id", "pk").values_list(
        "pk", "account_id", "name", "email", "account__name", "period"
    )
    return [Due(*row) for row in rows]


def invitation_for_link(*, invitation_id: int) -> SurveyInvitation | None:
    return (
        SurveyInvitation.objects.select_related("campaign", "account", "contact")
        .filter(pk=invitation_id)
        .first()
    )
