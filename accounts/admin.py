"""Admin for the portfolio, scoped to the user's organization (see orgs/admin_base.py)."""

from django.contrib import admin
from django.db import models

from conditions.forms import ConditionJSONField
from orgs.admin_base import RecordAdmin, TenantAdmin

from .models import (
    Account,
    ChurnReason,
    Contact,
    Interaction,
    Invoice,
    LifecycleChange,
    MrrMovement,
    Persona,
    Product,
    Subscription,
    SurveyResponse,
    Ticket,
    UsageMetric,
    UsageMonth,
)


@admin.register(Product)
class ProductAdmin(TenantAdmin):
    list_display = ["name", "code", "is_active"]
    search_fields = ["name", "code"]


@admin.register(ChurnReason)
class ChurnReasonAdmin(TenantAdmin):
    list_display = ["name", "is_active"]


@admin.register(Persona)
class PersonaAdmin(TenantAdmin):
    # rules are decoded within the condition language's limits (no 500 on a deep or huge tree)
    formfield_overrides = {models.JSONField: {"form_class": ConditionJSONField}}
    list_display = ["name", "slug", "priority"]
    search_fields = ["name"]
    raw_id_fields = ["hand_picked"]


@admin.register(Account)
class AccountAdmin(TenantAdmin):
    list_display = ["name", "external_id", "tier", "touch_model", "lifecycle_stage", "owner", "mrr"]
    list_filter = ["tier", "touch_model", "lifecycle_stage"]
    search_fields = ["name", "external_id"]
    raw_id_fields = ["owner", "persona", "churn_reason"]
    list_select_related = ["owner"]
    # Rollups are computed; a churn goes through accounts_mark_churned (a playbook outcome),
    # which also cancels subscriptions and open work, so the admin does not set it by hand.
    readonly_fields = ["mrr", "renewal_date", "persona", "churned_at", "churn_reason"]


@admin.register(Contact)
class ContactAdmin(TenantAdmin):
    list_display = ["name", "account", "role", "email", "consent_given_at", "consent_withdrawn_at"]
    list_filter = ["role"]
    search_fields = ["name", "email"]
    raw_id_fields = ["account"]
    list_select_related = ["account"]


@admin.register(Subscription)
class SubscriptionAdmin(TenantAdmin):
    list_display = ["account", "product", "mrr", "status", "renewal_date", "discount_pct"]
    list_filter = ["status"]
    raw_id_fields = ["account", "product"]
    list_select_related = ["account", "product"]


@admin.register(MrrMovement)
class MrrMovementAdmin(RecordAdmin):
    list_display = ["account", "date", "kind", "delta_mrr"]
    list_filter = ["kind"]
    raw_id_fields = ["account", "subscription"]
    list_select_related = ["account"]


@admin.register(LifecycleChange)
class LifecycleChangeAdmin(RecordAdmin):
    list_display = ["account", "changed_on", "from_stage", "to_stage", "source"]
    list_filter = ["to_stage", "source"]
    raw_id_fields = ["account"]
    list_select_related = ["account"]


@admin.register(UsageMetric)
class UsageMetricAdmin(TenantAdmin):
    list_display = ["account", "metric", "date", "value"]
    list_filter = ["metric"]
    raw_id_fields = ["account"]
    list_select_related = ["account"]
    show_full_result_count = False


@admin.register(UsageMonth)
class UsageMonthAdmin(RecordAdmin):
    list_display = ["account", "metric", "month", "total", "days", "active_days", "peak"]
    list_filter = ["metric"]
    raw_id_fields = ["account"]
    list_select_related = ["account"]


@admin.register(Ticket)
class TicketAdmin(TenantAdmin):
    list_display = ["subject", "account", "priority", "opened_at", "closed_at", "sla_breached"]
    list_filter = ["priority", "sla_breached"]
    raw_id_fields = ["account"]
    list_select_related = ["account"]


@admin.register(Invoice)
class InvoiceAdmin(TenantAdmin):
    list_display = ["number", "account", "due_on", "paid_on", "amount", "discount_amount"]
    raw_id_fields = ["account"]
    list_select_related = ["account"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(TenantAdmin):
    list_display = ["account", "kind", "score", "answered_at"]
    list_filter = ["kind"]
    raw_id_fields = ["account", "contact"]
    list_select_related = ["account"]


@admin.register(Interaction)
class InteractionAdmin(TenantAdmin):
    list_display = ["summary", "account", "kind", "author", "occurred_at"]
    list_filter = ["kind"]
    raw_id_fields = ["account", "contact", "author"]
    list_select_related = ["account", "author"]
