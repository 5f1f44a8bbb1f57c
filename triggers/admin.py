"""Admin for triggers (conditions validated on save, written through trigger_create and
trigger_update, which decide the version), firings, alerts and the forecast."""

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy

from conditions.forms import ConditionJSONField
from orgs.admin_base import RecordAdmin, TenantAdmin, TenantInline
from orgs.relations import TenantModelForm

from .fields import TRIGGER_FIELDS
from .models import (
    Alert,
    Firing,
    RetentionForecast,
    Trigger,
    TriggerRun,
    TriggerRunChunk,
    TriggerSwitch,
    TriggerVersion,
    WeeklyCap,
)
from .services import TRIGGER_EDITABLE_FIELDS, trigger_create, trigger_update


class TriggerForm(TenantModelForm):
    class Meta:
        model = Trigger
        # the organization: a superuser's choice; excluded for an organization's admin
        fields = ["organization", *TRIGGER_EDITABLE_FIELDS]
        field_classes = {"condition": ConditionJSONField}
        help_texts = {
            "condition": (
                'A JSON tree, e.g. {"all": [{"field": "health_colour", "op": "=", '
                '"value": "green"}, {"field": "indicator.volume_trend.raw", "op": ">", '
                '"value": 20}]}. Operators: < <= > >= = != in between is_empty contains '
                "not_contains. Fields: " + ", ".join(sorted(TRIGGER_FIELDS))
            )
        }


@admin.register(Trigger)
class TriggerAdmin(TenantAdmin):
    form = TriggerForm
    list_display = [
        "name",
        "kind",
        "persona",
        "product",
        "schedule",
        "action",
        "is_active",
        "version",
    ]
    list_filter = ["kind", "schedule", "action", "is_active"]
    search_fields = ["name"]
    raw_id_fields = ["persona", "product", "template"]

    def save_model(self, request, obj, form, change):
        if not change:
            self.assign_organization(request, obj, change)
            trigger_create(trigger=obj, acting_user=request.user)
            return
        data = {
            name: form.cleaned_data[name]
            for name in TRIGGER_EDITABLE_FIELDS
            if name in form.cleaned_data
        }
        trigger_update(trigger=obj, data=data, acting_user=request.user)


@admin.register(TriggerVersion)
class TriggerVersionAdmin(RecordAdmin):
    """Each published version of a trigger, as it was (written by the versioning services)."""

    list_display = ["trigger", "version", "changed", "created_by", "created_at"]
    list_select_related = ["trigger", "created_by"]
    fields = ["trigger", "version", "fields", "changed", "created_by", "created_at"]
    readonly_fields = fields


@admin.register(TriggerSwitch)
class TriggerSwitchAdmin(RecordAdmin):
    """When a trigger was paused or resumed, and by whom."""

    list_display = ["trigger", "is_active", "created_by", "created_at"]
    list_select_related = ["trigger", "created_by"]
    fields = ["trigger", "is_active", "created_by", "created_at"]
    readonly_fields = fields


@admin.register(Firing)
class FiringAdmin(RecordAdmin):
    list_display = ["trigger", "account", "period", "fired_on", "playbook", "evidence_text"]
    list_filter = ["fired_on"]
    raw_id_fields = ["trigger", "account", "playbook"]
    list_select_related = ["trigger", "account"]
    readonly_fields = ["pretty_evidence"]
    show_full_result_count = False

    @admin.display(description="evidence")
    def pretty_evidence(self, obj):
        return json.dumps(obj.evidence, indent=2)


@admin.register(Alert)
class AlertAdmin(RecordAdmin):
    list_display = ["account", "firing", "owner", "status", "created_at", "decided_at"]
    list_filter = ["status"]
    raw_id_fields = ["firing", "account", "owner", "decided_by", "playbook"]
    list_select_related = ["account", "owner", "firing__trigger"]


@admin.register(RetentionForecast)
class RetentionForecastAdmin(RecordAdmin):
    list_display = [
        "month",
        "persona",
        "product",
        "alerts_raised",
        "expected_actions",
        "accounts_at_risk",
        "mrr_at_risk",
    ]
    list_filter = ["month"]
    list_select_related = ["persona", "product"]


@admin.register(WeeklyCap)
class WeeklyCapAdmin(RecordAdmin):
    """Edited in the product's configuration area (Alert volume); here for operators."""

    list_display = ["persona", "per_csm", "updated_by", "updated_at"]
    list_select_related = ["persona", "updated_by"]


CHUNK_FIELDS = [
    "index",
    "first_account_id",
    "last_account_id",
    "state",
    "attempts",
    "fired",
    "queued_at",
    "started_at",
    "lease_expires_at",
    "finished_at",
    "error",
]


class TriggerRunChunkInline(TenantInline):
    model = TriggerRunChunk
    fields = CHUNK_FIELDS
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TriggerRunChunk)
class TriggerRunChunkAdmin(RecordAdmin):
    list_display = ["run", "index", "state", "attempts", "fired", "lease_expires_at"]
    list_filter = ["state"]
    list_select_related = ["run"]
    fields = ["run", *CHUNK_FIELDS]
    readonly_fields = fields


@admin.register(TriggerRun)
class TriggerRunAdmin(RecordAdmin):
    """Each night's trigger run, read-only (written by the chain): its chunks, firings and
    what it skipped."""

    list_display = ["date", "state", "chunks_total", "fired", "problem_count", "started_at"]
    fields = [
        "date",
        "state",
        "chunks_total",
        "chunks_done",
        "chunks_failed",
        "fired",
        "started_at",
        "finished_at",
        "digest_done_at",
        "monthly_done_at",
        "problem_list",
    ]
    readonly_fields = fields
    inlines = [TriggerRunChunkInline]

    @admin.display(description=gettext_lazy("problems"))
    def problem_count(self, obj):
        return len(obj.problems)

    @admin.display(description=gettext_lazy("skipped this night"))
    def problem_list(self, obj):
        if not obj.problems:
            return gettext("Nothing: every active trigger and persona ran.")
        rows = []
        for problem in obj.problems:
            if "trigger" in problem:
                what = gettext("Trigger")
                url = reverse("admin:triggers_trigger_change", args=[problem["trigger"]])
            else:
                what = gettext("Persona")
                url = reverse("admin:accounts_persona_change", args=[problem["persona"]])
            rows.append((what, url, problem.get("name", ""), problem.get("error", "")))
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", '<li>{} <a href="{}">{}</a>: {}</li>', rows),
        )
