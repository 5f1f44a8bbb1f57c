"""Reads the API, exports and data pages share: each resource's queryset with what its
output needs joined (select_related / prefetch), scoped to the organization in context by
the tenant managers."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts import models as am
from health.models import HealthScore
from playbooks.models import Playbook, PlaybookStep
from triggers.models import Alert, Firing

from .models import ApiToken, DataAudit, ImportJob, ImportMapping, WebhookDelivery, WebhookEndpoint


def accounts_qs() -> QuerySet[am.Account]:
    return am.Account.objects.select_related("owner", "churn_reason", "persona")


def contacts_qs() -> QuerySet[am.Contact]:
    return am.Contact.objects.select_related("account")


def products_qs() -> QuerySet[am.Product]:
    return am.Product.objects.all()


def subscriptions_qs() -> QuerySet[am.Subscription]:
    return am.Subscription.objects.select_related("account", "product")


def usage_qs() -> QuerySet[am.UsageMetric]:
    return am.UsageMetric.objects.select_related("account")


def tickets_qs() -> QuerySet[am.Ticket]:
    return am.Ticket.objects.select_related("account")


def invoices_qs() -> QuerySet[am.Invoice]:
    return am.Invoice.objects.select_related("account")


def surveys_qs() -> QuerySet[am.SurveyResponse]:
    return am.SurveyResponse.objects.select_related("account", "contact")


def interactions_qs() -> QuerySet[am.Interaction]:
    return am.Interaction.objects.select_related("account", "contact", "author")


def health_scores_qs() -> QuerySet[HealthScore]:
    return HealthScore.objects.select_related("account", "model", "layout")


def firings_qs() -> QuerySet[Firing]:
    return Firing.objects.select_related("trigger", "account")


def alerts_qs() -> QuerySet[Alert]:
    return Alert.objects.select_related("account", "owner", "decided_by")


def playbooks_qs() -> QuerySet[Playbook]:
    steps = PlaybookStep.objects.select_related("assignee", "completed_by").order_by("order")
    return Playbook.objects.select_related(
        "account", "owner", "template", "opportunity_product", "churn_reason"
    ).prefetch_related(Prefetch("steps", queryset=steps))


def tokens_list() -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("created_by", "revoked_by").order_by(
        "-created_at", "-pk"
    )


def webhooks_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("url", "pk")


def deliveries_of(*, endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    return list(
        WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-pk")[:limit]
    )


def imports_recent(*, limit: int = 20) -> list[ImportJob]:
    return list(ImportJob.objects.select_related("created_by").order_by("-created_at")[:limit])


def mappings_of(*, kind: str) -> QuerySet[ImportMapping]:
    return ImportMapping.objects.filter(kind=kind).order_by("-updated_at")


def audit_recent(*, limit: int = 50) -> list[DataAudit]:
    return list(DataAudit.objects.select_related("actor").order_by("-at", "-pk")[:limit])
