"""Survey campaigns (who is asked what, when, in which words) and the invitations they send:
one per campaign, contact and period, answered at most once; the answer itself is an
accounts.SurveyResponse, the row health already reads."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import SurveyKind
from orgs.tenancy import TenantModel


class Cadence(models.TextChoices):
    EVERY = "every", _("Every N days per contact")
    AFTER_PLAYBOOK = "after_playbook", _("N days after a playbook closes")
    AFTER_ONBOARDING = "after_onboarding", _("N days after onboarding ends")


# The days an event-driven campaign still catches up on: a contact whose playbook closed (or
# whose onboarding ended) N to N + CATCH_UP_DAYS - 1 days ago is due, so a day the sending
# did not run loses nobody, and an old event never brings a survey out of nowhere.
CATCH_UP_DAYS = 7
MAX_DAYS = 730


class SurveyCampaign(TenantModel):
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=4, choices=SurveyKind.choices, default=SurveyKind.NPS)
    # Who: the accounts of one persona (none: every persona), in these lifecycle stages and
    # these contact roles (empty lists: every stage, every role). Consent is always required.
    persona = models.ForeignKey(
        "accounts.Persona", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifecycle_stages = models.JSONField(default=list, blank=True)
    contact_roles = models.JSONField(default=list, blank=True)
    # When: every `days` days per contact, or `days` after a playbook closes / onboarding ends.
    cadence = models.CharField(max_length=16, choices=Cadence.choices, default=Cadence.EVERY)
    days = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(MAX_DAYS)]
    )
    # The words: {language: {"subject": ..., "body": ...}} for the languages of
    # settings.LANGUAGES; a contact reads their organization's language, else the first.
    messages = models.JSONField(default=dict, blank=True)
    # How long an invitation's link answers.
    link_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    # What a detractor (NPS 0-6) or a low CSAT (1-2) opens for the account's owner.
    followup_template = models.ForeignKey(
        "playbooks.PlaybookTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="surveycampaign_name"),
            models.CheckConstraint(
                condition=Q(days__gte=1) & Q(days__lte=MAX_DAYS), name="surveycampaign_days"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SurveyInvitation(TenantModel):
    """One email asking one contact: its link is the invitation's id signed (surveys/links.py),
    valid until `expires_at`, answered once. `period` says what it was sent for (the day of
    an "every N days" campaign, "playbook:<id>", "onboarding:<day>"), so a re-run sends
    nothing twice."""

    campaign = models.ForeignKey(
        SurveyCampaign, on_delete=models.CASCADE, related_name="invitations"
    )
    contact = models.ForeignKey(
        "accounts.Contact", on_delete=models.CASCADE, related_name="survey_invitations"
    )
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="survey_invitations"
    )
    period = models.CharField(max_length=40)
    language = models.CharField(max_length=10, blank=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    response = models.OneToOneField(
        "accounts.SurveyResponse",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitation",
    )

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "campaign", "contact", "period"],
                name="surveyinvitation_once_per_period",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "campaign", "contact", "sent_at"],
                name="surveyinv_campaign_contact",
            ),
            models.Index(fields=["organization", "sent_at"], name="surveyinv_org_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.contact_id} ({self.period})"
