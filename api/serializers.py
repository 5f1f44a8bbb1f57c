"""Input and output serializers of the REST API.

Input serializers are built from the record kinds (api/records/): their fields describe
the schema, and validating reads each value with the same reader the CSV import uses, then
resolves the relations inside the request's organization (api/resolve.py, through
orgs.relations.relation_scope), so another organization's key is a 400 on its field. Bulk
serializers read up to MAX_BULK records at once, set-based, and name each error's index.
Output serializers shape stored rows."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import models as am
from health.models import HealthScore
from orgs.relations import relation_scope
from orgs.tenancy import current_org_id
from orgs.timezones import org_zone
from playbooks.models import Playbook, PlaybookStep
from triggers.models import Alert, Firing

from . import records as rec
from .errors import RecordError, RecordsInvalid
from .resolve import Resolver, resolve

MAX_BULK = 10_000


@extend_schema_field(OpenApiTypes.STR)
class TenantKeyRelatedField(serializers.SlugRelatedField):
    """A relation named by the other row's key, offered and accepted only inside the
    request's organization (orgs.relations.relation_scope)."""

    def get_queryset(self):
        org_id = current_org_id()
        return relation_scope(self.model, org_id) if org_id else self.model.all_objects.none()

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)


_FIELD_TYPES = {
    "text": lambda c, kw: serializers.CharField(max_length=c.max_length, allow_blank=True, **kw),
    "email": lambda c, kw: serializers.EmailField(allow_blank=True, **kw),
    "slug": lambda c, kw: serializers.SlugField(max_length=c.max_length, **kw),
    "decimal": lambda c, kw: serializers.DecimalField(
        max_digits=14, decimal_places=c.places, min_value=c.minimum, max_value=c.maximum, **kw
    ),
    "number": lambda c, kw: serializers.FloatField(min_value=c.minimum, max_value=c.maximum, **kw),
    "integer": lambda c, kw: serializers.IntegerField(
        min_value=c.minimum, max_value=c.maximum, **kw
    ),
    "date": lambda c, kw: serializers.DateField(**kw),
    "datetime": lambda c, kw: serializers.DateTimeField(**kw),
    "boolean": lambda c, kw: serializers.BooleanField(**kw),
    # the model's (value, label) pairs, as the output serializers show them: one enum each
    "choice": lambda c, kw: serializers.ChoiceField(
        choices=list(getattr(c.choices, "model_choices", None) or [(v, v) for v, _ in c.choices]),
        **kw,
    ),
}


def _declared_field(col: rec.Column):
    kw = {"required": col.required, "help_text": str(col.help) or None}
    if not col.required:
        kw["allow_null"] = True
    if col.ref is not None:
        slug = {"email": "email", "name": "name"}.get(col.ref.key, col.ref.key)
        return TenantKeyRelatedField(col.ref.model, slug_field=slug, **kw)
    return _FIELD_TYPES[col.type_name](col, kw)


def _org_zone():
    from orgs.models import Organization

    org = Organization.objects.filter(pk=current_org_id()).first()
    return org_zone(org) if org else None


def read_records(kind: rec.Kind, raw_records: list, *, partial: bool = False) -> list[dict]:
    """Read and resolve `raw_records` (JSON objects) for the current organization: the
    records under the model's column names, or RecordsInvalid with every error (index,
    field), nothing written."""
    zone = _org_zone()
    errors: list[RecordError] = []
    values: list[dict] = []
    objects = [raw for raw in raw_records if isinstance(raw, dict)]
    read = iter(rec.parse_records(kind, objects, rec.JSON, zone=zone, partial=partial))
    for index, raw in enumerate(raw_records):
        if not isinstance(raw, dict):
            errors.append(RecordError(None, _("Expected an object."), index))
            values.append({})
            continue
        parsed = next(read)
        errors += [RecordError(f, m, index) for f, m in parsed.errors]
        values.append(parsed.values)
    seen: dict[tuple, int] = {}
    for index, v in enumerate(values):
        if not v or partial:
            continue
        k = rec.natural_key(kind, v)
        if k in seen:
            errors.append(
                RecordError(
                    kind.key[0],
                    _("Repeats record %(first)s (the same key).") % {"first": seen[k]},
                    index,
                )
            )
        else:
            seen[k] = index
    if not errors:
        problems = resolve(kind, values, Resolver(current_org_id()))
        errors += [RecordError(f, m, i) for i, found in enumerate(problems) for f, m in found]
    if errors:
        raise RecordsInvalid(sorted(errors, key=lambda e: (e.index or 0, e.field or "")))
    return values


