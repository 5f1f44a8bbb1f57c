"""Admin for survey campaigns and their invitations (campaigns are defined in the
configuration area; the admin is the superuser's and the operators' view)."""

from django.contrib import admin

from orgs.admin_base import TenantAdmin

from .models import SurveyCampaign, SurveyInvitation


@admin.register(SurveyCampaign)
class SurveyCampaignAdmin(TenantAdmin):
    list_display = ["name", "kind", "cadence", "days", "is_active"]
    list_filter = ["kind", "cadence", "is_active"]
    raw_id_fields = ["persona", "followup_template"]


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(TenantAdmin):
    list_display = ["campaign", "contact", "account", "period", "sent_at", "answered_at"]
    list_filter = ["campaign"]
    raw_id_fields = ["campaign", "contact", "account", "response"]
    readonly_fields = ["sent_at", "answered_at", "response"]
