"""Admin for health models: indicators inline, validated on save, each save a new version."""

from django import forms
from django.contrib import admin

from orgs.admin_base import RecordAdmin, TenantAdmin, TenantInline
from orgs.relations import TenantModelForm

from .measures import MEASURES
from .models import HealthModel, HealthRun, HealthRunChunk, HealthScore, Indicator
from .services import health_model_bump_version


def _measure_choices():
    return [(key, f"{m.label} ({key})") for key, m in sorted(MEASURES.items())]


class IndicatorForm(TenantModelForm):
    measure = forms.ChoiceField(choices=_measure_choices)

    class Meta:
        model = Indicator
        fields = [
            "measure",
            "window_days",
            "metric",
            "direction",
            "bad_value",
            "good_value",
            "weight",
        ]


class IndicatorInline(TenantInline):
    model = Indicator
    form = IndicatorForm


@admin.register(HealthModel)
class HealthModelAdmin(TenantAdmin):
    list_display = ["name", "persona", "red_max", "yellow_max", "version", "updated_at"]
    readonly_fields = ["version"]
    inlines = [IndicatorInline]
    raw_id_fields = ["persona"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            health_model_bump_version(model=form.instance)


@admin.register(HealthScore)
class HealthScoreAdmin(RecordAdmin):
    list_display = ["account", "date", "score", "colour", "model", "model_version"]
    list_filter = ["colour"]
    raw_id_fields = ["account", "model"]
    list_select_related = ["account", "model"]
    show_full_result_count = False
    date_hierarchy = "date"


class HealthRunChunkInline(TenantInline):
    model = HealthRunChunk
    fields = [
        "index",
        "first_account_id",
        "last_account_id",
        "state",
        "attempts",
        "accounts_scored",
        "error",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(HealthRun)
class HealthRunAdmin(RecordAdmin):
    list_display = [
        "date",
        "organization",
        "state",
        "chunks_done",
        "chunks_failed",
        "chunks_total",
        "accounts_scored",
        "started_at",
        "finished_at",
    ]
    list_filter = ["state"]
    inlines = [HealthRunChunkInline]


class IndicatorAdminForm(IndicatorForm):
    """An indicator on its own page names its model (in the model's page it is implied)."""

    class Meta(IndicatorForm.Meta):
        fields = ["organization", "model", *IndicatorForm.Meta.fields]


@admin.register(Indicator)
class IndicatorAdmin(TenantAdmin):
    form = IndicatorAdminForm
    list_display = ["model", "measure", "window_days", "metric", "direction", "weight"]
    list_filter = ["measure"]
    list_select_related = ["model"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        health_model_bump_version(model=obj.model)


@admin.register(HealthRunChunk)
class HealthRunChunkAdmin(RecordAdmin):
    list_display = ["run", "index", "state", "attempts", "accounts_scored", "finished_at"]
    list_filter = ["state"]
    list_select_related = ["run"]
