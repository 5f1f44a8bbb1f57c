"""The public answer form: a score in the campaign's range and an optional comment."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import SurveyKind

from .services import SCORE_RANGE


class AnswerForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Your score"), coerce=int, widget=forms.RadioSelect, choices=()
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, kind: str, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        low, high = SCORE_RANGE[SurveyKind(kind)]
        self.fields["score"].choices = [(n, str(n)) for n in range(low, high + 1)]
        self.fields["score"].error_messages["required"] = _("Choose a score.")
