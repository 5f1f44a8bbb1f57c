"""Playbooks: templates with ordered steps, the playbooks CSMs work (steps, linked contacts,
outcomes) and the notifications that tell them. A task engine that knows nothing of triggers:
whatever created a playbook is recorded as its origin (a label, a reference and the evidence)."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from orgs.tenancy import TenantModel
from orgs.validators import validate_local_path


class PlaybookKind(models.TextChoices):
    EXPANSION = "expansion", gettext_lazy("Expansion")
    RETENTION = "retention", gettext_lazy("Retention")
    ONBOARDING = "onboarding", gettext_lazy("Onboarding")
    RENEWAL = "renewal", gettext_lazy("Renewal")
    CUSTOM = "custom", gettext_lazy("Custom")


class Assignee(models.TextChoices):
    OWNER = "owner", gettext_lazy("Account owner")
    MANAGER = "manager", gettext_lazy("Manager")
    # a member the template names (TemplateStep.assignee_user); the owner when they are gone
    MEMBER = "member", gettext_lazy("A named member")


class PlaybookTemplate(TenantModel):
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=12, choices=PlaybookKind.choices)
    persona = models.ForeignKey(
        "accounts.Persona", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="template_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


# A step due more than two years after its playbook opens is a typo; unbounded, a huge offset
# overflowed the date arithmetic when the playbook was created (SQLite keeps any integer).
MAX_DUE_OFFSET_DAYS = 730


class TemplateStep(TenantModel):
    template = models.ForeignKey(PlaybookTemplate, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    due_offset_days = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(MAX_DUE_OFFSET_DAYS)],
        help_text=gettext_lazy("Days after the playbook opens (at most two years)."),
    )
    assignee = models.CharField(max_length=8, choices=Assignee.choices, default=Assignee.OWNER)
    assignee_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who does the step when the assignee is a named member.",
    )

    class Meta:
        ordering = ["template", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "order"], name="templatestep_unique_order"),
            models.CheckConstraint(
                condition=Q(due_offset_days__lte=MAX_DUE_OFFSET_DAYS),
                name="templatestep_due_offset_bounded",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class PlaybookStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    COMPLETED = "completed", gettext_lazy("Completed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


class Outcome(models.TextChoices):
    # expansion
    NO_OPPORTUNITY = "no_opportunity", gettext_lazy("No opportunity")
    WON = "won", gettext_lazy("Won")
    LOST = "lost", gettext_lazy("Lost")
    # retention
    RISK_NOT_CONFIRMED = "risk_not_confirmed", gettext_lazy("Risk not confirmed")
    RETAINED = "retained", gettext_lazy("Retained (reverted)")
    CHURNED = "churned", gettext_lazy("Churned")
    # onboarding
    ACTIVATED = "activated", gettext_lazy("Activated")
    NOT_ACTIVATED = "not_activated", gettext_lazy("Not activated")
    # renewal and custom
    DONE = "done", gettext_lazy("Done")


OUTCOMES_BY_KIND = {
    PlaybookKind.EXPANSION: (Outcome.NO_OPPORTUNITY, Outcome.WON, Outcome.LOST),
    PlaybookKind.RETENTION: (Outcome.RISK_NOT_CONFIRMED, Outcome.RETAINED, Outcome.CHURNED),
    PlaybookKind.ONBOARDING: (Outcome.ACTIVATED, Outcome.NOT_ACTIVATED),
    PlaybookKind.RENEWAL: (Outcome.RETAINED, Outcome.CHURNED, Outcome.DONE),
    PlaybookKind.CUSTOM: (Outcome.DONE,),
}


class Playbook(TenantModel):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="playbooks"
    )
    template = models.ForeignKey(
        PlaybookTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="playbooks"
    )
    kind = models.CharField(max_length=12, choices=PlaybookKind.choices)
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="playbooks",
    )
    status = models.CharField(
        max_length=10, choices=PlaybookStatus.choices, default=PlaybookStatus.OPEN
    )
    opened_on = models.DateField()
    due_on = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What created it: "trigger" with the trigger's name and firing id, or "manual" with the
    # name of who started it (a name, never a sentence: the page words it in its language).
    origin = models.CharField(max_length=12, default="manual")
    origin_label = models.CharField(max_length=200, blank=True)
    origin_ref = models.BigIntegerField(null=True, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    evidence_text = models.TextField(blank=True)
    # The outcome: which one, and its details by kind.
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    opportunity_product = models.ForeignKey(
        "accounts.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expected_mrr = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    mrr_won = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    churn_reason = models.ForeignKey(
        "accounts.ChurnReason", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_notes = models.TextField(blank=True)
    is_demo = models.BooleanField(
        default=False, help_text=gettext_lazy("Simulated by the demo seed.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opened_on", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "owner", "status"], name="playbook_org_owner_status"
            ),
            models.Index(fields=["account", "status"], name="playbook_account_status"),
            models.Index(fields=["organization", "opened_on"], name="playbook_org_opened"),
            models.Index(fields=["organization", "origin_ref"], name="playbook_org_origin"),
            # the reports: playbooks closed in a period, or since their facts were refreshed
            models.Index(fields=["organization", "closed_at"], name="playbook_org_closed"),
        ]
        constraints = [
            # Two triggers (or a trigger and a CSM) never open the same template twice for
            # one account: playbooks_create_bulk joins the open one instead.
            models.UniqueConstraint(
                fields=["organization", "account", "template"],
                condition=Q(status="open") & Q(template__isnull=False),
                name="playbook_one_open_per_template",
            )
        ]

    def __str__(self) -> str:
        return self.title


class StepStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    DONE = "done", gettext_lazy("Done")
    SKIPPED = "skipped", gettext_lazy("Skipped")


class PlaybookStep(TenantModel):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    due_on = models.DateField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="playbook_steps",
    )
    status = models.CharField(max_length=8, choices=StepStatus.choices, default=StepStatus.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(blank=True)
    snoozed_reason = models.CharField(max_length=240, blank=True)
    # Bumped by every change, so an edit made on a stale page is detected, not overwritten.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["playbook", "order"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "order"], name="playbookstep_unique_order")
        ]
        indexes = [
            models.Index(
                fields=["organization", "assignee", "status", "due_on"],
                name="step_org_assignee_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class PlaybookContact(TenantModel):
    """An interaction (a logged contact) linked to the playbook it was part of."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="contacts")
    interaction = models.ForeignKey(
        "accounts.Interaction", on_delete=models.CASCADE, related_name="playbook_links"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "interaction"], name="playbookcontact_unique"
            )
        ]


