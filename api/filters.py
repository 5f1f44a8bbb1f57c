"""Query filters of the API's lists (django-filter). Relations are named by their keys, as
in the records: ?account=<external id>, ?owner=<email>, ?product=<code>."""

import django_filters as df
from django.utils.translation import gettext_lazy as _

from accounts import models as am
from health.models import Colour, HealthScore
from playbooks.models import Playbook, PlaybookKind, PlaybookStatus
from triggers.models import Alert, AlertStatus, Firing


class _Updated(df.FilterSet):
    updated_after = df.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label=_("Changed at or after (ISO 8601).")
    )


class AccountFilter(_Updated):
    owner = df.CharFilter(
        field_name="owner__email", lookup_expr="iexact", label=_("Owner's email.")
    )
    external_id = df.CharFilter()
    health_colour = df.ChoiceFilter(choices=Colour.choices)

    class Meta:
        model = am.Account
        fields = ["tier", "touch_model", "lifecycle_stage", "size_band", "region", "industry"]


def _account_filter(model, extra_fields=()):
    attrs = {
        "account": df.CharFilter(
            field_name="account__external_id", label=_("The account's external id.")
        ),
        "Meta": type("Meta", (), {"model": model, "fields": list(extra_fields)}),
    }
    return type(f"{model.__name__}Filter", (_Updated,), attrs)


ContactFilter = _account_filter(am.Contact, ["role", "email", "external_id"])
TicketFilter = _account_filter(am.Ticket, ["priority", "sla_breached", "external_id"])
InvoiceFilter = _account_filter(am.Invoice, ["external_id"])
SurveyFilter = _account_filter(am.SurveyResponse, ["kind", "external_id"])
InteractionFilter = _account_filter(am.Interaction, ["kind", "external_id"])


class ProductFilter(_Updated):
    class Meta:
        model = am.Product
        fields = ["code", "is_active"]


class SubscriptionFilter(_Updated):
    account = df.CharFilter(field_name="account__external_id")
    product = df.CharFilter(field_name="product__code")

    class Meta:
        model = am.Subscription
        fields = ["status", "external_id"]


class UsageFilter(df.FilterSet):
    account = df.CharFilter(field_name="account__external_id")
    date_from = df.DateFilter(field_name="date", lookup_expr="gte")
    date_to = df.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = am.UsageMetric
        fields = ["metric"]


class HealthScoreFilter(df.FilterSet):
    account = df.CharFilter(field_name="account__external_id")
    date_from = df.DateFilter(field_name="date", lookup_expr="gte")
    date_to = df.DateFilter(field_name="date", lookup_expr="lte")
    colour = df.ChoiceFilter(choices=Colour.choices)

    class Meta:
        model = HealthScore
        fields = ["date"]


class FiringFilter(df.FilterSet):
    account = df.CharFilter(field_name="account__external_id")
    trigger = df.CharFilter(field_name="trigger__name")
    fired_from = df.DateFilter(field_name="fired_on", lookup_expr="gte")
    fired_to = df.DateFilter(field_name="fired_on", lookup_expr="lte")

    class Meta:
        model = Firing
        fields = ["period"]


class AlertFilter(df.FilterSet):
    account = df.CharFilter(field_name="account__external_id")
    owner = df.CharFilter(field_name="owner__email", lookup_expr="iexact")
    status = df.ChoiceFilter(choices=AlertStatus.choices)

    class Meta:
        model = Alert
        fields = []


class PlaybookFilter(df.FilterSet):
    account = df.CharFilter(field_name="account__external_id")
    owner = df.CharFilter(field_name="owner__email", lookup_expr="iexact")
    status = df.ChoiceFilter(choices=PlaybookStatus.choices)
    kind = df.ChoiceFilter(choices=PlaybookKind.choices)
    opened_from = df.DateFilter(field_name="opened_on", lookup_expr="gte")
    opened_to = df.DateFilter(field_name="opened_on", lookup_expr="lte")

    class Meta:
        model = Playbook
        fields = []
