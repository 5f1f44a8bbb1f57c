"""The configuration area: triggers and their drafts, dry runs, backtests, personas, members
and playbook templates."""

from django.urls import path

from . import health_views, lifecycle_views, version_views, views
from .members import views as members
from .playbook_templates import views as templates
from .surveys import views as surveys

app_name = "configuration"

urlpatterns = [
    path("", views.home, name="home"),
    path("triggers/", views.trigger_list, name="triggers"),
    path("triggers/new/", views.trigger_new, name="trigger_new"),
    path("triggers/<int:pk>/", views.trigger_detail, name="trigger"),
    path("triggers/<int:pk>/edit/", views.trigger_edit, name="trigger_edit"),
    path("triggers/<int:pk>/history/", version_views.trigger_history, name="trigger_history"),
    path(
        "triggers/<int:pk>/versions/<int:version>/restore/",
        version_views.trigger_version_restore,
        name="trigger_version_restore",
    ),
    path("triggers/<int:pk>/pause/", version_views.trigger_pause_view, name="trigger_pause"),
    path("drafts/<int:pk>/", views.draft_edit, name="draft"),
    path("drafts/<int:pk>/publish/", views.draft_publish, name="draft_publish"),
    path("drafts/<int:pk>/discard/", views.draft_discard, name="draft_discard"),
    path("drafts/<int:pk>/dry-run/", views.dry_run, {"kind": "draft"}, name="draft_dry_run"),
    path("drafts/<int:pk>/backtest/", views.backtest, {"kind": "draft"}, name="draft_backtest"),
    path("triggers/<int:pk>/dry-run/", views.dry_run, {"kind": "trigger"}, name="dry_run"),
    path("triggers/<int:pk>/backtest/", views.backtest, {"kind": "trigger"}, name="backtest"),
    path("personas/", views.persona_list, name="personas"),
    path("personas/new/", views.persona_new, name="persona_new"),
    path("personas/<int:pk>/", views.persona_edit, name="persona"),
    path("alert-volume/", views.caps, name="caps"),
    path("lifecycle/", lifecycle_views.lifecycle, name="lifecycle"),
    path("lifecycle/triggers/", lifecycle_views.lifecycle_triggers, name="lifecycle_triggers"),
    path("lifecycle/<slug:rule>/", lifecycle_views.lifecycle_rule, name="lifecycle_rule"),
    path("personas/<int:pk>/history/", version_views.persona_history, name="persona_history"),
    path(
        "personas/<int:pk>/versions/<int:version>/restore/",
        version_views.persona_version_restore,
        name="persona_version_restore",
    ),
    path("personas/drafts/<int:pk>/", views.persona_draft_edit, name="persona_draft"),
    path(
        "personas/drafts/<int:pk>/publish/",
        version_views.persona_draft_publish_view,
        name="persona_draft_publish",
    ),
    path(
        "personas/drafts/<int:pk>/discard/",
        version_views.persona_draft_discard_view,
        name="persona_draft_discard",
    ),
    path("health-models/", health_views.health_model_list, name="health_models"),
    path("health-models/<int:pk>/", health_views.health_model_edit, name="health_model"),
    path(
        "health-models/<int:pk>/preview/",
        health_views.health_model_preview,
        name="health_model_preview",
    ),
    path(
        "health-models/<int:pk>/preview/accounts/",
        health_views.health_model_preview_accounts,
        name="health_model_preview_accounts",
    ),
    path(
        "health-models/<int:pk>/publish/",
        health_views.health_model_publish,
        name="health_model_publish",
    ),
    path(
        "health-models/<int:pk>/discard/",
        health_views.health_model_discard,
        name="health_model_discard",
    ),
    path(
        "health-models/<int:pk>/history/",
        health_views.health_model_history,
        name="health_model_history",
    ),
    path(
        "health-models/<int:pk>/versions/<int:version>/restore/",
        health_views.health_version_restore,
        name="health_version_restore",
    ),
    path(
        "health-models/<int:pk>/use-weights/",
        health_views.health_model_use_weights,
        name="health_model_use_weights",
    ),
    path("members/", members.member_list, name="members"),
    path("members/add/", members.member_add, name="member_add"),
    path("members/<int:pk>/", members.member_detail, name="member"),
    path("members/<int:pk>/deactivate/", members.member_deactivate, name="member_deactivate"),
    path("members/<int:pk>/reactivate/", members.member_reactivate, name="member_reactivate"),
    path(
        "members/<int:pk>/password-reset/",
        members.member_password_reset,
        name="member_password_reset",
    ),
    path("templates/", templates.template_list, name="templates"),
    path("templates/new/", templates.template_new, name="template_new"),
    path("templates/<int:pk>/", templates.template_edit, name="template"),
    path("surveys/", surveys.survey_list, name="surveys"),
    path("surveys/new/", surveys.survey_new, name="survey_new"),
    path("surveys/<int:pk>/", surveys.survey_edit, name="survey"),
]
