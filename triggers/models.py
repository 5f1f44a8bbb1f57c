"""Triggers: rules per persona that fire after the nightly scoring (or on day 1 of the month),
their firings with the evidence, the alerts CSMs decide on, and the monthly forecast."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from health.models import RunState
from orgs.tenancy import TenantModel
from playbooks.models import PlaybookKind


class Schedule(models.TextChoices):
    NIGHTLY = "nightly", _("Nightly, after scoring")
    MONTHLY = "monthly", _("Monthly, on day 1")


class Action(models.TextChoices):
    PLAYBOOK = "playbook", _("Create the playbook at once")
    ALERT = "alert", _("Raise an alert the CSM confirms")


class Trigger(TenantModel):
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=12, choices=PlaybookKind.choices)
    persona = models.ForeignKey(
        "accounts.Persona",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="triggers",
        help_text=_("Empty: accounts of every persona."),
    )
    product = models.ForeignKey(
        "accounts.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="triggers",
        help_text=_("For expansion: the product to offer (accounts holding it never fire)."),
    )
    condition = models.JSONField(help_text=_("Condition tree (see the condition language)."))
    schedule = models.CharField(max_length=8, choices=Schedule.choices, default=Schedule.NIGHTLY)
    cooldown_days = models.PositiveIntegerField(
        default=30, help_text=_("No refire for an account within this many days.")
    )
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.PLAYBOOK)
    template = models.ForeignKey(
        "playbooks.PlaybookTemplate", on_delete=models.PROTECT, related_name="triggers"
    )
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="trigger_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        from .fields import validate_condition

        errors = {}
        try:
            # None: the form's field already refused what was typed (or the null check of
            # clean_fields will), so a second "the condition is empty" would be false
            if self.condition is not None:
                validate_condition(self.condition)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if self.template_id and self.template.kind != self.kind:
            errors["template"] = (
                f"the template makes {self.template.kind} playbooks; this trigger is {self.kind}"
            )
        if errors:
            raise ValidationError(errors)


class FiringQueue(models.TextChoices):
    """Where a firing stands against the weekly per-CSM cap (triggers/caps.py)."""

    NONE = "", "Not capped: materialized at once"
    QUEUED = "queued", "Waiting for the CSM's capacity"
    RELEASED = "released", "Released from the queue"
    DROPPED = "dropped", "Dropped from the queue (no longer matched)"
    EXPIRED = "expired", "Expired: waited in the queue longer than TRIGGER_QUEUE_EXPIRY_DAYS"


class TriggerVersion(TenantModel):
    """One published version of a trigger, written once in the transaction that publishes it
    (trigger_create: version 1; trigger_update: each change to a versioned field) and never
    changed: `fields` is the snapshot of what fired at that version (TRIGGER_SNAPSHOT_FIELDS,
    relations by id), `changed` the names whose value differs from the previous version."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    fields = models.JSONField()
    changed = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["trigger", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["trigger", "version"], name="triggerversion_unique")
        ]

    def __str__(self) -> str:
        return f"{self.trigger_id} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("a trigger version is immutable: publish a new one")
        super().save(*args, **kwargs)