class NotificationKind(models.TextChoices):
    PLAYBOOK_ASSIGNED = "playbook_assigned", gettext_lazy("Playbook assigned")
    ALERT_RAISED = "alert_raised", gettext_lazy("Alert raised")
    # For an organization's admins: the night skipped one of its triggers or personas
    # (ref: the trigger's or persona's id; raised again each night it is still broken).
    TRIGGER_PROBLEM = "trigger_problem", gettext_lazy("Trigger skipped")
    PERSONA_PROBLEM = "persona_problem", gettext_lazy("Persona not refreshed")
    # For a playbook's owner: every step is done, the outcome is still to record.
    OUTCOME_DUE = "outcome_due", gettext_lazy("All steps done: outcome to record")
    # For an organization's admins: a webhook endpoint kept failing and was switched off
    # (ref: the endpoint's id).
    WEBHOOK_DISABLED = "webhook_disabled", gettext_lazy("Webhook disabled")
    # For an organization's admins: the night failed or is late (ref: its health run's id).
    NIGHT_PROBLEM = "night_problem", gettext_lazy("Night failed or late")


class Notification(TenantModel):
    """In-app notification; the email digest sends each once (emailed_at). A digest claims
    the notifications it is about to send (digest_claimed_at) before it talks to the mail
    server, so a digest running at the same time leaves them alone."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    # What it is about: a playbook, or an alert (by id; alerts live in triggers).
    playbook = models.ForeignKey(
        Playbook, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    ref = models.BigIntegerField()
    text = models.CharField(max_length=300)
    # The text as data ({"s": msgid, "a": its values}, conditions.phrases), so it reads in
    # the reader's language whoever wrote it (the night writes in English); `text` is what
    # rows from before hold, and what is shown when a phrase no longer renders.
    phrase = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=300, blank=True, validators=[validate_local_path])
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    digest_claimed_at = models.DateTimeField(null=True, blank=True)

    @property
    def shown(self) -> str:
        """The text in the active language (its phrase), else as it was written."""
        if self.phrase:
            from conditions.phrases import render_phrase
            from orgs.formatting import localize_figure

            try:
                return render_phrase(self.phrase, localize=localize_figure)[:300]
            except Exception:  # noqa: BLE001 - a malformed phrase must not hide the list
                pass
        return self.text

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Notified once per user, kind and subject, however often the night re-runs.
            models.UniqueConstraint(fields=["user", "kind", "ref"], name="notification_once")
        ]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_user_unread"),
            models.Index(fields=["organization", "emailed_at"], name="notification_org_emailed"),
        ]
