"""Forms of the playbook work: step actions (each carries the step's version, so a change
made meanwhile by someone else is detected), logging a contact, closing with an outcome,
reassigning and starting a playbook from a template."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import ChurnReason, Contact, InteractionKind, Product
from accounts.selectors import account_contacts_qs
from orgs.models import Organization, User
from orgs.relations import TenantForm
from orgs.selectors import org_workers

from .models import OUTCOMES_BY_KIND, Outcome, Playbook, PlaybookKind
from .selectors import templates_startable

# Where a step or contact form was posted from; it decides which fragment comes back.
WHERE_CHOICES = [("mywork", _("My work")), ("playbook", _("Playbook page"))]

# Which outcome fields each kind's close form shows (besides outcome and notes).
OUTCOME_FIELDS_BY_KIND = {
    PlaybookKind.EXPANSION: ("opportunity_product", "expected_mrr", "mrr_won"),
    PlaybookKind.RETENTION: ("churn_reason",),
    PlaybookKind.RENEWAL: ("churn_reason",),
    PlaybookKind.ONBOARDING: (),
    PlaybookKind.CUSTOM: (),
}

# What each outcome means, said to the CSM beside the choice.
OUTCOME_HELP = {
    Outcome.NO_OPPORTUNITY: _("The customer is not interested now."),
    Outcome.WON: _("The customer bought: the subscription is added to the account."),
    Outcome.LOST: _("An opportunity was opened but the customer did not buy."),
    Outcome.RISK_NOT_CONFIRMED: _("On a closer look the customer was not at risk."),
    Outcome.RETAINED: _("The risk was real and it was reverted: the customer stays."),
    Outcome.CHURNED: _("The customer leaves: the account is marked churned with the reason."),
    Outcome.ACTIVATED: _("The customer is up and running."),
    Outcome.NOT_ACTIVATED: _("The customer did not get going."),
    Outcome.DONE: _("The work is done."),
}


def user_label(user: User) -> str:
    return user.get_full_name() or user.username


class _Form(TenantForm):
    """No colon after labels; element ids made unique per object with `id_prefix`, as
    several of the same form sit on one page (one per step)."""

    def __init__(self, *args, id_prefix: str = "", **kwargs):
        kwargs.setdefault("label_suffix", "")
        if id_prefix:
            kwargs.setdefault("auto_id", f"{id_prefix}-%s")
        super().__init__(*args, **kwargs)


class _VersionedForm(_Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    where = forms.ChoiceField(
        choices=WHERE_CHOICES, required=False, widget=forms.HiddenInput, initial="playbook"
    )


class StepCompleteForm(_VersionedForm):
    notes = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class StepNoteForm(_VersionedForm):
    notes = forms.CharField(
        label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class StepSnoozeForm(_VersionedForm):
    due_on = forms.DateField(
        label=_("New due date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=_("Why"), max_length=240)

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["due_on"].widget.attrs["min"] = (today + dt.timedelta(days=1)).isoformat()

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on <= self.today:
            raise forms.ValidationError("Choose a date after today.")
        return due_on


class ContactLogForm(_Form):
    """Who was contacted (a contact of the playbook's account), how, and what was said."""

    contact = forms.ModelChoiceField(
        label=_("Who"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("Nobody in particular"),
    )
    kind = forms.ChoiceField(label=_("Channel"), choices=InteractionKind.choices)
    summary = forms.CharField(label=_("Summary"), max_length=240)
    notes = forms.CharField(
        label=_("Notes (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    where = forms.ChoiceField(
        choices=WHERE_CHOICES, required=False, widget=forms.HiddenInput, initial="playbook"
    )

    def __init__(self, *args, account_id: int, contacts=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["contact"]
        field.queryset = account_contacts_qs().filter(account_id=account_id)
        if contacts is not None:
            # Already read by the page: the choices are rendered from them, no query.
            field.choices = [("", field.empty_label)] + [(c.pk, self._label(c)) for c in contacts]
        field.label_from_instance = self._label

    @staticmethod
    def _label(contact: Contact) -> str:
        return f"{contact.name} ({contact.get_role_display().lower()})"


class PlaybookCloseForm(_Form):
    """The outcome a playbook of this kind asks for. The rules (a won expansion needs its
    product and MRR, a churn its reason) are the service's; its errors land on these fields."""

    outcome = forms.ChoiceField(label=_("Outcome"), widget=forms.RadioSelect)
    opportunity_product = forms.ModelChoiceField(
        label=_("Product offered"),
        queryset=Product.objects.none(),
        required=False,
        empty_label=_("Choose a product"),
    )
    expected_mrr = forms.DecimalField(
        label=_("Expected MRR"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    mrr_won = forms.DecimalField(
        label=_("MRR won"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text=_("Only when won: the subscription's monthly value."),
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    churn_reason = forms.ModelChoiceField(
        label=_("Churn reason"),
        queryset=ChurnReason.objects.none(),
        required=False,
        empty_label=_("Choose a reason"),
        help_text=_("Only when the customer churned."),
    )
    notes = forms.CharField(
        label=_("Notes (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, playbook: Playbook, **kwargs):
        super().__init__(*args, **kwargs)
        self.playbook = playbook
        kind = PlaybookKind(playbook.kind)
        self.fields["outcome"].choices = [
            (o.value, o.label) for o in OUTCOMES_BY_KIND.get(kind, (Outcome.DONE,))
        ]
        shown = OUTCOME_FIELDS_BY_KIND.get(kind, ())
        for name in ("opportunity_product", "expected_mrr", "mrr_won", "churn_reason"):
            if name not in shown:
                del self.fields[name]
        if "opportunity_product" in self.fields:
            self.fields["opportunity_product"].queryset = Product.objects.filter(
                is_active=True
            ).only("id", "name")
            if playbook.opportunity_product_id and not self.is_bound:
                self.initial.setdefault("opportunity_product", playbook.opportunity_product_id)
        if "churn_reason" in self.fields:
            self.fields["churn_reason"].queryset = ChurnReason.objects.filter(is_active=True).only(
                "id", "name"
            )

    @property
    def outcome_options(self) -> list[dict]:
        """The outcome radio buttons with what each means (rendered by hand for the help)."""
        return [
            {"widget": w, "help": OUTCOME_HELP.get(w.data["value"], "")} for w in self["outcome"]
        ]


class PlaybookReassignForm(_Form):
    owner = forms.ModelChoiceField(
        label=_("New owner"), queryset=User.objects.none(), empty_label=_("Choose a person")
    )

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = org_workers(org=org).only(
            "id", "username", "first_name", "last_name"
        )
        self.fields["owner"].label_from_instance = user_label


class PlaybookStartForm(_Form):
    template = forms.ModelChoiceField(
        label=_("Template"), queryset=templates_startable(), empty_label=_("Choose a playbook")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].label_from_instance = lambda t: (
            f"{t.name} ({t.get_kind_display().lower()})"
        )
