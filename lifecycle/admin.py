"""Operators' view of the journey's rows (admins configure it in /configuration/lifecycle/)."""

from django.contrib import admin

from orgs.admin_base import TenantAdmin

from .models import LifecycleSettings, PurchaseGoal


@admin.register(LifecycleSettings)
class LifecycleSettingsAdmin(TenantAdmin):
    list_display = ("organization", "onboarding_days", "renewal_days", "activation_due_days")


@admin.register(PurchaseGoal)
class PurchaseGoalAdmin(TenantAdmin):
    list_display = ("account", "recorded_on", "recorded_by")
    raw_id_fields = ("account",)
