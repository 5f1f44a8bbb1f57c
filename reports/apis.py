"""The four reports' figures over the REST API, GET /api/v1/reports/<name>/: the same numbers
`manage.py report --name <name> --format json` prints (reports.runs builds both), with the
filter bar's arguments. Authentication, permission, throttling and the error shape are the
API's, taken from DRF's settings (no import of the api app: page apps stand apart)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from orgs.cli import EARLIEST_DAY, MAX_RANGE_DAYS
from orgs.timezones import org_today
from playbooks.models import PlaybookKind

from .definitions import REPORTS, ReportSpec
from .runs import (
    ReportArgError,
    report_as_json,
    report_filters_from_args,
    report_params_from_args,
    report_run,
)


class _Error(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    index = serializers.IntegerField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ReportErrorsSerializer(serializers.Serializer):
    errors = _Error(many=True)


class _Table(serializers.Serializer):
    title = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.DictField())
    totals = serializers.ListField(child=serializers.DictField())


class _Filters(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    described = serializers.ListField(child=serializers.CharField())

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class ReportFiguresSerializer(serializers.Serializer):
    organization = serializers.CharField()
    report = serializers.CharField()
    title = serializers.CharField()
    filters = _Filters()
    figures = serializers.DictField(
        help_text=gettext_lazy("The headline figures by key (numbers, null when undefined).")
    )
    tables = serializers.DictField(
        child=_Table(), help_text=gettext_lazy("Every table of the report by key.")
    )


class ReportQuerySerializer(serializers.Serializer):
    """The filter bar: the period (days in the organization's time zone) and the segment."""

    from_ = serializers.DateField(help_text=gettext_lazy("First day (YYYY-MM-DD)."))
    to = serializers.DateField(
        required=False, help_text=gettext_lazy("Last day (YYYY-MM-DD); default today.")
    )
    persona = serializers.CharField(
        required=False, max_length=200, help_text=gettext_lazy("A persona's slug.")
    )
    product = serializers.CharField(
        required=False, max_length=200, help_text=gettext_lazy("A product's code.")
    )
    csm = serializers.CharField(
        required=False,
        max_length=150,
        help_text=gettext_lazy("A CSM's username: their own book."),
    )
    kind = serializers.ChoiceField(
        choices=PlaybookKind.choices, required=False, help_text=gettext_lazy("Trigger kind.")
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs):
        today = self.context["today"]
        first, last = attrs["from"], attrs.get("to") or today
        for name, day in (("from", first), ("to", last)):
            if day < EARLIEST_DAY:
                raise ValidationError(
                    {
                        name: _("%(day)s is before %(earliest)s.")
                        % {"day": day, "earliest": EARLIEST_DAY}
                    }
                )
            if day > today:
                raise ValidationError(
                    {
                        name: _("%(day)s is in the future (today is %(today)s).")
                        % {"day": day, "today": today}
                    }
                )
        if first > last:
            raise ValidationError(
                {"from": _("%(first)s is after to %(last)s.") % {"first": first, "last": last}}
            )
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError(
                {"from": _("A report covers at most %(days)s days.") % {"days": MAX_RANGE_DAYS}}
            )
        attrs["to"] = last
        return attrs


def _param_parameters(spec: ReportSpec) -> list[OpenApiParameter]:
    out = []
    for param in spec.params:
        if param.integer:
            out.append(OpenApiParameter(param.name, OpenApiTypes.INT, description=str(param.label)))
        else:
            out.append(
                OpenApiParameter(
                    param.name,
                    OpenApiTypes.STR,
                    enum=[value for value, _label in param.choices],
                    description=f"{param.label} (default {param.default})",
                )
            )
    return out


class ReportFigures(APIView):
    """One report's figures; `spec` is set per report by `report_view`."""

    spec: ReportSpec

    def get(self, request):
        org = request._request.organization
        query = ReportQuerySerializer(data=request.query_params, context={"today": org_today(org)})
        query.is_valid(raise_exception=True)
        args = query.validated_data
        try:
            f = report_filters_from_args(
                org=org,
                first=args["from"],
                last=args["to"],
                today=org_today(org),
                persona=args.get("persona"),
                product=args.get("product"),
                csm=args.get("csm"),
                kind=args.get("kind"),
            )
            params = report_params_from_args(self.spec, request.query_params)
        except ReportArgError as exc:
            raise ValidationError({exc.name: exc.message}) from None
        report = report_run(org=org, spec=self.spec, filters=f, params=params)
        return Response(report_as_json(org, report, f))


def report_view(name: str):
    """The view of report `name`, described in the schema with its own parameters."""
    spec = REPORTS[name]

    def get(self, request):
        return ReportFigures.get(self, request)

    # a function of its own per report: extend_schema marks the function it decorates
    get = extend_schema(
        tags=["Reports"],
        operation_id=f"reports_{name}_figures",
        summary=str(spec.title()),
        description=str(spec.summary())
        + "\n\nThe same numbers as `python manage.py report --name "
        + name
        + " --format json`: every headline figure and every table (rows and totals), "
        "rounded as the page shows them.",
        parameters=[ReportQuerySerializer, *_param_parameters(spec)],
        responses={
            200: ReportFiguresSerializer,
            400: ReportErrorsSerializer,
            401: ReportErrorsSerializer,
            403: ReportErrorsSerializer,
            429: ReportErrorsSerializer,
        },
    )(get)
    return type(
        f"{name.title().replace('_', '')}Figures", (ReportFigures,), {"spec": spec, "get": get}
    )
