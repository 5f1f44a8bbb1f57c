"""The survey campaign form (/configuration/surveys/): who, when, the words per language and
the follow-up template; its relations (persona, template) scoped to the organization."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import ContactRole, LifecycleStage
from orgs.relations import TenantModelForm
from surveys.models import SurveyCampaign


def message_fields() -> list[tuple[str, str, str]]:
    """(language, subject field, body field) for each language of the installation."""
    return [(code, f"subject_{code}", f"body_{code}") for code, _name in settings.LANGUAGES]


class SurveyCampaignForm(TenantModelForm):
    lifecycle_stages = forms.MultipleChoiceField(
        label=_("Lifecycle stages"),
        choices=LifecycleStage.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every stage but churned."),
    )
    contact_roles = forms.MultipleChoiceField(
        label=_("Contact roles"),
        choices=ContactRole.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every role. Contacts without consent are never asked."),
    )

    class Meta:
        model = SurveyCampaign
        fields = [
            "name",
            "kind",
            "persona",
            "lifecycle_stages",
            "contact_roles",
            "cadence",
            "days",
            "link_days",
            "followup_template",
            "is_active",
        ]
        labels = {
            "name": _("Name"),
            "kind": _("Survey"),
            "persona": _("Persona"),
            "cadence": _("When"),
            "days": _("N (days)"),
            "link_days": _("The link answers for (days)"),
            "followup_template": _("Follow-up for a detractor or a low CSAT"),
            "is_active": _("Active (sent every morning)"),
        }
        help_texts = {
            "followup_template": _(
                "Opened for the account's owner when someone answers NPS 0-6 or CSAT 1-2."
            ),
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["persona"].empty_label = gettext("Every persona")
        self.fields["persona"].queryset = self.fields["persona"].queryset.order_by("name")
        template = self.fields["followup_template"]
        template.queryset = template.queryset.filter(is_active=True).order_by("name")
        template.empty_label = gettext("None (no follow-up)")
        messages = self.instance.messages or {}
        for code, subject, body in message_fields():
            name = dict(settings.LANGUAGES)[code]
            self.fields[subject] = forms.CharField(
                label=gettext("Subject (%(language)s)") % {"language": name},
                max_length=200,
                required=False,
                initial=messages.get(code, {}).get("subject", ""),
            )
            self.fields[body] = forms.CharField(
                label=gettext("Message (%(language)s)") % {"language": name},
                required=False,
                max_length=4000,
                widget=forms.Textarea(attrs={"rows": 4}),
                initial=messages.get(code, {}).get("body", ""),
                help_text=_(
                    "{name} and {account} are replaced by the contact's and the account's "
                    "names; the answer and unsubscribe links are added below. Empty: the "
                    "default words."
                ),
            )

    def clean(self):
        data = super().clean()
        for _code, subject, body in message_fields():
            if data.get(subject) and not data.get(body):
                self.add_error(body, gettext("Write the message, or clear the subject."))
        return data

    def messages_value(self) -> dict:
        d = self.cleaned_data
        return {
            code: {"subject": d.get(subject) or "", "body": d.get(body) or ""}
            for code, subject, body in message_fields()
            if d.get(body)
        }
