"""The journey's forms: the goal of the purchase on an account, and the organization's days
and welcome text (Configuration → Lifecycle). Neither takes a relation: the account comes
from the URL, through its organization's scope."""

from django import forms
from django.utils.translation import gettext_lazy as _

from orgs.relations import TenantForm, TenantModelForm

from .models import LifecycleSettings


class PurchaseGoalForm(TenantForm):
    text = forms.CharField(
        label=_("Goal of the purchase"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the customer bought the product for, in their words."),
    )


class LifecycleSettingsForm(TenantModelForm):
    class Meta:
        model = LifecycleSettings
        fields = ["onboarding_days", "renewal_days", "activation_due_days", "welcome_text"]
        widgets = {"welcome_text": forms.Textarea(attrs={"rows": 6})}
