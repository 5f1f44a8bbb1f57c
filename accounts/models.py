"""The customer portfolio: accounts (customer companies), their contacts, products and
subscriptions, personas, and the raw signals that health scoring reads."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orgs.tenancy import TenantModel


class Tier(models.TextChoices):
    DIAMOND = "diamond", _("Diamond")
    PLATINUM = "platinum", _("Platinum")
    GOLD = "gold", _("Gold")
    SILVER = "silver", _("Silver")
    BRONZE = "bronze", _("Bronze")


class TouchModel(models.TextChoices):
    HIGH = "high", _("High touch")
    MID = "mid", _("Mid touch")
    LOW = "low", _("Low touch")
    TECH = "tech", _("Tech touch")


class LifecycleStage(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    ADOPTION = "adoption", _("Adoption")
    ONGOING = "ongoing", _("Ongoing")
    RENEWAL = "renewal", _("Renewal")
    CHURNED = "churned", _("Churned")


class SizeBand(models.TextChoices):
    MICRO = "1-10", _("1-10 employees")
    SMALL = "11-50", _("11-50 employees")
    MEDIUM = "51-200", _("51-200 employees")
    LARGE = "201-1000", _("201-1000 employees")
    ENTERPRISE = "1000+", _("1000+ employees")


def _external_id_unique(model: str) -> models.UniqueConstraint:
    """External ids (the key integrations upsert by) are unique per organization when set."""
    return models.UniqueConstraint(
        fields=["organization", "external_id"],
        condition=~Q(external_id=""),
        name=f"{model}_unique_external_id",
    )


class Product(TenantModel):
    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=60)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    # When an integration or a person last changed the row (the API's cursor order).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="product_unique_code")
        ]

    def __str__(self) -> str:
        return self.name


class ChurnReason(TenantModel):
    """The configurable list of reasons a CSM picks from when an account churns."""

    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="churnreason_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Persona(TenantModel):
    """A named segment: accounts matching `rules` (a condition tree on account fields, in the
    language of conditions/), plus accounts picked by hand. An account's persona is the first
    one, by `priority`, that holds it; it is stored on Account.persona by persona_assign_all."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    description = models.TextField(blank=True)
    priority = models.PositiveIntegerField(
        default=100, help_text=_("Lower wins when several match.")
    )
    rules = models.JSONField(
        default=dict, blank=True, help_text=_("Condition tree on account fields.")
    )
    hand_picked = models.ManyToManyField(
        "accounts.Account", blank=True, related_name="hand_picked_personas"
    )

    class Meta:
        ordering = ["priority", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="persona_unique_slug")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from accounts.personas import validate_persona_rules

        validate_persona_rules(self.rules)


