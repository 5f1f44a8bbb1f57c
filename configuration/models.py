"""The configuration area's one table: drafts of triggers. A draft is what an analyst or an
admin is still editing (a new trigger, or a change to a published one); the night never reads
it. Publishing hands its fields to the triggers' versioning services (a new trigger at version
1, or the next version of the one it edits) and deletes the draft."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from orgs.tenancy import TenantModel
from playbooks.models import PlaybookKind
from triggers.models import Action, Schedule
from triggers.services import TRIGGER_EDITABLE_FIELDS

# The fields a draft holds, named as on Trigger: what the versioning services may change,
# without is_active (switching a trigger off is not a draft).
DRAFT_FIELDS = tuple(f for f in TRIGGER_EDITABLE_FIELDS if f != "is_active")


class Draft(TenantModel):
    """What every draft keeps beside its own fields: who started it, who saved it last, when."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TriggerDraft(Draft):
    trigger = models.OneToOneField(
        "triggers.Trigger",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="draft",
        help_text=_("The published trigger this draft changes; empty for a new trigger."),
    )
    name = models.CharField(_("name"), max_length=160)
    kind = models.CharField(_("kind"), max_length=12, choices=PlaybookKind.choices)
    persona = models.ForeignKey(
        "accounts.Persona",
        verbose_name=_("persona"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    product = models.ForeignKey(
        "accounts.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    condition = models.JSONField(_("condition"), default=dict, blank=True)
    schedule = models.CharField(
        _("schedule"), max_length=8, choices=Schedule.choices, default=Schedule.NIGHTLY
    )
    cooldown_days = models.PositiveIntegerField(_("cool-down in days"), default=30)
    action = models.CharField(
        _("action"), max_length=8, choices=Action.choices, default=Action.PLAYBOOK
    )
    template = models.ForeignKey(
        "playbooks.PlaybookTemplate",
        verbose_name=_("playbook template"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("trigger draft")

    def __str__(self) -> str:
        return self.name

    def fields(self) -> dict:
        """The draft's values by Trigger field name (relations as rows)."""
        return {name: getattr(self, name) for name in DRAFT_FIELDS}


# What a persona version keeps, and a persona draft holds: the persona's own fields, its
# rules and its hand-picked accounts (by id in a version).
PERSONA_SNAPSHOT_FIELDS = ("name", "slug", "description", "priority", "rules", "hand_picked")


def persona_snapshot(*, persona) -> dict:
    """The saved persona's PERSONA_SNAPSHOT_FIELDS as JSON data (hand-picked as sorted ids)."""
    out = {name: getattr(persona, name) for name in PERSONA_SNAPSHOT_FIELDS[:-1]}
    out["hand_picked"] = sorted(persona.hand_picked.values_list("pk", flat=True))
    return out


class PersonaDraft(Draft):
    """A persona still being edited (a new one, or a change to a published one): what an
    analyst or an admin saves; nobody's membership changes until an admin publishes it,
    which saves the persona, refreshes membership at once and records a PersonaVersion."""

    persona = models.OneToOneField(
        "accounts.Persona",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="draft",
        help_text=_("The published persona this draft changes; empty for a new persona."),
    )
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("short name (slug)"), max_length=60)
    description = models.TextField(_("description"), blank=True)
    priority = models.PositiveIntegerField(_("priority"), default=100)
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    hand_picked = models.ManyToManyField(
        "accounts.Account", verbose_name=_("hand-picked accounts"), blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("persona draft")

    def __str__(self) -> str:
        return self.name


class PersonaVersion(TenantModel):
    """One published version of a persona, written once when a draft is published (or the
    persona saved through the configuration services) and never changed: `fields` is the
    snapshot (PERSONA_SNAPSHOT_FIELDS, hand-picked accounts as sorted ids), `changed` the
    names that differ from the previous version."""

    persona = models.ForeignKey(
        "accounts.Persona", on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField()
    fields = models.JSONField()
    changed = models.JSONField(default=list, blank=True)
    members = models.PositiveIntegerField(
        default=0, help_text=_("Accounts in the persona right after this version was published.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["persona", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["persona", "version"], name="personaversion_unique")
        ]

    def __str__(self) -> str:
        return f"{self.persona_id} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("a persona version is immutable: publish a new one")
        super().save(*args, **kwargs)


class HealthModelDraft(Draft):
    """A draft of a health model: its colour bands, name and description, and its indicators
    as validated data (a list of {"id", "measure", "window_days", "metric", "direction",
    "bad_value", "good_value", "weight"}, health/versions.py; "id" is the published
    indicator the row edits, None for a new one). One draft per model; the night never reads
    it. Publishing hands it to health_model_update (a new immutable version) and deletes it."""

    model = models.OneToOneField(
        "health.HealthModel", on_delete=models.CASCADE, related_name="draft"
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    red_max = models.PositiveSmallIntegerField(_("red up to"), default=50)
    yellow_max = models.PositiveSmallIntegerField(_("yellow up to"), default=75)
    indicators = models.JSONField(_("indicators"), default=list, blank=True)
    # The published version the draft started from, and where it came from (an edit, a
    # suggestion's weights, a restored version), said on its page.
    base_version = models.PositiveIntegerField(default=1)
    origin = models.CharField(max_length=160, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("health model draft")

    def __str__(self) -> str:
        return self.name
