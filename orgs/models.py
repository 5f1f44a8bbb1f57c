"""Organizations (tenants), users and their roles in each organization."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .timezones import validate_timezone


class User(AbstractUser):
    """A person who logs in. Their organizations and roles are Memberships."""

    # A code of settings.LANGUAGES; empty: the organization's language (then the browser's).
    language = models.CharField(max_length=10, blank=True, default="")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Organization(models.Model):
    CURRENCIES = [("BRL", "BRL"), ("USD", "USD"), ("EUR", "EUR")]

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(
        max_length=64,
        default="America/Sao_Paulo",
        validators=[validate_timezone],
        help_text=_("An IANA time zone name, e.g. America/Sao_Paulo, Europe/Lisbon or UTC."),
    )
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="BRL")
    locale = models.CharField(max_length=10, default="pt-br")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    ANALYST = "analyst", _("Analyst")
    CSM = "csm", _("CSM")


# Who owns and works accounts and playbooks; analysts read.
WORKER_ROLES = (Role.ADMIN, Role.MANAGER, Role.CSM)


class ActiveMembershipManager(models.Manager):
    """Memberships in force: a deactivated member keeps their row (their history, their
    role to restore) but no longer opens the organization, owns work or counts as an admin."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(is_active=True)


class Membership(models.Model):
    """A user's place in one organization. Deactivating it (not the user) takes them out of
    this organization only: their other organizations are untouched."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CSM)
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    # Every `Membership.objects` read (the request's organization, members, admins, who may
    # own work) sees active memberships only; the admin, validation and relations see all.
    objects = ActiveMembershipManager()
    all_objects = models.Manager()  # noqa: DJ012 (a second manager, not a field)

    class Meta:
        default_manager_name = "all_objects"
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_unique_user_org"
            )
        ]
        indexes = [models.Index(fields=["organization", "role"], name="membership_org_role")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"

    @property
    def can_reassign(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER)

    @property
    def can_configure(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def sees_whole_portfolio_first(self) -> bool:
        return self.role != Role.CSM
