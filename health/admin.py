"""Admin for health models: indicators inline, validated on save and written through the
health services, which decide the version (health_model_create, health_model_update,
indicator_save, indicators_delete)."""

from django import forms
from django.contrib import admin

from orgs.admin_base import RecordAdmin, TenantAdmin, TenantInline
from orgs.relations import TenantModelForm

from .measures import MEASURES
from .models import (
    CsmJudgement,
    DisagreementResolution,
    FitnessSnapshot,
    HealthModel,
    HealthModelVersion,
    HealthRun,
    HealthRunChunk,
    HealthScore,
    Indicator,
    ScoreLayout,
)
from .services import (
    HEALTH_MODEL_EDITABLE_FIELDS,
    INDICATOR_EDITABLE_FIELDS,
    INDICATOR_SETTINGS,
    IndicatorChanges,
    health_model_create,
    health_model_update,
    indicator_save,
    indicators_delete,
)


def _measure_choices():
    return [(key, f"{m.label} ({key})") for key, m in sorted(MEASURES.items())]


class IndicatorForm(TenantModelForm):
    measure = forms.ChoiceField(choices=_measure_choices)

    class Meta:
        model = Indicator
        fields = list(INDICATOR_SETTINGS)


class IndicatorInline(TenantInline):
    model = Indicator
    form = IndicatorForm


@admin.register(HealthModel)
class HealthModelAdmin(TenantAdmin):
    list_display = ["name", "persona", "red_max", "yellow_max", "version", "updated_at"]
    readonly_fields = ["version"]
    inlines = [IndicatorInline]
    raw_id_fields = ["persona"]

    def save_model(self, request, obj, form, change):
        """Nothing yet: the model and its inline indicators are one change, written together
        (one version) by save_related."""
        self.assign_organization(request, obj, change)

    def save_related(self, request, form, formsets, change):
        saved, deleted = [], []
        for formset in formsets:  # the indicators inline; commit=False: the service writes
            saved += formset.save(commit=False)
            deleted += formset.deleted_objects
        if change:
            data = {
                name: form.cleaned_data[name]
                for name in HEALTH_MODEL_EDITABLE_FIELDS
                if name in form.cleaned_data
            }
            changes = IndicatorChanges(saved=saved, deleted=deleted)
            health_model_update(
                model=form.instance, data=data, indicators=changes, acting_user=request.user
            )
        else:
            health_model_create(model=form.instance, indicators=saved, acting_user=request.user)
        form.save_m2m()


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
        "queued_at",
        "started_at",
        "lease_expires_at",
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
        fields = ["organization", *INDICATOR_EDITABLE_FIELDS]


@admin.register(Indicator)
class IndicatorAdmin(TenantAdmin):
    form = IndicatorAdminForm
    list_display = ["model", "measure", "window_days", "metric", "direction", "weight"]
    list_filter = ["measure"]
    list_select_related = ["model"]

    def save_model(self, request, obj, form, change):
        self.assign_organization(request, obj, change)
        indicator_save(indicator=obj, acting_user=request.user)

    def delete_model(self, request, obj):
        indicators_delete(indicators=[obj], acting_user=request.user)

    def delete_queryset(self, request, queryset):
        indicators_delete(indicators=list(queryset), acting_user=request.user)


@admin.register(HealthRunChunk)
class HealthRunChunkAdmin(RecordAdmin):
    list_display = ["run", "index", "state", "attempts", "accounts_scored", "finished_at"]
    list_filter = ["state"]
    list_select_related = ["run"]


# Judgements, resolutions and fitness snapshots are written by health's services (the card,
# the disagreement queue, the background task); the admin reads them.


@admin.register(CsmJudgement)
class CsmJudgementAdmin(RecordAdmin):
    list_display = ["account", "colour", "sentiment", "set_on", "expires_on", "set_by"]
    list_filter = ["colour"]
    raw_id_fields = ["account", "set_by"]
    list_select_related = ["account", "set_by"]


@admin.register(DisagreementResolution)
class DisagreementResolutionAdmin(RecordAdmin):
    list_display = ["account", "decision", "csm_colour", "model_colour", "days", "resolved_at"]
    list_filter = ["decision"]
    raw_id_fields = ["account", "judgement", "model", "resolved_by"]
    list_select_related = ["account"]


@admin.register(FitnessSnapshot)
class FitnessSnapshotAdmin(RecordAdmin):
    list_display = ["model", "model_version", "day", "kind", "lead", "state", "seconds"]
    list_filter = ["kind", "state"]
    list_select_related = ["model"]


@admin.register(ScoreLayout)
class ScoreLayoutAdmin(RecordAdmin):
    """The indicator order and weights compact score rows store their arrays in."""

    list_display = ["digest", "__str__"]
    search_fields = ["digest"]


@admin.register(HealthModelVersion)
class HealthModelVersionAdmin(RecordAdmin):
    list_display = ["model", "version", "created_by", "created_at"]
    raw_id_fields = ["model", "created_by"]
    list_select_related = ["model", "created_by"]
