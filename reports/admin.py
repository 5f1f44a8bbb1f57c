"""Admin for reports: the organization's goals (reversal and coverage, with a coverage goal
per persona inline), and the nightly facts, read-only (written by the chain)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy

from orgs.admin_base import TenantAdmin, TenantInline
from orgs.relations import TenantModelForm

from .models import (
    AccountStart,
    AccountStartState,
    ChurnProductMonth,
    CoverageGoal,
    EffectMonth,
    EffectMonthState,
    FactRefresh,
    HealthBaseline,
    LedgerAccount,
    LedgerCell,
    LedgerCubeState,
    LedgerTotal,
    MrrMonth,
    MrrMonthState,
    PlaybookEffect,
    PortfolioDay,
    ReportSettings,
    RetentionAlarmMonth,
    RetentionNetMonth,
    RiskDay,
    TriggerDay,
    TriggerOutcomeDay,
    TriggerSpan,
)


class ReportSettingsForm(TenantModelForm):
    class Meta:
        model = ReportSettings
        fields = [
            "organization",  # a superuser's choice; excluded for an organization's admin
            "reversal_goal_pct",
            "coverage_days",
            "coverage_goal_pct",
            "activity_metric",
            "activity_min_days",
        ]


class CoverageGoalForm(TenantModelForm):
    class Meta:
        model = CoverageGoal
        fields = ["persona", "goal_pct"]


class CoverageGoalInline(TenantInline):
    model = CoverageGoal
    form = CoverageGoalForm
    verbose_name_plural = gettext_lazy("coverage goal per persona")


@admin.register(ReportSettings)
class ReportSettingsAdmin(TenantAdmin):
    form = ReportSettingsForm
    list_display = ["__str__", "reversal_goal_pct", "coverage_days", "coverage_goal_pct"]
    inlines = [CoverageGoalInline]


class CoverageGoalAdminForm(TenantModelForm):
    """A coverage goal on its own page names its settings (inline they are implied)."""

    class Meta:
        model = CoverageGoal
        fields = ["organization", "settings", "persona", "goal_pct"]


@admin.register(CoverageGoal)
class CoverageGoalAdmin(TenantAdmin):
    form = CoverageGoalAdminForm
    list_display = ["persona", "goal_pct"]
    raw_id_fields = ["persona"]


class _ReadOnlyFacts(TenantAdmin):
    """Facts are the nightly record: read-only here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FactRefresh)
class FactRefreshAdmin(_ReadOnlyFacts):
    list_display = ["date", "finished_at", "seconds", "cells", "triggers_through"]


@admin.register(PortfolioDay)
class PortfolioDayAdmin(_ReadOnlyFacts):
    list_display = [
        "date",
        "persona_key",
        "owner_key",
        "tier",
        "touch_model",
        "colour",
        "customers",
        "mrr",
    ]
    list_filter = ["date"]
    show_full_result_count = False


@admin.register(HealthBaseline)
class HealthBaselineAdmin(_ReadOnlyFacts):
    list_display = ["week", "horizon", "persona_key", "colour", "accounts", "change_sum"]
    list_filter = ["horizon"]


@admin.register(PlaybookEffect)
class PlaybookEffectAdmin(_ReadOnlyFacts):
    list_display = ["playbook", "closed_on", "colour", "score_at_close", "score_30", "score_90"]
    raw_id_fields = ["playbook", "account"]
    show_full_result_count = False


@admin.register(RiskDay)
class RiskDayAdmin(_ReadOnlyFacts):
    list_display = ["date", "persona_key", "owner_key", "customers", "at_risk", "renewing"]
    list_filter = ["date"]


@admin.register(TriggerDay)
class TriggerDayAdmin(_ReadOnlyFacts):
    list_display = ["date", "trigger_id", "trigger_version", "firings", "playbooks", "successes"]
    list_filter = ["date"]
    show_full_result_count = False


@admin.register(TriggerOutcomeDay)
class TriggerOutcomeDayAdmin(_ReadOnlyFacts):
    list_display = ["date", "trigger_id", "trigger_version", "days", "firings"]
    show_full_result_count = False


@admin.register(TriggerSpan)
class TriggerSpanAdmin(_ReadOnlyFacts):
    list_display = ["playbook_id"]


@admin.register(LedgerTotal)
class LedgerTotalAdmin(_ReadOnlyFacts):
    list_display = ["date_from", "date_to", "movements", "last_movement"]


@admin.register(MrrMonth)
class MrrMonthAdmin(_ReadOnlyFacts):
    list_display = ["account_id", "month", "net", "mrr_end", "latest"]
    show_full_result_count = False


@admin.register(MrrMonthState)
class MrrMonthStateAdmin(_ReadOnlyFacts):
    list_display = ["movements", "last_movement", "refreshed_at"]


@admin.register(EffectMonth)
class EffectMonthAdmin(_ReadOnlyFacts):
    list_display = ["month", "template_key", "kind", "product_key", "days", "closed", "won"]
    list_filter = ["kind"]
    show_full_result_count = False


@admin.register(EffectMonthState)
class EffectMonthStateAdmin(_ReadOnlyFacts):
    list_display = ["__str__", "cut", "refreshed_at"]


@admin.register(RetentionAlarmMonth)
class RetentionAlarmMonthAdmin(_ReadOnlyFacts):
    list_display = ["month", "raised", "completed", "accounts"]


@admin.register(RetentionNetMonth)
class RetentionNetMonthAdmin(_ReadOnlyFacts):
    list_display = ["month", "through", "retained", "churned", "not_confirmed"]


@admin.register(ChurnProductMonth)
class ChurnProductMonthAdmin(_ReadOnlyFacts):
    list_display = ["month", "account_id", "product_key"]
    show_full_result_count = False


@admin.register(LedgerCell)
class LedgerCellAdmin(_ReadOnlyFacts):
    list_display = ["date_from", "date_to", "persona_key", "tier", "owner_key", "product_key"]
    show_full_result_count = False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(_ReadOnlyFacts):
    list_display = ["account_id", "persona_key", "tier", "touch_model", "owner_key"]
    show_full_result_count = False


@admin.register(LedgerCubeState)
class LedgerCubeStateAdmin(_ReadOnlyFacts):
    list_display = ["movements", "last_movement", "refreshed_at"]


@admin.register(AccountStart)
class AccountStartAdmin(_ReadOnlyFacts):
    list_display = ["account_id", "first_start"]
    show_full_result_count = False


@admin.register(AccountStartState)
class AccountStartStateAdmin(_ReadOnlyFacts):
    list_display = ["subscriptions_to", "refreshed_at"]
