"""The REST endpoints under /api/v1/: thin views over input and output serializers, the
selectors and the upsert services. Every request runs as its token's organization; a write is
one transaction (all or nothing), and a POST with an Idempotency-Key is done once."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import upserts
from health.selectors import (
    health_models,
    model_fitness,
    score_explanation,
    score_explanations_daily,
)
from orgs.timezones import org_today
from triggers.selectors import forecast_months, forecast_rows

from . import filters, records, selectors
from . import serializers as s
from .errors import Conflict, RecordError, RecordsInvalid
from .models import IdempotencyRecord

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")

ERRORS_EXAMPLE = OpenApiExample(
    "Validation errors",
    status_codes=["400"],
    response_only=True,
    value={
        "errors": [
            {"field": "date", "index": 3, "code": "invalid", "message": "2024-13-01 is not a date."}
        ]
    },
)


class ErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    index = serializers.IntegerField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorsSerializer(serializers.Serializer):
    errors = ErrorSerializer(many=True)


ERROR_RESPONSES = {
    400: ErrorsSerializer,
    401: ErrorsSerializer,
    403: ErrorsSerializer,
    404: ErrorsSerializer,
    429: ErrorsSerializer,
}
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string (e.g. a UUID). A retried POST with the same key and body "
    "gets the first answer again and is written once (keys are kept for 24 hours).",
)


def _org(request):
    return request._request.organization


def _write(fn, **kwargs):
    """Call an upsert service; what it refuses is a 400 naming each record and field."""
    try:
        return fn(**kwargs)
    except upserts.RecordsRefused as exc:
        raise RecordsInvalid([RecordError(f, m, i) for i, f, m in exc.errors]) from exc
    except upserts.PortfolioError as exc:
        raise RecordsInvalid([RecordError(exc.field, exc.message)]) from exc


class IdempotentPostMixin:
    """POST handled once per Idempotency-Key: the key is recorded in the request's own
    transaction, so a concurrent retry waits for it and then gets the stored answer; a key
    used again with another body is a 422; a failed request stores nothing."""

    def post(self, request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            with transaction.atomic():
                return self.handle_post(request, *args, **kwargs)
        if not _KEY_PATTERN.match(key):
            raise ValidationError(
                {IDEMPOTENCY_HEADER: [_("1 to 200 visible ASCII characters, no spaces.")]}
            )
        digest = hashlib.sha256(request.body).hexdigest()
        token = request.user.token
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.all_objects.create(
                        organization_id=token.organization_id,
                        token=token,
                        key=key,
                        path=request.path[:300],
                        request_hash=digest,
                    )
            except IntegrityError:
                record = IdempotencyRecord.all_objects.get(token=token, key=key)
                if record.request_hash != digest or record.path != request.path[:300]:
                    return Response(
                        {
                            "errors": [
                                {
                                    "field": IDEMPOTENCY_HEADER,
                                    "index": None,
                                    "code": "idempotency_key_reused",
                                    "message": _("This key was used for another request."),
                                }
                            ]
                        },
                        status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                    )
                if record.status_code is None:
                    raise Conflict(
                        _("The request with this key is still being processed.")
                    ) from None
                response = Response(record.response, status=record.status_code)
                response["Idempotent-Replayed"] = "true"
                return response
            response = self.handle_post(request, *args, **kwargs)
            record.status_code = response.status_code
            record.response = response.data
            record.save(update_fields=["status_code", "response"])
            return response


# -- one kind of record ------------------------------------------------------------------------


class Resource:
    """What the endpoints of one record kind are made of."""

    def __init__(
        self,
        *,
        kind,
        path,
        tag,
        selector,
        output,
        one_input,
        bulk_input,
        filterset,
        service,
        cursor_field=("updated_at", "datetime"),
        key_field=None,
        example=None,
        extra_write_kwargs=None,
        plain_bulk=None,
    ):
        self.kind = kind
        self.path = path
        self.tag = tag
        self.selector = selector
        self.output = output
        self.one_input = one_input
        self.bulk_input = bulk_input
        self.filterset = filterset
        self.service = service
        self.cursor_field = cursor_field
        self.key_field = key_field
        self.example = example or {}
        self.extra_write_kwargs = extra_write_kwargs or (lambda request: {})
        # (request, data) -> the result of a plain batch written the quick way, or None, and
        # then the batch is read, resolved and written the full way, which names each error
        self.plain_bulk = plain_bulk

    def write(self, request, records_):
        return _write(
            self.service, org=_org(request), records=records_, **self.extra_write_kwargs(request)
        )


def _list_view(res: Resource, *, writable: bool):
    bases = (IdempotentPostMixin, generics.ListAPIView) if writable else (generics.ListAPIView,)

    class ListView(*bases):
        serializer_class = res.output
        filterset_class = res.filterset
        cursor_field = res.cursor_field

        def get_queryset(self):
            return res.selector()

        @extend_schema(
            tags=[res.tag],
            summary=f"List {res.kind.name}",
            description="Ordered by last change, then id; follow `next` to read on.",
            responses={200: res.output(many=True), **ERROR_RESPONSES},
        )
        def get(self, request, *args, **kwargs):
            return super().get(request, *args, **kwargs)

        @extend_schema(
            tags=[res.tag],
            summary=f"Create or update one of the {res.kind.name}",
            description=f"Upserts by `{res.kind.key[0]}`: 201 when created, 200 when it "
            "existed (fields you leave out keep their stored value).",
            request=res.one_input,
            parameters=[IDEMPOTENCY_PARAMETER],
            responses={200: res.output, 201: res.output, **ERROR_RESPONSES},
            examples=[
                OpenApiExample("A record", value=res.example, request_only=True),
                ERRORS_EXAMPLE,
            ],
        )
        def post(self, request, *args, **kwargs):
            return super().post(request, *args, **kwargs)

        def handle_post(self, request):
            serializer = res.one_input(data=request.data)
            serializer.is_valid(raise_exception=True)
            record = dict(serializer.validated_data)
            result = res.write(request, [record])
            if result.ids:
                row = res.selector().get(pk=result.ids[0])
            else:  # usage rows are named by their key
                row = res.selector().get(**{k: record[k] for k in ("account_id", "metric", "date")})
            code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
            return Response(res.output(row).data, status=code)

    if not writable:
        del ListView.post, ListView.handle_post
    ListView.__name__ = ListView.__qualname__ = f"{res.output.__name__[:-6]}ListApi"
    return ListView


def _detail_view(res: Resource):
    class DetailView(generics.RetrieveAPIView):
        serializer_class = res.output

        def get_queryset(self):
            return res.selector()

        @extend_schema(
            tags=[res.tag],
            summary=f"One of the {res.kind.name}, by id",
            responses={200: res.output, **ERROR_RESPONSES},
        )
        def get(self, request, *args, **kwargs):
            return super().get(request, *args, **kwargs)

    DetailView.__name__ = DetailView.__qualname__ = f"{res.output.__name__[:-6]}DetailApi"
    return DetailView


def _by_key_view(res: Resource):
    key = res.kind.key[0]

    class ByKeyView(APIView):
        serializer_class = res.output

        def _row(self, value):
            row = res.selector().filter(**{key: value}).first()
            if row is None:
                raise Http404
            return row

        @extend_schema(
            tags=[res.tag],
            summary=f"One of the {res.kind.name}, by {key}",
            responses={200: res.output, **ERROR_RESPONSES},
        )
        def get(self, request, value):
            return Response(res.output(self._row(value)).data)

        @extend_schema(
            tags=[res.tag],
            summary=f"Create or replace one of the {res.kind.name} at its {key}",
            description="Idempotent: sending the same body again changes nothing. Fields "
            "you leave out keep their stored value.",
            request=res.one_input,
            responses={200: res.output, 201: res.output, **ERROR_RESPONSES},
            examples=[OpenApiExample("A record", value=res.example, request_only=True)],
        )
        def put(self, request, value):
            return self._save(request, value, partial=False)

        @extend_schema(
            tags=[res.tag],
            summary=f"Change some fields of one of the {res.kind.name}, by {key}",
            request=res.one_input,
            responses={200: res.output, **ERROR_RESPONSES},
        )
        def patch(self, request, value):
            self._row(value)
            return self._save(request, value, partial=True)

        def _save(self, request, value, *, partial):
            data = request.data if isinstance(request.data, dict) else {}
            if key in data and str(data[key]) != value:
                raise ValidationError(
                    {key: [_("Differs from the %(key)s in the URL.") % {"key": key}]}
                )
            serializer = res.one_input(data={**data, key: value}, partial=partial)
            serializer.is_valid(raise_exception=True)
            with transaction.atomic():
                result = res.write(request, [serializer.validated_data])
            row = res.selector().get(pk=result.ids[0])
            code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
            return Response(res.output(row).data, status=code)

    ByKeyView.__name__ = ByKeyView.__qualname__ = f"{res.output.__name__[:-6]}ByKeyApi"
    return ByKeyView


def _bulk_view(res: Resource):
    class BulkView(IdempotentPostMixin, APIView):
        serializer_class = res.bulk_input

        @extend_schema(
            tags=[res.tag],
            summary=f"Create or update up to {s.MAX_BULK:,} {res.kind.name} at once",
            description="Every record is checked first; if any is wrong nothing is written "
            "and each error names its record (`index`, from 0) and field. Records are "
            "matched by " + ", ".join(f"`{k}`" for k in res.kind.key) + "; sending the same "
            "batch again changes nothing (`unchanged`).",
            request=res.bulk_input,
            parameters=[IDEMPOTENCY_PARAMETER],
            responses={200: s.BulkResultSerializer, **ERROR_RESPONSES},
            examples=[
                OpenApiExample("A batch", value={"records": [res.example]}, request_only=True),
                OpenApiExample(
                    "Result",
                    value={"created": 1, "updated": 0, "unchanged": 0, "ids": [42]},
                    response_only=True,
                    status_codes=["200"],
                ),
                ERRORS_EXAMPLE,
            ],
        )
        def post(self, request, *args, **kwargs):
            return super().post(request, *args, **kwargs)

        def handle_post(self, request):
            with records.collector_paused():
                result = res.plain_bulk(request, request.data) if res.plain_bulk else None
                if result is None:
                    serializer = res.bulk_input(data=request.data)
                    serializer.is_valid(raise_exception=True)
                    result = res.write(request, serializer.validated_data["records"])
            return Response(
                {
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "ids": result.ids,
                }
            )

    BulkView.__name__ = BulkView.__qualname__ = f"{res.output.__name__[:-6]}BulkApi"
    return BulkView


def _usage_bulk_plain(request, data):
    """A bulk usage request whose records are plain (serializers.read_plain_columns: the
    same values, every account found in the organization, no key repeated), written as
    columns (upserts.usage_columns_upsert); None for anything else, which the full way reads
    and, when something is wrong, reports by record and field with nothing written."""
    raw = data.get("records") if isinstance(data, dict) else None
    if connection.vendor != "postgresql" or not isinstance(raw, list):
        return None
    if not 0 < len(raw) <= s.MAX_BULK:
        return None
    columns = s.read_plain_columns(records.USAGE, raw)
    if columns is None:
        return None
    return _write(
        upserts.usage_columns_upsert,
        org=_org(request),
        account_ids=columns["account_id"],
        metrics=columns["metric"],
        dates=columns["date"],
        values=columns["value"],
        accounts_resolved=True,  # found by their external ids in the organization
        distinct=True,  # read_plain_columns found no key repeated
    )


def _today(request):
    return {"today": org_today(_org(request))}


ACCOUNT = {
    "external_id": "ACC-1001",
    "name": "Padaria Estrela Ltda",
    "tier": "gold",
    "touch_model": "mid",
    "owner": "carla@example.com",
    "customer_since": "2023-03-01",
}
RESOURCES = [
    Resource(
        kind=records.ACCOUNTS,
        path="accounts",
        tag="Portfolio",
        selector=selectors.accounts_qs,
        output=s.AccountOutput,
        one_input=s.AccountInput,
        bulk_input=s.AccountBulkInput,
        filterset=filters.AccountFilter,
        service=upserts.accounts_upsert,
        example=ACCOUNT,
    ),
    Resource(
        kind=records.CONTACTS,
        path="contacts",
        tag="Portfolio",
        selector=selectors.contacts_qs,
        output=s.ContactOutput,
        one_input=s.ContactInput,
        bulk_input=s.ContactBulkInput,
        filterset=filters.ContactFilter,
        service=upserts.contacts_upsert,
        example={
            "external_id": "CT-77",
            "account": "ACC-1001",
            "name": "Marina Souza",
            "role": "champion",
            "email": "marina@padaria.example",
            "consent_given_at": "2024-02-01T10:00:00-03:00",
            "consent_source": "contract",
        },
    ),
    Resource(
        kind=records.PRODUCTS,
        path="products",
        tag="Portfolio",
        selector=selectors.products_qs,
        output=s.ProductOutput,
        one_input=s.ProductInput,
        bulk_input=s.ProductBulkInput,
        filterset=filters.ProductFilter,
        service=upserts.products_upsert,
        example={"code": "analytics", "name": "Analytics", "is_active": True},
    ),
    Resource(
        kind=records.SUBSCRIPTIONS,
        path="subscriptions",
        tag="Portfolio",
        selector=selectors.subscriptions_qs,
        output=s.SubscriptionOutput,
        one_input=s.SubscriptionInput,
        bulk_input=s.SubscriptionBulkInput,
        filterset=filters.SubscriptionFilter,
        service=upserts.subscriptions_upsert,
        extra_write_kwargs=_today,
        example={
            "external_id": "SUB-9",
            "account": "ACC-1001",
            "product": "analytics",
            "mrr": "1234.56",
            "start_date": "2024-01-01",
            "renewal_date": "2025-01-01",
        },
    ),
    Resource(
        kind=records.USAGE,
        path="usage",
        tag="Signals",
        selector=selectors.usage_qs,
        output=s.UsageOutput,
        one_input=s.UsageInput,
        bulk_input=s.UsageBulkInput,
        filterset=filters.UsageFilter,
        service=upserts.usage_upsert,
        # the input serializer found each account by its external id in the organization
        extra_write_kwargs=lambda request: {"accounts_resolved": True},
        plain_bulk=_usage_bulk_plain,
        cursor_field=("id", "int"),
        example={"account": "ACC-1001", "metric": "logins", "date": "2024-06-30", "value": 42},
    ),
    Resource(
        kind=records.TICKETS,
        path="tickets",
        tag="Signals",
        selector=selectors.tickets_qs,
        output=s.TicketOutput,
        one_input=s.TicketInput,
        bulk_input=s.TicketBulkInput,
        filterset=filters.TicketFilter,
        service=upserts.tickets_upsert,
        example={
            "external_id": "T-501",
            "account": "ACC-1001",
            "subject": "Cannot log in",
            "priority": "high",
            "opened_at": "2024-06-30T09:15:00Z",
            "sla_due_at": "2024-07-01T09:15:00Z",
        },
    ),
    Resource(
        kind=records.INVOICES,
        path="invoices",
        tag="Signals",
        selector=selectors.invoices_qs,
        output=s.InvoiceOutput,
        one_input=s.InvoiceInput,
        bulk_input=s.InvoiceBulkInput,
        filterset=filters.InvoiceFilter,
        service=upserts.invoices_upsert,
        example={
            "external_id": "NF-2024-0001",
            "account": "ACC-1001",
            "number": "0001",
            "issued_on": "2024-06-01",
            "due_on": "2024-06-30",
            "amount": "1234.56",
        },
    ),
    Resource(
        kind=records.SURVEYS,
        path="surveys",
        tag="Signals",
        selector=selectors.surveys_qs,
        output=s.SurveyOutput,
        one_input=s.SurveyInput,
        bulk_input=s.SurveyBulkInput,
        filterset=filters.SurveyFilter,
        service=upserts.surveys_upsert,
        example={
            "external_id": "NPS-3",
            "account": "ACC-1001",
            "contact": "marina@padaria.example",
            "kind": "nps",
            "score": 9,
            "answered_at": "2024-06-30T12:00:00Z",
        },
    ),
    Resource(
        kind=records.INTERACTIONS,
        path="interactions",
        tag="Signals",
        selector=selectors.interactions_qs,
        output=s.InteractionOutput,
        one_input=s.InteractionInput,
        bulk_input=s.InteractionBulkInput,
        filterset=filters.InteractionFilter,
        service=upserts.interactions_upsert,
        example={
            "external_id": "CRM-88",
            "account": "ACC-1001",
            "kind": "meeting",
            "occurred_at": "2024-06-30T15:00:00-03:00",
            "summary": "Quarterly review",
            "author": "carla@example.com",
        },
    ),
]


def resource_views(res: Resource) -> dict:
    views = {
        "list": _list_view(res, writable=True),
        "detail": _detail_view(res),
        "bulk": _bulk_view(res),
    }
    if res.kind.name != "usage":
        views["by_key"] = _by_key_view(res)
    return views


# -- reads of what the platform computes -------------------------------------------------------


def _read_list(name, output, selector, filterset, cursor_field, tag, description=""):
    class ReadList(generics.ListAPIView):
        serializer_class = output
        filterset_class = filterset

        def get_queryset(self):
            return selector()

        @extend_schema(
            tags=[tag],
            summary=f"List {name}",
            description=description,
            responses={200: output(many=True), **ERROR_RESPONSES},
        )
        def get(self, request, *args, **kwargs):
            return super().get(request, *args, **kwargs)

    ReadList.cursor_field = cursor_field
    ReadList.__name__ = ReadList.__qualname__ = f"{output.__name__[:-6]}ListApi"

    class ReadDetail(generics.RetrieveAPIView):
        serializer_class = output

        def get_queryset(self):
            return selector()

        @extend_schema(
            tags=[tag],
            summary=f"One of the {name}, by id",
            responses={200: output, **ERROR_RESPONSES},
        )
        def get(self, request, *args, **kwargs):
            return super().get(request, *args, **kwargs)

    ReadDetail.__name__ = ReadDetail.__qualname__ = f"{output.__name__[:-6]}DetailApi"
    return ReadList, ReadDetail


HealthScoreList, HealthScoreDetail = _read_list(
    "health scores",
    s.HealthScoreOutput,
    selectors.health_scores_qs,
    filters.HealthScoreFilter,
    ("date", "date"),
    "Health",
    "One row per account and day with the breakdown per indicator; an account's latest score "
    "is also on the account (`health_score`, `health_colour`, changes over 7 and 30 days).",
)
FiringList, FiringDetail = _read_list(
    "firings",
    s.FiringOutput,
    selectors.firings_qs,
    filters.FiringFilter,
    ("created_at", "datetime"),
    "Triggers",
)
AlertList, AlertDetail = _read_list(
    "alerts",
    s.AlertOutput,
    selectors.alerts_qs,
    filters.AlertFilter,
    ("created_at", "datetime"),
    "Triggers",
)
PlaybookList, PlaybookDetail = _read_list(
    "playbooks",
    s.PlaybookOutput,
    selectors.playbooks_qs,
    filters.PlaybookFilter,
    ("created_at", "datetime"),
    "Playbooks",
    "Playbooks with their steps, in creation order.",
)


# The longest stretch explained day by day in one request.
EXPLAIN_DAILY_MAX_DAYS = 366


class ScoreExplanation(APIView):
    @extend_schema(
        tags=["Health"],
        summary="Why an account's score moved",
        description="The change of one account's health score between two days, split by "
        "indicator: each line's contribution is the indicator's score × weight share on `to` "
        "minus the same on `from` (shares re-shared when an indicator was missing on one of "
        "the days, `reshared`), with the raw values behind it; `rounding` makes the lines add "
        "up to the change of the stored whole-number scores, and a change of model or model "
        "version between the days is `model_change`. Each day is the latest score on or "
        "before it. With `daily=true`, `days` also explains every scored day after `from` "
        "against the one before it (at most 366 days). The same numbers as "
        "`python manage.py health_explain`.",
        parameters=[
            OpenApiParameter("account", OpenApiTypes.STR, required=True),
            OpenApiParameter("from", OpenApiTypes.DATE, description="default: `to` − 30 days"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="default: today"),
            OpenApiParameter("daily", OpenApiTypes.BOOL, description="default: false"),
        ],
        responses={200: s.ScoreExplanationOutput, **ERROR_RESPONSES},
    )
    def get(self, request):
        query = s.ExplainQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        today = org_today(_org(request))
        to_day = q.get("to") or today
        from_day = q.get("from") or to_day - dt.timedelta(days=30)
        if to_day > today:
            raise ValidationError({"to": [_("%(day)s is after today.") % {"day": to_day}]})
        if from_day > to_day:
            raise ValidationError(
                {"from": [_("%(a)s is after `to` (%(b)s).") % {"a": from_day, "b": to_day}]}
            )
        if q["daily"] and (to_day - from_day).days > EXPLAIN_DAILY_MAX_DAYS:
            raise ValidationError(
                {
                    "daily": [
                        _("Explain at most %(n)s days day by day; narrow `from` and `to`.")
                        % {"n": EXPLAIN_DAILY_MAX_DAYS}
                    ]
                }
            )
        account = selectors.accounts_qs().filter(external_id=q["account"]).first()
        if account is None:
            raise Http404
        between = score_explanation(account=account, from_day=from_day, to_day=to_day)
        if between is None:
            raise ValidationError(
                {
                    "from": [
                        _("The account has no health score on or before %(day)s.")
                        % {"day": from_day}
                    ]
                }
            )
        asked = between.pop("asked")
        out = {"account": account.external_id, "asked": asked, "between": between}
        if q["daily"]:
            out["days"] = score_explanations_daily(
                account=account, from_day=from_day, to_day=to_day
            )
        return Response(out)


class FitnessReport(APIView):
    @extend_schema(
        tags=["Reports"],
        summary="Health model fitness",
        description="How well the scores separated the accounts that churned in the last 12 "
        "months from those that stayed, 30, 60 and 90 days ahead: AUC, churn rate per colour, "
        "with sample sizes (`churners`, `stayers`, `small` when fewer than 10 churners or 10 "
        "accounts in a band). The top level is every model's scores together; `models` gives "
        "each model with each indicator's own AUC and coverage (`keys`, `leads.*.indicators`). "
        "The same rule and numbers as `python manage.py health_fitness` and the model page: a "
        "churner counts with its score the lead before it churned, a stayer only if still a "
        "customer the lead after the reference day, either only with at least the lead of "
        "history before the scored day.",
        responses={200: OpenApiTypes.OBJECT, **ERROR_RESPONSES},
    )
    def get(self, request):
        org = _org(request)
        out = model_fitness(org=org)
        out["models"] = [
            {
                "id": model.pk,
                "name": model.name,
                "version": model.version,
                **model_fitness(org=org, model=model),
            }
            for model in health_models()
        ]
        return Response(out)


class ForecastRowSerializer(serializers.Serializer):
    month = serializers.DateField()
    persona = serializers.CharField(source="persona.slug", allow_null=True)
    product = serializers.CharField(source="product.code", allow_null=True)
    alerts_raised = serializers.IntegerField()
    expected_actions = serializers.IntegerField()
    accounts_at_risk = serializers.IntegerField()
    mrr_at_risk = serializers.DecimalField(max_digits=14, decimal_places=2)


class ForecastReport(APIView):
    @extend_schema(
        tags=["Reports"],
        summary="Retention forecast",
        description="The month's expected retention actions per persona and product (the "
        "latest month unless `?month=YYYY-MM-01`).",
        parameters=[OpenApiParameter("month", OpenApiTypes.DATE, OpenApiParameter.QUERY)],
        responses={200: ForecastRowSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request):
        months = forecast_months()
        raw = request.query_params.get("month")
        if raw:
            month = serializers.DateField().run_validation(raw)
        else:
            month = months[0] if months else None
        rows = forecast_rows(month=month) if month else []
        return Response(ForecastRowSerializer(rows, many=True).data)
