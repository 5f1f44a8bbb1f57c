"""The one filter bar of every report, kept in the URL: the period (month, quarter, year or
custom), persona, product, CSM and trigger kind. `ReportFilterForm` reads the query string
(invalid values are an error on their field and are left out, so the page still renders);
`ReportFilters` is what the selectors take, already validated, and writes itself back as a
query string for links, drill-downs and exports.

A CSM's filters always name themselves as the CSM: the reports show their own book."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Persona, Product
from orgs.models import Role, User
from orgs.relations import TenantForm
from orgs.selectors import org_members
from playbooks.models import PlaybookKind

from . import periods
from .periods import Period

FILTER_PARAMS = ("period", "at", "from", "to", "persona", "product", "csm", "kind")


@dataclass(frozen=True)
class ReportFilters:
    period: Period
    today: dt.date
    persona_id: int | None = None
    product_id: int | None = None
    owner_id: int | None = None  # the CSM: the accounts they own
    kind: str = ""  # trigger / playbook kind
    own_book: bool = False  # a CSM's reports: owner_id is theirs and cannot be changed
    labels: dict = field(default_factory=dict, compare=False)  # names of the chosen rows

    @property
    def date_from(self) -> dt.date:
        return self.period.first

    @property
    def date_to(self) -> dt.date:
        return self.period.last

    def params(self) -> dict[str, str]:
        """The filters as URL parameters (what the filter bar submits), empty ones left out."""
        out = {"period": self.period.kind}
        if self.period.kind == periods.CUSTOM:
            out["from"], out["to"] = self.period.first.isoformat(), self.period.last.isoformat()
        else:
            out["at"] = self.period.key
        for name, value in (
            ("persona", self.persona_id),
            ("product", self.product_id),
            ("csm", None if self.own_book else self.owner_id),
            ("kind", self.kind),
        ):
            if value not in (None, ""):
                out[name] = str(value)
        return out

    def querystring(self, **extra) -> str:
        params = {**self.params(), **{k: str(v) for k, v in extra.items() if v not in (None, "")}}
        return urlencode(params)

    def with_period(self, period: Period) -> ReportFilters:
        return replace(self, period=period)

    def describe(self) -> list[str]:
        """The filters in words, for the page, the CSV's first line and the command."""
        words = [self.period.label()]
        for key in ("persona", "product", "csm", "kind"):
            if self.labels.get(key):
                words.append(self.labels[key])
        return words


def _user_label(user: User) -> str:
    return user.get_full_name() or user.username


class _MemberChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _user_label(obj)


