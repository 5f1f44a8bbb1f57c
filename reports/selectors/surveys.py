"""The survey report's rows: invitations sent and answered per campaign, NPS answers per
month and persona or product, the comments, and each detractor's follow-up and next answer.
Aggregates in SQL; the maths in reports.metrics."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncMonth

from accounts.models import Subscription, SurveyKind, SurveyResponse
from playbooks.models import Playbook, PlaybookStatus
from surveys.models import SurveyInvitation

from ..filters import ReportFilters
from .scope import accounts_q, instant_range


def _accounts(f: ReportFilters, prefix: str = "account__") -> Q:
    q = accounts_q(f, prefix)
    if f.product_id is not None:
        q &= Q(
            **{
                f"{prefix}id__in": Subscription.objects.filter(product_id=f.product_id).values(
                    "account_id"
                )
            }
        )
    return q


def invitations(f: ReportFilters) -> QuerySet[SurveyInvitation]:
    """The invitations sent in the period to the filters' accounts."""
    first, end = instant_range(f.date_from, f.date_to)
    return SurveyInvitation.objects.filter(_accounts(f), sent_at__gte=first, sent_at__lt=end)


def rate_by_campaign(f: ReportFilters) -> list[dict]:
    return list(
        invitations(f)
        .values("campaign_id", "campaign__name")
        .annotate(sent=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))
        .order_by("campaign__name")
    )


def nps_answers(f: ReportFilters) -> QuerySet[SurveyResponse]:
    first, end = instant_range(f.date_from, f.date_to)
    return SurveyResponse.objects.filter(
        _accounts(f), kind=SurveyKind.NPS, answered_at__gte=first, answered_at__lt=end
    )


def nps_by_month(f: ReportFilters, *, by: str) -> list[dict]:
    """Per month (the organization's) and persona or product: answers, promoters and
    detractors. An account with two products counts its answer under both."""
    group = "account__persona_id" if by == "persona" else "account__subscriptions__product_id"
    return list(
        nps_answers(f)
        .annotate(month=TruncMonth("answered_at"))
        .values("month", group)
        .annotate(
            answers=Count("pk", distinct=True),
            promoters=Count("pk", filter=Q(score__gte=9), distinct=True),
            detractors=Count("pk", filter=Q(score__lte=6), distinct=True),
        )
        .values_list("month", group, "answers", "promoters", "detractors")
        .order_by("month", group)
    )


def nps_months_total(f: ReportFilters) -> list[tuple]:
    return list(
        nps_answers(f)
        .annotate(month=TruncMonth("answered_at"))
        .values("month")
        .annotate(
            answers=Count("pk"),
            promoters=Count("pk", filter=Q(score__gte=9)),
            detractors=Count("pk", filter=Q(score__lte=6)),
        )
        .values_list("month", "answers", "promoters", "detractors")
        .order_by("month")
    )


def comments(f: ReportFilters, *, limit: int = 50) -> list[dict]:
    first, end = instant_range(f.date_from, f.date_to)
    return list(
        SurveyResponse.objects.filter(_accounts(f), answered_at__gte=first, answered_at__lt=end)
        .exclude(comment="")
        .order_by("-answered_at", "-pk")
        .values("answered_at", "account_id", "account__name", "kind", "score", "comment")[:limit]
    )


def detractor_loop(f: ReportFilters) -> list[dict]:
    """Each NPS detractor answer of the period that came through an invitation: whether its
    follow-up playbook was opened and completed (contacted back), and the same contact's next
    NPS score, if any (one query)."""
    followups = Playbook.objects.filter(origin="survey", origin_ref=OuterRef("invitation__pk"))
    following = SurveyResponse.objects.filter(
        kind=SurveyKind.NPS,
        contact_id=OuterRef("contact_id"),
        answered_at__gt=OuterRef("answered_at"),
    ).order_by("answered_at", "pk")
    return list(
        nps_answers(f)
        .filter(score__lte=6, invitation__isnull=False)
        .annotate(
            followup_status=Subquery(followups.values("status")[:1]),
            next_score=Subquery(following.values("score")[:1], output_field=IntegerField()),
        )
        .values("pk", "account_id", "followup_status", "next_score")
    )


COMPLETED = PlaybookStatus.COMPLETED