def read_plain_columns(kind: rec.Kind, raw_records: list) -> dict[str, list] | None:
    """A plain batch (api.records.read_columns) read and resolved for the current
    organization as columns under the model's column names ({"account_id": [...], "metric":
    [...], ...}), the values `read_records` gives, or None: not plain, a key repeated, a
    relation not found (or by a contact's email, which depends on the record's account).
    None means "read it the full way": `read_records` then names each problem by record and
    field, so the errors a client sees come from one place whichever way is tried first."""
    columns = rec.read_columns(kind, raw_records, rec.JSON)
    if columns is None:
        return None
    keys = [columns[name] for name in kind.key]
    if len(set(zip(*keys, strict=True))) != len(raw_records):
        return None
    resolver = Resolver(current_org_id())
    for col in kind.columns:
        if col.ref is None:
            continue
        if col.ref.model is am.Contact:
            return None
        ids = resolver.found(col, columns.pop(col.name))
        if ids is None:
            return None
        columns[col.column] = ids
    return columns


class RecordInputSerializer(serializers.Serializer):
    """One record of `kind`; its validated data is the record under the model's columns."""

    record_kind: rec.Kind  # not `kind`: a record's field may be called that

    def to_internal_value(self, data):
        try:
            (record,) = read_records(self.record_kind, [data], partial=self.partial)
        except RecordsInvalid as exc:
            raise RecordsInvalid(
                [RecordError(e.field, e.message, None, e.code) for e in exc.errors]
            ) from None
        return record


class BulkInputSerializer(serializers.Serializer):
    """Up to MAX_BULK records of `kind`, all valid or none written."""

    record_kind: rec.Kind

    def to_internal_value(self, data):
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise serializers.ValidationError({"records": [_("Expected a list of records.")]})
        if not records:
            raise serializers.ValidationError({"records": [_("Send at least one record.")]})
        if len(records) > MAX_BULK:
            raise serializers.ValidationError(
                {
                    "records": [
                        _("At most %(max)s records a request (got %(n)s).")
                        % {"max": f"{MAX_BULK:,}", "n": f"{len(records):,}"}
                    ]
                }
            )
        return {"records": read_records(self.record_kind, records)}


def _input_serializers(kind: rec.Kind, name: str):
    fields = {c.name: _declared_field(c) for c in kind.columns}
    one = type(f"{name}Input", (RecordInputSerializer,), {**fields, "record_kind": kind})
    doc_item = type(f"{name}BulkItem", (serializers.Serializer,), dict(fields))
    bulk = type(
        f"{name}BulkInput",
        (BulkInputSerializer,),
        {
            "record_kind": kind,
            "records": doc_item(many=True, help_text=f"1 to {MAX_BULK:,} records."),
        },
    )
    return one, bulk


AccountInput, AccountBulkInput = _input_serializers(rec.ACCOUNTS, "Account")
ContactInput, ContactBulkInput = _input_serializers(rec.CONTACTS, "Contact")
ProductInput, ProductBulkInput = _input_serializers(rec.PRODUCTS, "Product")
SubscriptionInput, SubscriptionBulkInput = _input_serializers(rec.SUBSCRIPTIONS, "Subscription")
UsageInput, UsageBulkInput = _input_serializers(rec.USAGE, "Usage")
TicketInput, TicketBulkInput = _input_serializers(rec.TICKETS, "Ticket")
InvoiceInput, InvoiceBulkInput = _input_serializers(rec.INVOICES, "Invoice")
SurveyInput, SurveyBulkInput = _input_serializers(rec.SURVEYS, "Survey")
InteractionInput, InteractionBulkInput = _input_serializers(rec.INTERACTIONS, "Interaction")


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text=gettext_lazy("The row of each record, in order."),
    )


# -- outputs ---------------------------------------------------------------------------------


def _key(source: str, **kw):
    return serializers.CharField(source=source, read_only=True, allow_null=True, **kw)


class AccountOutput(serializers.ModelSerializer):
    owner = _key("owner.email", help_text=gettext_lazy("The owning CSM's email."))
    churn_reason = _key("churn_reason.name")
    persona = _key("persona.slug")

    class Meta:
        model = am.Account
        fields = [
            "id",
            "external_id",
            "name",
            "industry",
            "region",
            "size_band",
            "tier",
            "touch_model",
            "acquisition_channel",
            "relationship_channel",
            "owner",
            "lifecycle_stage",
            "customer_since",
            "churned_at",
            "churn_reason",
            "notes",
            "persona",
            "mrr",
            "renewal_date",
            "health_score",
            "health_colour",
            "health_change_7d",
            "health_change_30d",
            "health_scored_on",
            "created_at",
            "updated_at",
        ]