class ReportFilterForm(TenantForm):
    """The filter bar. The organization's personas, products and CSMs only (TenantForm); a
    CSM's own reports have no CSM field."""

    period = forms.ChoiceField(
        label=gettext_lazy("Period"),
        required=False,
        choices=[
            (periods.MONTH, gettext_lazy("Month")),
            (periods.QUARTER, gettext_lazy("Quarter")),
            (periods.YEAR, gettext_lazy("Year")),
            (periods.CUSTOM, gettext_lazy("Custom range")),
        ],
    )
    at = forms.CharField(label=gettext_lazy("Which"), required=False, max_length=10)
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    persona = forms.ModelChoiceField(
        label=gettext_lazy("Persona"),
        queryset=Persona.objects.only("id", "name").order_by("priority", "name"),
        required=False,
        empty_label=gettext_lazy("Every persona"),
    )
    product = forms.ModelChoiceField(
        label=gettext_lazy("Product"),
        queryset=Product.objects.only("id", "name").order_by("name"),
        required=False,
        empty_label=gettext_lazy("Every product"),
    )
    csm = _MemberChoice(
        label=gettext_lazy("CSM"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Every CSM"),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Trigger kind"),
        required=False,
        choices=[("", gettext_lazy("Every kind")), *PlaybookKind.choices],
    )

    def __init__(self, data=None, *, org, user: User, role: str, today: dt.date, **kwargs):
        kwargs.setdefault("label_suffix", "")
        # the URL names the custom range "from" and "to"
        if data is not None:
            data = data.copy()
            for url_name, field_name in (("from", "date_from"), ("to", "date_to")):
                if url_name in data and field_name not in data:
                    data[field_name] = data[url_name]
        self.org, self.user, self.today = org, user, today
        self.own_book = role == Role.CSM
        super().__init__(data, **kwargs)
        if self.own_book:
            del self.fields["csm"]
        else:
            self.fields["csm"].queryset = org_members(org=org, roles=[Role.CSM, Role.MANAGER])
        kind = (data or {}).get("period") or periods.QUARTER
        kind = kind if kind in periods.KINDS else periods.QUARTER
        self.period_kind = kind
        self.fields["at"].widget = forms.Select(
            choices=periods.period_choices(kind, today=today) or [("", "—")]
        )
        self.fields["at"].widget.attrs["data-autosubmit"] = ""
        self.fields["period"].widget.attrs["data-autosubmit"] = ""
        for name in self.fields:
            self.fields[name].widget.attrs.setdefault("id", f"filter-{name}")

    def clean(self):
        data = super().clean()
        kind = data.get("period") or periods.QUARTER
        data["period"] = kind
        if kind == periods.CUSTOM:
            first, last = data.get("date_from"), data.get("date_to")
            if "date_from" in self.errors or "date_to" in self.errors:
                return data
            if first is None or last is None:
                missing = "date_from" if first is None else "date_to"
                self.add_error(missing, _("A custom range needs both dates."))
                return data
            try:
                data["resolved"] = periods.custom_period(first, last, today=self.today)
            except periods.PeriodError as exc:
                self.add_error("date_from", _("Custom range: %(why)s.") % {"why": exc})
        else:
            key = data.get("at") or ""
            if not key:
                data["resolved"] = periods.period_containing(kind, self.today, today=self.today)
                return data
            try:
                data["resolved"] = periods.parse_period(kind, key, today=self.today)
            except periods.PeriodError as exc:
                # a key of another kind (the period select just changed): this kind's latest
                if self._is_other_kind(key, kind):
                    data["resolved"] = periods.period_containing(kind, self.today, today=self.today)
                else:
                    self.add_error(
                        "at", _("%(why)s.") % {"why": str(exc)[:1].upper() + str(exc)[1:]}
                    )
        return data

    @staticmethod
    def _is_other_kind(key: str, kind: str) -> bool:
        for other in (periods.MONTH, periods.QUARTER, periods.YEAR):
            if other != kind:
                try:
                    periods.parse_period(other, key, today=dt.date.max)
                    return True
                except periods.PeriodError:
                    continue
        return False

    def filters(self) -> ReportFilters:
        """The valid filters (a field in error is left out; the period falls back to the
        quarter so far)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        valid = lambda name: name not in self.errors and data.get(name)  # noqa: E731
        period = data.get("resolved") or periods.default_period(today=self.today)
        labels = {}
        persona, product = valid("persona"), valid("product")
        csm = self.user if self.own_book else valid("csm")
        if persona:
            labels["persona"] = _("Persona: %(name)s") % {"name": persona.name}
        if product:
            labels["product"] = _("Product: %(name)s") % {"name": product.name}
        if csm:
            labels["csm"] = _("CSM: %(name)s") % {"name": _user_label(csm)}
        kind = valid("kind") or ""
        if kind:
            labels["kind"] = _("Kind: %(kind)s") % {"kind": PlaybookKind(kind).label}
        return ReportFilters(
            period=period,
            today=self.today,
            persona_id=persona.pk if persona else None,
            product_id=product.pk if product else None,
            owner_id=csm.pk if csm else None,
            kind=kind,
            own_book=self.own_book,
            labels=labels,
        )

    def show(self, filters: ReportFilters) -> None:
        """Show the period the report is for (a default, or a period whose select just
        changed kind) in the filter bar; fields in error keep what was typed."""
        data = self.data.copy()
        period = filters.period
        if "period" not in self.errors:
            data["period"] = period.kind
        if period.kind == periods.CUSTOM:
            data["date_from"], data["date_to"] = period.first.isoformat(), period.last.isoformat()
        elif "at" not in self.errors:
            data["at"] = period.key
            widget = self.fields["at"].widget
            if period.key not in {value for value, _label in widget.choices}:
                widget.choices = [*widget.choices, (period.key, period.label())]
        self.period_kind = period.kind
        self.data = data
