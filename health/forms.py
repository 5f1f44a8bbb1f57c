"""Health's forms: the two days of "why it moved", the day of a breakdown, and the CSM's
judgement (sentiment or override colour, with reason and expiry)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from orgs.relations import TenantForm

from .models import Decision, JudgementColour


class ExplainForm(TenantForm):
    """Two days to compare: `from` before `to`, neither after today."""

    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, today: dt.date, **kwargs):
        self.today = today
        super().__init__(*args, **kwargs)
        self.fields["date_from"].widget.attrs["max"] = today.isoformat()
        self.fields["date_to"].widget.attrs["max"] = today.isoformat()

    def clean_date_to(self):
        day = self.cleaned_data["date_to"]
        if day > self.today:
            raise forms.ValidationError(
                _("The day must not be after today (%(today)s)."), params={"today": self.today}
            )
        return day

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            self.add_error("date_from", _("The first day must come before the second."))
        return data


class DayForm(TenantForm):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))


class JudgementForm(TenantForm):
    """The CSM's judgement: a sentiment, an override colour or both, a reason and an expiry
    (default: 90 days from today)."""

    sentiment = forms.TypedChoiceField(
        label=_("Sentiment"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("— none —"))] + [(n, f"{n} / 5") for n in range(1, 6)],
        help_text=_("1 very negative, 5 very positive; the CSM sentiment indicator reads it."),
    )
    colour = forms.ChoiceField(
        label=_("Colour you would give"),
        required=False,
        choices=[("", _("— none —")), *JudgementColour.choices],
    )
    reason = forms.CharField(label=_("Reason"), max_length=240)
    expires_on = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("sentiment") is None and not data.get("colour"):
            self.add_error("colour", _("Give a sentiment, a colour, or both."))
        return data


class ResolutionForm(TenantForm):
    decision = forms.ChoiceField(label=_("Resolution"), choices=Decision.choices)
    note = forms.CharField(label=_("Note"), max_length=240, required=False)