class ContactOutput(serializers.ModelSerializer):
    account = _key("account.external_id")

    class Meta:
        model = am.Contact
        fields = [
            "id",
            "external_id",
            "account",
            "account_id",
            "name",
            "title",
            "role",
            "email",
            "phone",
            "consent_given_at",
            "consent_source",
            "consent_withdrawn_at",
            "updated_at",
        ]


class ProductOutput(serializers.ModelSerializer):
    class Meta:
        model = am.Product
        fields = ["id", "code", "name", "description", "is_active", "updated_at"]


class SubscriptionOutput(serializers.ModelSerializer):
    account = _key("account.external_id")
    product = _key("product.code")

    class Meta:
        model = am.Subscription
        fields = [
            "id",
            "external_id",
            "account",
            "account_id",
            "product",
            "mrr",
            "start_date",
            "end_date",
            "renewal_date",
            "status",
            "renewals_count",
            "discount_pct",
            "updated_at",
        ]


class UsageOutput(serializers.ModelSerializer):
    account = _key("account.external_id")

    class Meta:
        model = am.UsageMetric
        fields = ["id", "account", "account_id", "metric", "date", "value"]


class TicketOutput(serializers.ModelSerializer):
    account = _key("account.external_id")

    class Meta:
        model = am.Ticket
        fields = [
            "id",
            "external_id",
            "account",
            "account_id",
            "subject",
            "priority",
            "opened_at",
            "closed_at",
            "sla_due_at",
            "sla_breached",
            "updated_at",
        ]


class InvoiceOutput(serializers.ModelSerializer):
    account = _key("account.external_id")

    class Meta:
        model = am.Invoice
        fields = [
            "id",
            "external_id",
            "account",
            "account_id",
            "number",
            "issued_on",
            "due_on",
            "paid_on",
            "amount",
            "discount_amount",
            "updated_at",
        ]


class SurveyOutput(serializers.ModelSerializer):
    account = _key("account.external_id")
    contact = _key("contact.email")

    class Meta:
        model = am.SurveyResponse
        fields = [
            "id",
            "external_id",
            "account",
            "account_id",
            "contact",
            "kind",
            "score",
            "comment",
            "answered_at",
            "updated_at",
        ]


class InteractionOutput(serializers.ModelSerializer):
    account = _key("account.external_id")
    contact = _key("contact.email")
    author = _key("author.email")

    class Meta:
        model = am.Interaction
        fields = [
            "id",
            "external_id",
            "account",
            "account_id",
            "contact",
            "author",
            "kind",
            "occurred_at",
            "summary",
            "notes",
            "updated_at",
        ]


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "number", "nullable": True}},
        "description": "Per indicator: [raw value, score 0-100, weight share] (null: missing).",
    }
)
class BreakdownField(serializers.JSONField):
    pass


class HealthScoreOutput(serializers.ModelSerializer):
    account = _key("account.external_id")
    model = _key("model.name")
    # stored compact or as JSON (HealthScore); the API shows the one shape
    breakdown = BreakdownField(source="breakdown_dict", read_only=True)
    missing = serializers.ListField(
        child=serializers.CharField(), source="missing_keys", read_only=True
    )

    class Meta:
        model = HealthScore
        fields = [
            "id",
            "account",
            "account_id",
            "date",
            "model",
            "model_version",
            "score",
            "colour",
            "breakdown",
            "missing",
        ]


class FiringOutput(serializers.ModelSerializer):
    trigger = _key("trigger.name")
    account = _key("account.external_id")

    class Meta:
        model = Firing
        fields = [
            "id",
            "trigger",
            "trigger_id",
            "account",
            "account_id",
            "period",
            "fired_on",
            "trigger_version",
            "evidence",
            "evidence_text",
            "playbook_id",
            "created_at",
        ]


class AlertOutput(serializers.ModelSerializer):
    account = _key("account.external_id")
    owner = _key("owner.email")
    decided_by = _key("decided_by.email")

    class Meta:
        model = Alert
        fields = [
            "id",
            "firing_id",
            "account",
            "account_id",
            "owner",
            "status",
            "decided_at",
            "decided_by",
            "dismiss_reason",
            "playbook_id",
            "created_at",
        ]


