"""Forms of the data pages. Every relation they accept stays in the organization
(orgs.relations.TenantForm)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Contact
from orgs.models import User
from orgs.relations import TenantForm
from playbooks.models import PlaybookKind, PlaybookStatus
from triggers.models import Trigger

from . import imports
from . import records as rec
from .models import ImportKind, TokenScope, WebhookEvent


class TokenCreateForm(TenantForm):
    name = forms.CharField(
        label=_("Name"), max_length=120, help_text=_("What will use it, e.g. “Billing sync”.")
    )
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        widget=forms.RadioSelect,
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for a token that lasts until it is revoked."),
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        self.today = today
        super().__init__(*args, **kwargs)

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is not None and day <= self.today:
            raise forms.ValidationError(_("Choose a day after today."))
        return day

    def expires_at(self):
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


IMPORT_KINDS = [(k, label) for k, label in ImportKind.choices]


class ImportUploadForm(TenantForm):
    kind = forms.ChoiceField(label=_("The file holds"), choices=IMPORT_KINDS)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Exported from a spreadsheet: comma, semicolon or tab separated, UTF-8 or "
            "Windows (Latin-1) text; 1.234,56 and 31/12/2024 are understood."
        ),
    )


ENCODING_CHOICES = [
    ("utf-8", "UTF-8"),
    ("utf-8-sig", _("UTF-8 with BOM (Excel)")),
    ("utf-16", "UTF-16"),
    ("cp1252", _("Windows-1252 (Excel on Windows)")),
    ("latin-1", "Latin-1 (ISO-8859-1)"),
]
DELIMITER_CHOICES = [(",", _("Comma ( , )")), (";", _("Semicolon ( ; )")), ("\t", _("Tab"))]
DECIMAL_CHOICES = [(",", _("1.234,56 (comma decimals)")), (".", _("1,234.56 (point decimals)"))]
DATE_CHOICES = [("dmy", _("31/12/2024 (day first)")), ("mdy", _("12/31/2024 (month first)"))]


class ImportMappingForm(TenantForm):
    """The file's format and, per column of the file, the field it feeds (or none)."""

    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODING_CHOICES)
    delimiter = forms.ChoiceField(label=_("Delimiter"), choices=DELIMITER_CHOICES)
    decimal = forms.ChoiceField(label=_("Numbers"), choices=DECIMAL_CHOICES)
    date_order = forms.ChoiceField(label=_("Dates"), choices=DATE_CHOICES)
    save_as = forms.CharField(
        label=_("Save this mapping as"),
        required=False,
        max_length=80,
        help_text=_("Files with the same columns will be mapped the same way next time."),
    )

    def __init__(self, *args, job, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        kind = rec.KINDS[job.kind]
        options = [("", _("— not imported —"))] + [
            (c.name, f"{c.name}{' *' if c.required else ''}") for c in kind.columns
        ]
        self.column_fields = []
        for i, header in enumerate(job.headers):
            name = f"col_{i}"
            self.fields[name] = forms.ChoiceField(
                label=header or _("(column %(n)s)") % {"n": i + 1},
                choices=options,
                required=False,
                initial=job.mapping.get(header, ""),
            )
            self.column_fields.append((name, header))
        self.initial.setdefault("encoding", job.encoding)
        self.initial.setdefault("delimiter", job.delimiter)
        self.initial.setdefault("decimal", job.decimal)
        self.initial.setdefault("date_order", job.date_order)

    def mapping(self) -> dict:
        return {
            h: self.cleaned_data.get(n) for n, h in self.column_fields if self.cleaned_data.get(n)
        }

    def format(self) -> imports.Format:
        d = self.cleaned_data
        return imports.Format(
            encoding=d["encoding"],
            delimiter=d["delimiter"],
            decimal=d["decimal"],
            date_order=d["date_order"],
        )

    def columns(self):
        for name, header in self.column_fields:
            yield self[name], header


class WebhookForm(TenantForm):
    url = forms.URLField(
        label=_("Address"),
        max_length=500,
        assume_scheme="https",
        help_text=_("An https:// address that accepts POSTed JSON."),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class ContactFindForm(TenantForm):
    email = forms.EmailField(label=_("The person's email"))


class EraseForm(TenantForm):
    contact = forms.ModelChoiceField(queryset=Contact.objects.all(), widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Whose request, and where it came from"),
        max_length=300,
        help_text=_("E.g. “Email from the person, 12 March, ticket 4411”. Kept in the audit."),
    )


class PlaybookExportForm(TenantForm):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any"))] + list(PlaybookStatus.choices)
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any"))] + list(PlaybookKind.choices)
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        required=False,
        queryset=User.objects.filter(is_active=True).order_by("username"),
    )
    opened_from = forms.DateField(
        label=_("Opened from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    opened_to = forms.DateField(
        label=_("Opened until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class FiringExportForm(TenantForm):
    trigger = forms.ModelChoiceField(
        label=_("Trigger"), required=False, queryset=Trigger.objects.order_by("name")
    )
    fired_from = forms.DateField(
        label=_("Fired from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    fired_to = forms.DateField(
        label=_("Fired until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
