"""Forms of the portfolio pages: the portfolio filters and the owner reassignment."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from orgs.models import Organization, User
from orgs.relations import TenantForm
from orgs.selectors import org_members, org_workers

from .models import LifecycleStage, Persona, Tier, TouchModel
from .selectors import (
    HEALTH_CHANGE_STEP,
    PORTFOLIO_DEFAULT_SORT,
    PORTFOLIO_SORTS,
    PortfolioFilters,
)

OWNER_ME = "me"
OWNER_NONE = "none"
RENEWAL_WINDOWS = (30, 60, 90, 180)


def _user_label(user: User) -> str:
    return user.get_full_name() or user.username


def _with_blank(label: str, choices) -> list[tuple[str, str]]:
    return [("", label), *choices]


class _SortField(forms.ChoiceField):
    """The default sort is the empty choice, so URLs carry a sort only when it differs."""

    def to_python(self, value):
        value = super().to_python(value)
        return "" if value == PORTFOLIO_DEFAULT_SORT else value


class PortfolioFilterForm(TenantForm):
    """The portfolio's filters, read from the query string. Invalid values get an error on
    their field and are left out of the filters, so the page still renders."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Name or external id"),
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    persona = forms.ModelChoiceField(
        label=_("Persona"),
        queryset=Persona.objects.only("id", "name").order_by("priority", "name"),
        required=False,
        empty_label=_("Any persona"),
    )
    tier = forms.ChoiceField(
        label=_("Tier"), required=False, choices=_with_blank(_("Any tier"), Tier.choices)
    )
    touch_model = forms.ChoiceField(
        label=_("Touch model"),
        required=False,
        choices=_with_blank(_("Any touch model"), TouchModel.choices),
    )
    lifecycle_stage = forms.ChoiceField(
        label=_("Lifecycle stage"),
        required=False,
        choices=_with_blank(_("Any active stage"), LifecycleStage.choices),
    )
    renewal_within = forms.TypedChoiceField(
        label=_("Renews within"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=_with_blank(_("Any time"), [(str(d), f"{d} days") for d in RENEWAL_WINDOWS]),
    )
    renewal_from = forms.DateField(
        label=_("Renews from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    renewal_to = forms.DateField(
        label=_("Renews until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    include_churned = forms.BooleanField(label=_("Include churned accounts"), required=False)
    health_colour = forms.ChoiceField(
        label=_("Health"),
        required=False,
        choices=[
            ("", _("Any health")),
            ("red", _("Red")),
            ("yellow", _("Yellow")),
            ("green", _("Green")),
            ("none", _("Not scored")),
        ],
    )
    health_change = forms.ChoiceField(
        label=_("Health over 30 days"),
        required=False,
        choices=[
            ("", _("Any change")),
            ("falling", f"Fell {HEALTH_CHANGE_STEP}+ points"),
            ("rising", f"Rose {HEALTH_CHANGE_STEP}+ points"),
        ],
    )
    sort = _SortField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("" if key == PORTFOLIO_DEFAULT_SORT else key, label)
            for key, (label, _order) in PORTFOLIO_SORTS.items()
        ],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    # The filters folded under "More filters" (search, owner and sort are always in view).
    MORE_FIELDS = (
        "health_colour",
        "health_change",
        "persona",
        "tier",
        "touch_model",
        "lifecycle_stage",
        "renewal_within",
        "renewal_from",
        "renewal_to",
        "include_churned",
    )

    def __init__(self, data=None, *, org: Organization, user: User, today: dt.date, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(data, **kwargs)
        self.user = user
        self.today = today
        members = org_members(org=org).only("id", "username", "first_name", "last_name")
        self.fields["owner"].choices = [
            ("", _("Anyone")),
            (OWNER_ME, "Me"),
            (OWNER_NONE, "Unassigned"),
            *[(str(u.pk), _user_label(u)) for u in members],
        ]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("renewal_from"), cleaned.get("renewal_to")
        if start and end and start > end:
            self.add_error("renewal_to", _("Must be on or after the “Renews from” date."))
        return cleaned

    def filters(self) -> PortfolioFilters:
        """The valid part of the input as selector filters (call after is_valid())."""
        data = self.cleaned_data
        owner = data.get("owner") or ""
        owner_id = None
        if owner == OWNER_ME:
            owner_id = self.user.pk
        elif owner.isdigit():
            owner_id = int(owner)
        start, end = data.get("renewal_from"), data.get("renewal_to")
        if data.get("renewal_within"):
            start, end = self.today, self.today + dt.timedelta(days=data["renewal_within"])
        persona = data.get("persona")
        return PortfolioFilters(
            q=data.get("q") or "",
            persona_id=persona.pk if persona else None,
            tier=data.get("tier") or "",
            touch_model=data.get("touch_model") or "",
            owner_id=owner_id,
            unassigned=owner == OWNER_NONE,
            lifecycle_stage=data.get("lifecycle_stage") or "",
            renewal_from=start,
            renewal_to=end,
            include_churned=bool(data.get("include_churned")),
            health_colour=data.get("health_colour") or "",
            health_change=data.get("health_change") or "",
            sort=data.get("sort") or PORTFOLIO_DEFAULT_SORT,
        )

    def query_params(self, **overrides) -> dict[str, str]:
        """The valid, non-empty filters as query-string parameters (for links that keep
        them: sorting, paging), with `overrides` applied; an override of None drops a key."""
        params: dict[str, str] = {}
        for name, value in self.cleaned_data.items():
            if name == "page" or value in (None, "", False):
                continue
            if isinstance(value, Persona):
                value = value.pk
            elif value is True:
                value = "on"
            elif isinstance(value, dt.date):
                value = value.isoformat()
            params[name] = str(value)
        for name, value in overrides.items():
            if value is None or (name == "sort" and value == PORTFOLIO_DEFAULT_SORT):
                params.pop(name, None)
            else:
                params[name] = str(value)
        return params

    @property
    def is_mine(self) -> bool:
        return self.cleaned_data.get("owner") == OWNER_ME

    @property
    def more_filter_count(self) -> int:
        """How many of the folded filters are set (shown on the fold, which opens if any
        is set or wrong)."""
        return sum(
            1 for name in self.MORE_FIELDS if self.cleaned_data.get(name) not in (None, "", False)
        )

    @property
    def more_filters_have_errors(self) -> bool:
        return any(name in self.errors for name in self.MORE_FIELDS)


class AccountReassignForm(TenantForm):
    owner = forms.ModelChoiceField(
        label=_("New owner"), queryset=User.objects.none(), empty_label=_("Choose a person")
    )

    def __init__(self, data=None, *, org: Organization, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(data, **kwargs)
        self.fields["owner"].queryset = org_workers(org=org).only(
            "id", "username", "first_name", "last_name"
        )
        self.fields["owner"].label_from_instance = _user_label
