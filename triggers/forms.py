"""Forms of the trigger endpoints: dismissing an alert (the reason is required)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class AlertDismissForm(forms.Form):
    reason = forms.CharField(
        label=_("Why dismiss it"),
        max_length=240,
        error_messages={"required": _("Say why the alert is dismissed.")},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
