"""Forms of the workspace: starting a playbook from the account page
(confirmed when the account churned), and logging a contact from the account page (optionally
against one of the account's open playbooks)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from playbooks.forms import ContactLogForm, PlaybookStartForm
from playbooks.models import Playbook, PlaybookStatus
from playbooks.services import churned_text


class AccountContactForm(ContactLogForm):
    """A contact logged from the account page: against one of its open playbooks, or none."""

    playbook = forms.ModelChoiceField(
        label=_("Playbook"),
        queryset=Playbook.objects.none(),
        required=False,
        empty_label=_("No playbook"),
    )
    field_order = ["contact", "kind", "summary", "notes", "playbook"]

    def __init__(self, *args, account_id: int, open_playbooks=None, **kwargs):
        super().__init__(*args, account_id=account_id, **kwargs)
        field = self.fields["playbook"]
        field.queryset = Playbook.objects.filter(
            account_id=account_id, status=PlaybookStatus.OPEN
        ).only("id", "title")
        if open_playbooks is not None:
            field.choices = [("", field.empty_label)] + [(p.pk, p.title) for p in open_playbooks]
        field.label_from_instance = lambda p: p.title


class AccountPlaybookStartForm(PlaybookStartForm):
    """Start a playbook on the account page. On a churned account it asks first: a checkbox
    that says when the account churned (the service refuses without it, naming this field)."""

    confirm_churned = forms.BooleanField(required=False)

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        if account.is_churned:
            self.fields[
                "confirm_churned"
            ].label = f"{churned_text(account.churned_at)} {_('Start a playbook anyway.')}"
        else:
            del self.fields["confirm_churned"]
