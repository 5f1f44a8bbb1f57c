"""Admin for playbook templates (steps inline), playbooks and notifications."""

from django.contrib import admin

from orgs.admin_base import TenantAdmin, TenantInline

from .models import (
    Notification,
    Playbook,
    PlaybookContact,
    PlaybookStep,
    PlaybookTemplate,
    TemplateStep,
)


class TemplateStepInline(TenantInline):
    model = TemplateStep
    fields = ["order", "title", "instructions", "due_offset_days", "assignee"]


@admin.register(PlaybookTemplate)
class PlaybookTemplateAdmin(TenantAdmin):
    list_display = ["name", "kind", "persona", "is_active"]
    list_filter = ["kind", "is_active"]
    inlines = [TemplateStepInline]
    raw_id_fields = ["persona"]


class PlaybookStepInline(TenantInline):
    model = PlaybookStep
    fields = ["order", "title", "due_on", "assignee", "status", "completed_at", "completed_by"]
    raw_id_fields = ["assignee", "completed_by"]


@admin.register(Playbook)
class PlaybookAdmin(TenantAdmin):
    list_display = [
        "title",
        "account",
        "kind",
        "owner",
        "status",
        "opened_on",
        "outcome",
        "is_demo",
    ]
    list_filter = ["kind", "status", "outcome", "is_demo"]
    search_fields = ["title", "account__name"]
    raw_id_fields = [
        "account",
        "template",
        "owner",
        "closed_by",
        "opportunity_product",
        "churn_reason",
    ]
    list_select_related = ["account", "owner"]
    inlines = [PlaybookStepInline]
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(TenantAdmin):
    list_display = ["user", "kind", "text", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind"]
    raw_id_fields = ["user", "playbook"]
    list_select_related = ["user"]


@admin.register(TemplateStep)
class TemplateStepAdmin(TenantAdmin):
    list_display = ["template", "order", "title", "due_offset_days", "assignee"]
    list_select_related = ["template"]


@admin.register(PlaybookStep)
class PlaybookStepAdmin(TenantAdmin):
    list_display = ["title", "playbook", "due_on", "assignee", "status", "completed_at"]
    list_filter = ["status"]
    raw_id_fields = ["playbook", "assignee", "completed_by"]
    list_select_related = ["playbook", "assignee"]
    show_full_result_count = False


@admin.register(PlaybookContact)
class PlaybookContactAdmin(TenantAdmin):
    list_display = ["playbook", "interaction"]
    raw_id_fields = ["playbook", "interaction"]
