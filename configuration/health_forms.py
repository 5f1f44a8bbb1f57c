"""Forms of the health model editor: the draft's name, description and colour bands, and one
row per indicator (measure from the catalogue, window, usage metric, direction, the values
that score 0 and 100, weight), each row validated as a published indicator is, with its errors
on the row. The draft holds no relation a user picks (its model is the page's), so there is
nothing of another organization to choose; the form still scopes like every other
(TenantModelForm)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from health.measures import MEASURES, unit_label
from health.models import Direction, HealthModel, Indicator
from orgs.relations import TenantModelForm

from .health_drafts import MAX_INDICATORS
from .models import HealthModelDraft

DIRECTIONS = [
    (Direction.HIGHER_IS_BETTER.value, _("Higher is better")),
    (Direction.LOWER_IS_BETTER.value, _("Lower is better")),
]


def measure_choices() -> list[tuple[str, str]]:
    return [
        (key, f"{gettext(m.label)} ({unit_label(m.unit)})")
        for key, m in sorted(MEASURES.items(), key=lambda kv: kv[1].label)
    ]


class HealthModelDraftForm(TenantModelForm):
    """The draft's own fields; its indicators come from IndicatorFormSet."""

    class Meta:
        model = HealthModelDraft
        fields = ["name", "description", "red_max", "yellow_max"]
        labels = {
            "name": _("Name"),
            "description": _("Description"),
            "red_max": _("Red up to (score)"),
            "yellow_max": _("Yellow up to (score)"),
        }
        help_texts = {
            "red_max": _("Scores from 0 to this are red."),
            "yellow_max": _("Scores above red and up to this are yellow; above it, green."),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name in ("red_max", "yellow_max"):
            self.fields[name].widget.attrs.update({"min": 0, "max": 99})

    def clean(self):
        data = super().clean()
        red, yellow = data.get("red_max"), data.get("yellow_max")
        if red is not None and yellow is not None:
            try:
                HealthModel(red_max=red, yellow_max=yellow).clean()
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    self.add_error(name, errors)
        return data


class IndicatorRowForm(forms.Form):
    """One indicator of the draft. `id` is the published indicator the row edits."""

    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    measure = forms.ChoiceField(label=_("Measure"), choices=measure_choices)
    window_days = forms.IntegerField(
        label=_("Window (days)"),
        required=False,
        min_value=1,
        max_value=730,
        help_text=_("Empty: the measure's default."),
    )
    metric = forms.CharField(
        label=_("Usage metric"),
        required=False,
        max_length=40,
        help_text=_("Usage measures only; empty: the default."),
    )
    direction = forms.ChoiceField(label=_("Direction"), choices=DIRECTIONS)
    bad_value = forms.FloatField(label=_("Red end (scores 0)"))
    good_value = forms.FloatField(label=_("Green end (scores 100)"))
    weight = forms.FloatField(label=_("Weight"), min_value=0)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["weight"].widget.attrs.update({"step": "any", "min": "0"})
        for name in ("bad_value", "good_value"):
            self.fields[name].widget.attrs.update({"step": "any"})

    def clean(self):
        data = super().clean()
        if self.errors or not data:
            return data
        candidate = Indicator(
            measure=data["measure"],
            window_days=data.get("window_days"),
            metric=data.get("metric") or "",
            direction=data["direction"],
            bad_value=data["bad_value"],
            good_value=data["good_value"],
            weight=data["weight"],
        )
        try:
            candidate.clean()
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        return data

    def row(self) -> dict:
        data = self.cleaned_data
        return {
            "id": data.get("id"),
            "measure": data["measure"],
            "window_days": data.get("window_days"),
            "metric": data.get("metric") or "",
            "direction": data["direction"],
            "bad_value": data["bad_value"],
            "good_value": data["good_value"],
            "weight": data["weight"],
        }


class _IndicatorFormSetBase(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        keys = {}
        for number, form in enumerate(self.forms, start=1):
            if self.can_delete and self._should_delete_form(form):
                continue
            if not form.cleaned_data:
                continue
            d = form.cleaned_data
            key = (d["measure"], d.get("window_days"), d.get("metric") or "")
            if key in keys:
                form.add_error(
                    "measure",
                    gettext("Indicator %(m)d already has this measure, window and metric.")
                    % {"m": keys[key]},
                )
            keys[key] = number
        if not keys:
            raise ValidationError(gettext("A model needs at least one indicator."))

    def rows(self) -> list[dict]:
        return [
            form.row()
            for form in self.forms
            if form.cleaned_data and not (self.can_delete and self._should_delete_form(form))
        ]


IndicatorFormSet = forms.formset_factory(
    IndicatorRowForm,
    formset=_IndicatorFormSetBase,
    extra=0,
    can_delete=True,
    max_num=MAX_INDICATORS,
    validate_max=True,
    absolute_max=MAX_INDICATORS,
)
