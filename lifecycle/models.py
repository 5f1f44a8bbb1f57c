"""The journey's configuration per organization (stage rules, activation, the days that
bound them, the welcome mail's text) and the goal of the purchase recorded on an account.
The stage moves themselves are accounts.LifecycleChange rows, the activation date is
accounts.Account.activated_on: surveys and reports read them too."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from orgs.tenancy import TenantModel


class LifecycleSettings(TenantModel):
    """One per organization. A stage rule or the activation condition left empty is the
    default built from the days below (lifecycle/rules.py), so changing "N" moves it."""

    onboarding_days = models.PositiveSmallIntegerField(
        _("onboarding lasts (days after the first subscription)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    renewal_days = models.PositiveSmallIntegerField(
        _("renewal starts (days before the renewal date)"),
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    activation_due_days = models.PositiveSmallIntegerField(
        _("activation expected by (days after the first subscription)"),
        default=45,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
    )
    # {"onboarding": tree, "renewal": tree, "adoption": tree}: a missing stage uses its default
    rules = models.JSONField(default=dict, blank=True)
    activation = models.JSONField(default=dict, blank=True)  # {} = the default condition
    welcome_text = models.TextField(
        _("welcome mail"),
        blank=True,
        help_text=_(
            "Your own first steps and links; the onboarding playbook's mail step quotes it."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lifecycle settings")
        verbose_name_plural = _("lifecycle settings")
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="lifecyclesettings_one_per_org")
        ]

    def __str__(self) -> str:
        return f"lifecycle settings of {self.organization_id}"


class PurchaseGoal(TenantModel):
    """What the customer bought the product for, in their words, asked in the welcome call:
    its own row (not the notes) so the first-value check can look for it, it says who
    recorded it and when, and reports can count accounts without one."""

    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, related_name="purchase_goal"
    )
    text = models.TextField(_("goal of the purchase"), max_length=2000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_on = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"goal of {self.account_id}"