class TriggerSwitch(TenantModel):
    """A trigger paused (is_active off) or resumed: who, when. Not a version: the same rule
    fires the same way once resumed."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="switches")
    is_active = models.BooleanField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["trigger", "-created_at", "-pk"]


class Firing(TenantModel):
    """A trigger that fired for an account in a period (the day for nightly triggers, the
    first of the month for monthly ones). Unique per trigger, account and period: a night
    re-run, or run twice at once, fires at most once."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="firings")
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="firings"
    )
    period = models.DateField()
    fired_on = models.DateField()
    trigger_version = models.PositiveIntegerField(default=1)
    evidence = models.JSONField(default=dict)
    evidence_text = models.TextField(blank=True)
    playbook = models.ForeignKey(
        "playbooks.Playbook", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The weekly cap: a capped firing is queued until its owner has capacity (each night its
    # trigger no longer matches the account drops it); `delivered_on` is the night whose run
    # created its playbook or alert (what a week's capacity is counted from).
    queue_state = models.CharField(
        max_length=8, choices=FiringQueue.choices, default=FiringQueue.NONE, blank=True
    )
    delivered_on = models.DateField(null=True, blank=True)
    # when the release gave a queued firing its playbook or alert (the reports' facts of its
    # day are read again from then on)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fired_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["trigger", "account", "period"], name="firing_once_per_period"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "fired_on"], name="firing_org_fired"),
            models.Index(fields=["account", "fired_on"], name="firing_account_fired"),
            models.Index(fields=["trigger", "account", "fired_on"], name="firing_cooldown"),
            # the reports: the firings written since their facts were refreshed
            models.Index(fields=["organization", "created_at"], name="firing_org_created"),
            # the cap: a week's deliveries per owner, and the queue
            models.Index(fields=["organization", "delivered_on"], name="firing_org_delivered"),
            models.Index(fields=["organization", "released_at"], name="firing_org_released"),
            models.Index(
                fields=["organization", "trigger"],
                condition=Q(queue_state="queued"),
                name="firing_queued",
            ),
        ]


class WeeklyCap(TenantModel):
    """The most new playbooks and alerts a CSM receives from the triggers in a week (Monday
    to Sunday). The row without a persona is the organization's (no row: DEFAULT_WEEKLY_CAP);
    a persona's row gives its triggers their own budget per CSM. An empty cap: no cap."""

    persona = models.ForeignKey(
        "accounts.Persona", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    per_csm = models.PositiveIntegerField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["persona__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "persona"], name="weeklycap_unique", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"weekly cap {self.per_csm} ({self.persona or 'organization'})"


class AlertStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class Alert(TenantModel):
    """A firing whose trigger asks the CSM first: confirmed, it becomes the playbook."""

    firing = models.OneToOneField(Firing, on_delete=models.CASCADE, related_name="alert")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="alerts")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    status = models.CharField(
        max_length=10, choices=AlertStatus.choices, default=AlertStatus.PENDING
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismiss_reason = models.CharField(max_length=240, blank=True)
    playbook = models.ForeignKey(
        "playbooks.Playbook", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "owner", "status"], name="alert_org_owner_status"),
            # the reports: the alerts decided since their facts were refreshed
            models.Index(fields=["organization", "decided_at"], name="alert_org_decided"),
            # My Work: a CSM's pending alerts, newest first, without scanning the firings.
            models.Index(
                fields=["organization", "owner", "-created_at", "-id"],
                condition=Q(status="pending"),
                name="alert_owner_pending_recent",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(dismiss_reason=""),
                name="alert_dismiss_needs_reason",
            )
        ]


class RetentionForecast(TenantModel):
    """The month's expected retention actions per persona and product (day-1 run)."""

    month = models.DateField(help_text=_("The first day of the month."))
    persona = models.ForeignKey(
        "accounts.Persona", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    product = models.ForeignKey(
        "accounts.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    alerts_raised = models.PositiveIntegerField(default=0)
    expected_actions = models.PositiveIntegerField(default=0)
    accounts_at_risk = models.PositiveIntegerField(default=0)
    mrr_at_risk = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "persona", "product"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month", "persona", "product"],
                name="forecast_unique_cell",
                nulls_distinct=False,
            )
        ]


class TriggerRun(TenantModel):
    """One organization's nightly trigger evaluation for one day; unique, so the chain starts
    once per night. `chunks_done` lists chunk indexes (a redelivered chunk counts once).
    `problems` lists what the night skipped and why, once each: {"trigger": id, "name",
    "error"} for a trigger, {"persona": id, "name", "error"} for a persona whose rules fail.

    A chained run (queued by the nightly chain, not run in the foreground) is owed, once its
    chunks are all closed, the digest and on day 1 the monthly run: `digest_done_at` and
    `monthly_done_at` stay empty until they are done, so the sweeper sends what is owed."""

    date = models.DateField()
    state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.RUNNING)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.JSONField(default=list)
    chunks_failed = models.PositiveIntegerField(default=0)
    fired = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    chained = models.BooleanField(default=False)
    digest_done_at = models.DateTimeField(null=True, blank=True)
    monthly_done_at = models.DateTimeField(null=True, blank=True)
    # What the sweeper repaired on this run: [{"at": iso, "action": str, "detail": str}].
    repairs = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "date"], name="triggerrun_unique_day")
        ]

    def __str__(self) -> str:
        return f"trigger run {self.date} ({self.state})"

    @property
    def monthly_owed(self) -> bool:
        return self.date.day == 1


class TriggerRunChunk(TenantModel):
    """A range of account ids one worker evaluates the night's triggers for (the health run's
    chunk bounds). The same lease fields as health's chunks, read by the same sweeper."""

    run = models.ForeignKey(TriggerRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_account_id = models.BigIntegerField()
    last_account_id = models.BigIntegerField()
    state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.RUNNING)
    attempts = models.PositiveSmallIntegerField(default=0)
    fired = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="triggerrunchunk_unique_index")
        ]
        indexes = [
            models.Index(
                fields=["queued_at"], condition=Q(state="running"), name="triggerrunchunk_open"
            )
        ]
