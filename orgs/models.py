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


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CSM)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