class StepOutput(serializers.ModelSerializer):
    assignee = _key("assignee.email")
    completed_by = _key("completed_by.email")

    class Meta:
        model = PlaybookStep
        fields = [
            "id",
            "order",
            "title",
            "instructions",
            "due_on",
            "assignee",
            "status",
            "completed_at",
            "completed_by",
            "notes",
        ]


class PlaybookOutput(serializers.ModelSerializer):
    account = _key("account.external_id")
    owner = _key("owner.email")
    template = _key("template.name")
    opportunity_product = _key("opportunity_product.code")
    churn_reason = _key("churn_reason.name")
    steps = StepOutput(many=True, read_only=True)

    class Meta:
        model = Playbook
        fields = [
            "id",
            "account",
            "account_id",
            "template",
            "kind",
            "title",
            "owner",
            "status",
            "opened_on",
            "due_on",
            "closed_at",
            "origin",
            "origin_label",
            "origin_ref",
            "evidence",
            "evidence_text",
            "outcome",
            "opportunity_product",
            "expected_mrr",
            "mrr_won",
            "churn_reason",
            "outcome_notes",
            "created_at",
            "steps",
        ]


class PlaybookSummary(PlaybookOutput):
    """A playbook without its steps (what a webhook carries)."""

    class Meta(PlaybookOutput.Meta):
        fields = [f for f in PlaybookOutput.Meta.fields if f != "steps"]


# -- why a score moved (health.explain.explain_move's shape, documented) --------------------


class ExplainQuery(serializers.Serializer):
    """The query of an account's score explanation; `from`/`to` are read by their names."""

    account = serializers.CharField(help_text="The account's external id.")
    to = serializers.DateField(required=False, help_text="The later day (default: today).")
    daily = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also explain each scored day against the one before it (up to 366 days).",
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False, help_text="The earlier day (default: `to` − 30 days)."
        )
        return fields


class ExplainSideOutput(serializers.Serializer):
    date = serializers.DateField(
        help_text="The scored day used (the latest on or before the asked one)."
    )
    score = serializers.FloatField(allow_null=True)
    colour = serializers.CharField()
    model = serializers.CharField(allow_null=True, help_text="The model's name.")
    model_version = serializers.IntegerField()
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Indicators without data that day."
    )


class ExplainLineOutput(serializers.Serializer):
    key = serializers.CharField(help_text="measure[:window[:metric]]")
    measure = serializers.CharField()
    label = serializers.CharField()
    from_raw = serializers.FloatField(allow_null=True)
    to_raw = serializers.FloatField(allow_null=True)
    from_score = serializers.FloatField(allow_null=True)
    to_score = serializers.FloatField(allow_null=True)
    from_share = serializers.FloatField(help_text="Weight share after re-sharing (0: missing).")
    to_share = serializers.FloatField()
    contribution = serializers.FloatField(
        help_text="score × share on `to` minus score × share on `from` (points of the change)."
    )
    reshared = serializers.BooleanField(
        help_text="Its share changed because another indicator was missing on one of the days."
    )
    missing_on = serializers.ListField(child=serializers.CharField())
    absent_on = serializers.ListField(
        child=serializers.CharField(), help_text="Days whose model did not have the indicator."
    )
    text = serializers.CharField(help_text="The raw values in words, e.g. “active 18 → 9 days”.")


class ModelChangeOutput(serializers.Serializer):
    from_model = serializers.CharField(allow_null=True)
    to_model = serializers.CharField(allow_null=True)
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    same_model = serializers.BooleanField()


class ExplanationOutput(serializers.Serializer):
    from_ = ExplainSideOutput()
    to = ExplainSideOutput()
    change = serializers.FloatField(allow_null=True, help_text="Score on `to` minus on `from`.")
    lines = ExplainLineOutput(many=True, help_text="Largest contribution first.")
    rounding = serializers.FloatField(
        allow_null=True, help_text="change − sum of contributions (scores are whole numbers)."
    )
    reshared = serializers.BooleanField()
    model_change = ModelChangeOutput(
        allow_null=True, help_text="The days were scored by different models or versions."
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class ScoreExplanationOutput(serializers.Serializer):
    account = serializers.CharField()
    asked = serializers.DictField(child=serializers.DateField(), help_text="from and to as asked.")
    between = ExplanationOutput(help_text="The whole move from `from` to `to`.")
    days = ExplanationOutput(
        many=True,
        required=False,
        help_text="With daily=true: each scored day against the one before, oldest first.",
    )
