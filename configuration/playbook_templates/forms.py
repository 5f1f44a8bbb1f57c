"""Forms of the template editor: the template's own fields, and one form per step row
(prefix "step-<position>"). Every relation (the persona, a step's named member) is scoped to
the organization (orgs.relations.TenantModelForm / TenantForm)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orgs.models import User
from orgs.relations import TenantForm, TenantModelForm
from playbooks.models import MAX_DUE_OFFSET_DAYS, Assignee, PlaybookTemplate
from playbooks.services import StepSpec

STEP_FIELDS = ("title", "instructions", "due_offset_days", "assignee", "assignee_user")

ASSIGNEE_CHOICES = [
    (Assignee.OWNER, _("The account's owner")),
    (Assignee.MANAGER, _("The manager (the organization's first manager)")),
    (Assignee.MEMBER, _("A named member")),
]


class PlaybookTemplateForm(TenantModelForm):
    class Meta:
        model = PlaybookTemplate
        fields = ["name", "kind", "persona", "description", "is_active"]
        labels = {
            "name": _("Name"),
            "kind": _("Kind"),
            "persona": _("Persona"),
            "description": _("Description"),
            "is_active": _("Active (CSMs and triggers can start it)"),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["persona"].empty_label = gettext("Every persona")
        self.fields["persona"].queryset = self.fields["persona"].queryset.order_by("name")

    def clean_kind(self):
        from .selectors import template_trigger_names

        kind = self.cleaned_data["kind"]
        if self.instance.pk and kind != self.instance.kind:
            names = template_trigger_names(template=self.instance)
            if names:
                raise forms.ValidationError(
                    gettext(
                        "Triggers of this kind open this template (%(names)s): a template "
                        "keeps its kind while a trigger uses it."
                    )
                    % {"names": ", ".join(names[:5])}
                )
        return kind


class TemplateStepForm(TenantForm):
    """One step row. `members` narrows the named-member choice to the active members."""

    title = forms.CharField(label=_("Title"), max_length=200)
    instructions = forms.CharField(
        label=_("Instructions"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    due_offset_days = forms.IntegerField(
        label=_("Due (days after it opens)"), min_value=0, max_value=MAX_DUE_OFFSET_DAYS, initial=0
    )
    assignee = forms.ChoiceField(
        label=_("Who does it"), choices=ASSIGNEE_CHOICES, initial=Assignee.OWNER
    )
    assignee_user = forms.ModelChoiceField(
        label=_("Member"),
        queryset=User.objects.all(),
        required=False,
        empty_label=_("Choose a member"),
        help_text=_("When “a named member” does it."),
    )

    def __init__(self, *args, members=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if members is not None:
            field = self.fields["assignee_user"]
            field.queryset = field.queryset.filter(pk__in=members.values("pk")).order_by(
                "first_name", "last_name", "username"
            )

    def clean(self):
        data = super().clean()
        wants_member = data.get("assignee") == Assignee.MEMBER
        if wants_member and not data.get("assignee_user") and "assignee_user" not in self.errors:
            self.add_error("assignee_user", gettext("Choose the member who does it."))
        return data

    def spec(self) -> StepSpec:
        d = self.cleaned_data
        member = d.get("assignee_user") if d["assignee"] == Assignee.MEMBER else None
        return StepSpec(
            title=d["title"],
            instructions=d.get("instructions") or "",
            due_offset_days=d["due_offset_days"],
            assignee=d["assignee"],
            assignee_user_id=member.pk if member else None,
        )
