"""Forms of the configuration area: a trigger draft (its condition comes from the builder,
configuration/builder.py) and a persona (its rules from the builder, its hand-picked accounts
ticked or added by name). Every relation is chosen by name and scoped to the organization
(orgs.relations.TenantModelForm)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Persona
from orgs.relations import TenantForm, TenantModelForm
from playbooks.models import PlaybookTemplate

from .models import PersonaDraft, TriggerDraft

MAX_ADDED_BY_NAME = 50


class TriggerDraftForm(TenantModelForm):
    """What a trigger is besides its condition: kind, who, when, what it opens."""

    class Meta:
        model = TriggerDraft
        fields = [
            "name",
            "kind",
            "persona",
            "product",
            "schedule",
            "cooldown_days",
            "action",
            "template",
        ]
        labels = {
            "name": _("Name"),
            "kind": _("Kind"),
            "persona": _("Persona"),
            "product": _("Product to offer"),
            "schedule": _("Runs"),
            "cooldown_days": _("Cool-down (days)"),
            "action": _("When it fires"),
            "template": _("Playbook template"),
        }
        help_texts = {
            "persona": _("Empty: accounts of every persona."),
            "product": _("For expansion: accounts that already hold it never fire."),
            "cooldown_days": _("No new firing for an account within this many days."),
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["persona"].empty_label = gettext("Every persona")
        self.fields["product"].empty_label = gettext("No product")
        self.fields["persona"].queryset = self.fields["persona"].queryset.order_by("name")
        self.fields["product"].queryset = self.fields["product"].queryset.order_by("name")
        self.fields["template"].queryset = (
            PlaybookTemplate.objects.filter(pk__in=self.fields["template"].queryset.values("pk"))
            .filter(is_active=True)
            .order_by("name")
        )
        self.fields["cooldown_days"].widget.attrs.update({"min": 0, "max": 3650})
        self.fields["cooldown_days"].max_value = 3650
        self.fields["cooldown_days"].validators.append(_at_most(3650))

    def clean(self):
        data = super().clean()
        template, kind = data.get("template"), data.get("kind")
        if template is not None and kind and template.kind != kind:
            self.add_error(
                "template",
                gettext("This template makes %(template_kind)s playbooks; the trigger is %(kind)s.")
                % {"template_kind": template.get_kind_display(), "kind": kind},
            )
        return data


def _at_most(limit: int):
    from django.core.validators import MaxValueValidator

    return MaxValueValidator(limit)


class _Ticked(forms.CheckboxSelectMultiple):
    """Ticked boxes; one id posted on its own (a script's plain dict) counts as a list of one."""

    def value_from_datadict(self, data, files, name):
        value = super().value_from_datadict(data, files, name)
        return [value] if isinstance(value, str) else value


class PersonaForm(TenantModelForm):
    """A persona's name and order; its rules come from the builder. Hand-picked accounts are
    the ticked ones (unticking removes one) plus any added by name, one per line."""

    add_accounts = forms.CharField(
        label=_("Add accounts by name"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One account name per line, exactly as it is written."),
    )

    class Meta:
        model = Persona
        fields = ["name", "slug", "description", "priority", "hand_picked"]
        labels = {
            "name": _("Name"),
            "slug": _("Short name (slug)"),
            "description": _("Description"),
            "priority": _("Priority"),
            "hand_picked": _("Hand-picked accounts"),
        }
        help_texts = {
            "slug": _("Letters, digits and hyphens; trigger conditions name the persona by it."),
            "priority": _("When an account fits several personas, the lowest number wins."),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2}), "hand_picked": _Ticked}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["hand_picked"].required = False

    def clean_add_accounts(self) -> list[Account]:
        names = [n.strip() for n in self.cleaned_data["add_accounts"].splitlines() if n.strip()]
        if len(names) > MAX_ADDED_BY_NAME:
            raise forms.ValidationError(
                gettext("Add at most %(limit)d accounts at a time.") % {"limit": MAX_ADDED_BY_NAME}
            )
        found = {a.name: a for a in Account.objects.filter(name__in=names)}
        missing = [n for n in names if n not in found]
        if missing:
            raise forms.ValidationError(
                gettext("No account is named: %(names)s.") % {"names": ", ".join(missing[:10])}
            )
        return list(found.values())

    def picked(self) -> list[Account]:
        """The hand-picked accounts after this form: ticked plus added by name."""
        chosen = list(self.cleaned_data.get("hand_picked") or [])
        seen = {a.pk for a in chosen}
        return chosen + [a for a in self.cleaned_data.get("add_accounts", []) if a.pk not in seen]


# -- alert volume: the weekly cap per CSM ----------------------------------------------------


class WeeklyCapForm(forms.Form):
    """The organization's cap of new playbooks and alerts per CSM per week."""

    per_csm = forms.IntegerField(
        label=_("New playbooks and alerts per CSM per week"),
        min_value=0,
        max_value=10_000,
        required=False,
        help_text=_("Across all triggers. Empty: no cap."),
    )


class PersonaCapForm(TenantForm):
    """A persona whose triggers get a weekly budget per CSM of their own."""

    persona = forms.ModelChoiceField(label=_("Persona"), queryset=Persona.objects.none())
    per_csm = forms.IntegerField(
        label=_("Its triggers' playbooks and alerts per CSM per week"),
        min_value=0,
        max_value=10_000,
        required=False,
        help_text=_("Empty: its triggers are not capped."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["persona"].queryset = Persona.objects.order_by("name")


class PersonaCapRemoveForm(TenantForm):
    """The persona's triggers share the organization's cap again."""

    persona = forms.ModelChoiceField(queryset=Persona.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["persona"].queryset = Persona.objects.all()


class PersonaDraftForm(PersonaForm):
    """The persona form over a draft (what analysts and admins save; an admin publishes it).
    The slug must stay free among the organization's other personas."""

    class Meta(PersonaForm.Meta):
        model = PersonaDraft

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        taken = Persona.objects.filter(slug=slug)
        if self.instance.persona_id:
            taken = taken.exclude(pk=self.instance.persona_id)
        if taken.exists():
            raise forms.ValidationError(gettext("Another persona has this short name."))
        return slug
