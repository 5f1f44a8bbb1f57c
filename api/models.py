"""Data in and out: API tokens, idempotency records, CSV imports (their file, mapping and
report), outgoing webhooks with their deliveries, and the audit of data-protection actions."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orgs.tenancy import TenantModel


class TokenScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


class ApiToken(TenantModel):
    """A secret an integration sends as `Authorization: Bearer <token>`. Only its SHA-256 is
    stored (the token is shown once, when created); `prefix` is its first characters, so a
    list can tell tokens apart. It acts for its organization alone."""

    name = models.CharField(_("name"), max_length=120)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(
        _("scope"), max_length=8, choices=TokenScope.choices, default=TokenScope.READ
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE


class IdempotencyRecord(TenantModel):
    """The answer to a POST sent with an `Idempotency-Key`: a retry with the same key and body
    gets the same answer, and the work is done once. Kept for a day."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_unique_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", _("Accounts")
    CONTACTS = "contacts", _("Contacts")
    SUBSCRIPTIONS = "subscriptions", _("Subscriptions")
    USAGE = "usage", _("Usage metrics")
    TICKETS = "tickets", _("Support tickets")
    INVOICES = "invoices", _("Invoices")
    SURVEYS = "surveys", _("Survey answers")
    INTERACTIONS = "interactions", _("Interactions")


class ImportMapping(TenantModel):
    """Which column of a file feeds which field, saved per organization and kind for the
    next file of the same shape: {"columns": {header: field}, plus the file's format}."""

    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    name = models.CharField(_("name"), max_length=80)
    columns = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "name"], name="importmapping_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded: map the columns")
    VALIDATING = "validating", _("Checking every row")
    INVALID = "invalid", _("Rows to fix: nothing was imported")
    VALID = "valid", _("Every row is valid: ready to import")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed: nothing was imported")


class ImportJob(TenantModel):
    """One uploaded CSV file on its way in: its detected format, the column mapping, the
    check of every row (errors by row and column), and what the import did."""

    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    encoding = models.CharField(max_length=16, default="utf-8")
    delimiter = models.CharField(max_length=2, default=",")
    decimal = models.CharField(max_length=1, default=".")
    date_order = models.CharField(max_length=4, default="dmy")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    state = models.CharField(max_length=12, choices=ImportState.choices, default="uploaded")
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    # [[row, column, message], ...], the first IMPORT_ERRORS_KEPT; error_count counts all.
    errors = models.JSONField(default=list)
    error_count = models.PositiveIntegerField(default=0)
    rejected_rows = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.filename

    @property
    def progress_pct(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, round(100 * self.rows_done / self.rows_total))

    @property
    def is_running(self) -> bool:
        return self.state in (ImportState.VALIDATING, ImportState.IMPORTING)


class ImportFilePart(TenantModel):
    """The uploaded file, in parts of at most 1 MiB, kept in the database so any worker (on
    any machine) reads it, streaming, without a shared disk."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="importfilepart_unique_index")
        ]


class WebhookEvent(models.TextChoices):
    FIRING_CREATED = "firing.created", _("A trigger fired")
    ALERT_DECIDED = "alert.decided", _("An alert was confirmed or dismissed")
    PLAYBOOK_CREATED = "playbook.created", _("A playbook was created")
    PLAYBOOK_CLOSED = "playbook.closed", _("A playbook was closed")
    PLAYBOOK_REASSIGNED = "playbook.reassigned", _("A playbook changed owner")
    HEALTH_COLOUR_CHANGED = "health.colour_changed", _("An account's health changed colour")


class WebhookEndpoint(TenantModel):
    """An HTTPS address an admin registered for some events. Each delivery is signed with
    `secret` (HMAC-SHA256 of "<timestamp>.<body>"); after WEBHOOK_DISABLE_AFTER failed
    deliveries in a row the endpoint is disabled and the admins are told."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(max_length=80)
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url", "pk"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RETRYING = "retrying", _("Failed, will retry")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(TenantModel):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_recent"),
            models.Index(
                fields=["organization", "status"],
                condition=Q(status__in=["pending", "retrying"]),
                name="delivery_org_unfinished",
            ),
        ]


class DataAudit(TenantModel):
    """Who did what with the organization's data: exports, erasures, tokens, webhooks."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    subject = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["organization", "-at"], name="dataaudit_org_recent")]
