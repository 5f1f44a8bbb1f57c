"""Forms of the members pages. The one relation, who takes a leaving member's work, is a
member of this organization (orgs.relations.TenantForm refuses anyone else)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from orgs.models import Role, User
from orgs.relations import TenantForm

ROLE_CHOICES = [
    (Role.ADMIN, _("Admin")),
    (Role.MANAGER, _("Manager")),
    (Role.CSM, _("CSM")),
    (Role.ANALYST, _("Analyst")),
]
ROLE_HELP = _(
    "Admins configure everything and add members; managers see every portfolio and reassign "
    "work; CSMs work their accounts and playbooks; analysts read reports and draft triggers."
)


class MemberAddForm(TenantForm):
    email = forms.EmailField(label=_("Email"), max_length=254)
    name = forms.CharField(
        label=_("Name"),
        max_length=300,
        required=False,
        help_text=_("For a new user; someone already on the platform keeps theirs."),
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=ROLE_CHOICES, initial=Role.CSM, help_text=ROLE_HELP
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs["autocomplete"] = "off"


class MemberRoleForm(TenantForm):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, help_text=ROLE_HELP)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class MemberDeactivateForm(TenantForm):
    """Who takes over the leaving member's accounts and open playbooks: an active CSM,
    manager or admin of the organization, other than them (`targets`)."""

    handover_to = forms.ModelChoiceField(
        label=_("Hand their accounts and open playbooks to"),
        queryset=User.objects.all(),
        required=False,
        empty_label=_("Choose a member"),
    )

    def __init__(self, *args, targets=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if targets is not None:
            field = self.fields["handover_to"]
            field.queryset = field.queryset.filter(pk__in=targets.values("pk")).order_by(
                "first_name", "last_name", "username"
            )