class Account(TenantModel):
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=100, blank=True)
    industry = models.CharField(max_length=80, blank=True)
    region = models.CharField(max_length=80, blank=True)
    size_band = models.CharField(max_length=16, choices=SizeBand.choices, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.SILVER)
    touch_model = models.CharField(max_length=8, choices=TouchModel.choices, default=TouchModel.LOW)
    acquisition_channel = models.CharField(max_length=80, blank=True)
    relationship_channel = models.CharField(max_length=80, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    lifecycle_stage = models.CharField(
        max_length=16, choices=LifecycleStage.choices, default=LifecycleStage.ONBOARDING
    )
    customer_since = models.DateField(null=True, blank=True)
    # When the account first met its organization's activation condition (lifecycle/).
    activated_on = models.DateField(null=True, blank=True)
    churned_at = models.DateField(null=True, blank=True)
    churn_reason = models.ForeignKey(
        ChurnReason, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    notes = models.TextField(blank=True)
    persona = models.ForeignKey(
        Persona, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    # Denormalized from active subscriptions by accounts.services.account_rollups_refresh,
    # so the portfolio sorts and filters by them without joins.
    mrr = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    renewal_date = models.DateField(null=True, blank=True)
    # CSM judgement, a health indicator of its own: 1 (very negative) to 5 (very positive),
    # with the reason and an expiry so it does not linger.
    csm_sentiment = models.PositiveSmallIntegerField(null=True, blank=True)
    csm_sentiment_reason = models.CharField(max_length=240, blank=True)
    csm_sentiment_expires_on = models.DateField(null=True, blank=True)
    # The latest health score, written by the nightly health pipeline (health/), so the
    # portfolio filters and sorts by it without a join.
    health_score = models.FloatField(null=True, blank=True)
    health_colour = models.CharField(max_length=8, blank=True)
    health_change_7d = models.FloatField(null=True, blank=True)
    health_change_30d = models.FloatField(null=True, blank=True)
    health_scored_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["organization", "name"], name="account_org_name"),
            models.Index(fields=["organization", "owner"], name="account_org_owner"),
            models.Index(fields=["organization", "lifecycle_stage"], name="account_org_stage"),
            models.Index(fields=["organization", "persona"], name="account_org_persona"),
            models.Index(fields=["organization", "renewal_date"], name="account_org_renewal"),
            models.Index(fields=["organization", "mrr"], name="account_org_mrr"),
            models.Index(fields=["organization", "tier"], name="account_org_tier"),
            models.Index(fields=["organization", "health_score"], name="account_org_health"),
            models.Index(fields=["organization", "updated_at", "id"], name="account_org_updated"),
        ]
        constraints = [
            _external_id_unique("account"),
            # What usage rows reference (accounts/migrations/0006): an account together with
            # its organization, so one foreign-key check proves both and that they agree.
            models.UniqueConstraint(fields=["id", "organization"], name="account_unique_id_org"),
            models.CheckConstraint(
                condition=Q(csm_sentiment__isnull=True)
                | (Q(csm_sentiment__gte=1) & Q(csm_sentiment__lte=5)),
                name="account_csm_sentiment_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_churned(self) -> bool:
        """A churn date, or the churned stage without one (as accounts.selectors.churned_q)."""
        return self.churned_at is not None or self.lifecycle_stage == LifecycleStage.CHURNED


class LifecycleChange(TenantModel):
    """One move of an account from one lifecycle stage to another: a timeline event, what
    stage-entry triggers read, and what surveys "after onboarding" count from. At most one per
    account, day and destination, so a re-run night writes nothing twice."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lifecycle_changes")
    from_stage = models.CharField(max_length=16, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=LifecycleStage.choices)
    changed_on = models.DateField()
    # "rule" (the nightly stage rules), "manual" (a person), "import" (the API or a CSV).
    source = models.CharField(max_length=8, default="rule")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "changed_on", "to_stage"],
                name="lifecyclechange_unique_day",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "to_stage", "changed_on"], name="lifecycle_org_stage_on"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.from_stage} -> {self.to_stage} on {self.changed_on}"


class ContactRole(models.TextChoices):
    EXECUTIVE_SPONSOR = "executive_sponsor", _("Executive sponsor")
    DECISION_MAKER = "decision_maker", _("Decision maker")
    CHAMPION = "champion", _("Champion")
    USER = "user", _("User")
    BILLING = "billing", _("Billing")


class Contact(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    external_id = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=120, blank=True)
    role = models.CharField(max_length=24, choices=ContactRole.choices, default=ContactRole.USER)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # Data-processing consent (LGPD/GDPR): when and how it was given, and if withdrawn.
    consent_given_at = models.DateTimeField(null=True, blank=True)
    consent_source = models.CharField(max_length=80, blank=True)
    consent_withdrawn_at = models.DateTimeField(null=True, blank=True)
    # When an integration or a person last changed the row (the API's cursor order).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [_external_id_unique("contact")]
        indexes = [models.Index(fields=["account", "role"], name="contact_account_role")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_consent(self) -> bool:
        return self.consent_given_at is not None and self.consent_withdrawn_at is None


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")


def subscription_held_on(day) -> Q:
    """Subscriptions an account holds on `day`: started by then and not yet ended (one with
    no end date counts while it is active). The one rule persona rules, trigger conditions
    and health measures all use for "holds a product"."""
    return Q(start_date__lte=day) & (
        Q(end_date__gt=day) | (Q(end_date__isnull=True) & Q(status="active"))
    )


class Subscription(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="subscriptions")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="subscriptions")
    external_id = models.CharField(max_length=100, blank=True)
    mrr = models.DecimalField(max_digits=12, decimal_places=2)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    renewal_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    renewals_count = models.PositiveIntegerField(default=0)
    discount_pct = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    # When an integration or a person last changed the row (the API's cursor order).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-status", "product__name"]
        constraints = [
            _external_id_unique("subscription"),
            models.CheckConstraint(condition=Q(mrr__gte=0), name="subscription_mrr_nonnegative"),
            models.CheckConstraint(
                condition=Q(discount_pct__gte=0) & Q(discount_pct__lte=100),
                name="subscription_discount_pct_range",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="subscription_account_status"),
            models.Index(fields=["organization", "renewal_date"], name="subscription_org_renewal"),
        ]

    def __str__(self) -> str:
        return f"{self.account} · {self.product}"


class MrrMovementKind(models.TextChoices):
    NEW = "new", _("New")
    EXPANSION = "expansion", _("Expansion")
    CONTRACTION = "contraction", _("Contraction")
    CHURN = "churn", _("Churn")
    REACTIVATION = "reactivation", _("Reactivation")


class MrrMovement(TenantModel):
    """The subscription ledger: every MRR change with its date and cause, so retention figures
    (GRR, NRR) come from the same numbers finance uses."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="mrr_movements")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="movements"
    )
    date = models.DateField()
    kind = models.CharField(max_length=16, choices=MrrMovementKind.choices)
    delta_mrr = models.DecimalField(max_digits=12, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-date"]
        indexes = [
            models.Index(fields=["organization", "date"], name="mrrmovement_org_date"),
            models.Index(fields=["account", "date"], name="mrrmovement_account_date"),
        ]


class UsageMetric(TenantModel):
    """One day's value of one usage metric for one account (logins, active users,
    transactions, transacted volume; "product:<code>" for the use of one product held).
    Days with no activity may have no row."""

    # The unique index below starts with the organization, so no index of its own: the
    # biggest table pays for one index less on every insert. Neither field has a foreign key
    # of its own: on PostgreSQL one composite key (account_id, organization_id) -> the
    # account's (id, organization_id), added by accounts/migrations/0006, checks both at once
    # (the account exists, in this organization, whose own key proves the organization), so
    # the biggest table pays one check a row instead of two (half of a bulk insert's commit).
    organization = models.ForeignKey(
        "orgs.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="usage", db_constraint=False
    )
    metric = models.CharField(max_length=40)
    date = models.DateField()
    value = models.FloatField()

    class Meta:
        constraints = [
            # One row per account, metric and day. Ordered (organization, metric, account, date)
            # and covering `value`, so a window read for a range of accounts is an index-only
            # scan of exactly the rows it needs (health scoring reads by chunk of accounts).
            models.UniqueConstraint(
                fields=["organization", "metric", "account", "date"],
                include=["value"],
                name="usagemetric_unique_day",
            )
        ]


class UsageMonth(TenantModel):
    """One month of one usage metric for one account, rolled up from the daily rows once they
    are older than USAGE_RAW_RETENTION_DAYS (accounts.services.usage_retention_apply), whose
    months are then dropped. `days` counts the daily rows, `active_days` those above 0."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="usage_months")
    metric = models.CharField(max_length=40)
    month = models.DateField(help_text=_("The first day of the month."))
    total = models.FloatField()
    days = models.PositiveIntegerField()
    active_days = models.PositiveIntegerField()
    peak = models.FloatField()

    class Meta:
        constraints = [
            # A second roll-up of the same month replaces the first (ON CONFLICT ... UPDATE).
            models.UniqueConstraint(
                fields=["organization", "account", "metric", "month"],
                name="usagemonth_unique_month",
            )
        ]


class TicketPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Ticket(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tickets")
    external_id = models.CharField(max_length=100, blank=True)
    subject = models.CharField(max_length=200)
    priority = models.CharField(
        max_length=8, choices=TicketPriority.choices, default=TicketPriority.NORMAL
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_breached = models.BooleanField(default=False)
    # When an integration or a person last changed the row (the API's cursor order).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [_external_id_unique("ticket")]
        indexes = [
            models.Index(fields=["account", "opened_at"], name="ticket_account_opened"),
            models.Index(fields=["organization", "opened_at"], name="ticket_org_opened"),
        ]

    def __str__(self) -> str:
        return self.subject


class Invoice(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invoices")
    external_id = models.CharField(max_length=100, blank=True)
    number = models.CharField(max_length=40)
    issued_on = models.DateField()
    due_on = models.DateField()
    paid_on = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    discount_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # When an integration or a person last changed the row (the API's cursor order).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_on"]
        constraints = [
            _external_id_unique("invoice"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_amount_nonnegative"),
        ]
        indexes = [
            models.Index(fields=["account", "due_on"], name="invoice_account_due"),
            models.Index(fields=["organization", "due_on"], name="invoice_org_due"),
        ]

    def __str__(self) -> str:
        return self.number

    def days_overdue(self, today) -> int:
        """Days past due: until paid, or until today when unpaid."""
        end = self.paid_on or today
        return max(0, (end - self.due_on).days)


class SurveyKind(models.TextChoices):
    NPS = "nps", _("NPS")
    CSAT = "csat", _("CSAT")


class SurveyResponse(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="survey_responses")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    # The answer's id in the survey tool, the key for re-sent answers.
    external_id = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=4, choices=SurveyKind.choices)
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField()
    # When an integration or a person last changed the row (the API's cursor order).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-answered_at"]
        constraints = [
            _external_id_unique("surveyresponse"),
            models.CheckConstraint(
                condition=(Q(kind="nps") & Q(score__lte=10))
                | (Q(kind="csat") & Q(score__gte=1) & Q(score__lte=5)),
                name="surveyresponse_score_range",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "kind", "answered_at"], name="survey_account_kind_at"),
            models.Index(fields=["organization", "answered_at"], name="survey_org_at"),
        ]

    @property
    def nps_category(self) -> str:
        if self.kind != SurveyKind.NPS:
            return ""
        if self.score >= 9:
            return "promoter"
        return "passive" if self.score >= 7 else "detractor"


class InteractionKind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    VISIT = "visit", _("Visit")
    NOTE = "note", _("Note")


class Interaction(TenantModel):
    """A logged contact with the customer."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="interactions")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    # The record's id in the CRM it came from, the key for re-sent interactions.
    external_id = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=8, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField()
    summary = models.CharField(max_length=240)
    notes = models.TextField(blank=True)
    # When an integration or a person last changed the row (the API's cursor order).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [_external_id_unique("interaction")]
        indexes = [
            models.Index(fields=["account", "occurred_at"], name="interaction_account_at"),
            models.Index(fields=["organization", "occurred_at"], name="interaction_org_at"),
        ]

    def __str__(self) -> str:
        return self.summary
