"""Admin for playbook templates (steps inline), playbooks and notifications."""

from django.contrib import admin

from orgs.admin_base import TenantAdmin

from .models import Notification, Playbook, PlaybookStep, PlaybookTemplate, TemplateStep


class _InlinePermissions:
    def has_view_permission(self, request, obj=None):
        return True

    def has_add_permission(self, request, obj=None):
        return True

    def has_change_permission(self, request, obj=None):
        return True

    def has_delete_permission(self, request, obj=None):
        return True


class TemplateStepInline(_InlinePermissions, admin.TabularInline):
    model = TemplateStep
    extra = 0
    fields = ["order", "title", "instructions", "due_offset_days", "assignee"]


class _SetOrganizationOnInlines:
    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in instances:
            obj.organization_id = form.instance.organization_id
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(PlaybookTemplate)
class PlaybookTemplateAdmin(_SetOrganizationOnInlines, TenantAdmin):
    list_display = ["name", "kind", "persona", "is_active"]
    list_filter = ["kind", "is_active"]
    inlines = [TemplateStepInline]
    raw_id_fields = ["persona"]


class PlaybookStepInline(_InlinePermissions, admin.TabularInline):
    model = PlaybookStep
    extra = 0
    fields = ["order", "title", "due_on", "assignee", "status", "completed_at", "completed_by"]
    raw_id_fields = ["assignee", "completed_by"]


@admin.register(Playbook)
class PlaybookAdmin(_SetOrganizationOnInlines, TenantAdmin):
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
