"""The health model editor's pages, in the configuration area: the models, a model's draft
(fields and indicators edited in place, the preview over today's accounts before and after),
publishing (admins), the versions side by side and restoring one as a draft, and "use these"
weights from the model page's suggestion. Admins and analysts open it; analysts draft; only
admins publish; every other role is refused (403)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Account, Persona
from health.measures import MEASURES, measure_label, metric_label
from health.models import (
    Direction,
    FitnessKind,
    FitnessSnapshot,
    HealthModel,
    HealthModelVersion,
)
from orgs.web import is_fragment_request, request_today

from .health_drafts import (
    health_model_draft_from_model,
    health_model_draft_publish,
    health_model_draft_restore,
    health_model_draft_save,
    health_model_draft_use_weights,
)
from .health_forms import HealthModelDraftForm, IndicatorFormSet
from .health_preview import COLOURS
from .health_preview import health_model_preview as preview_compute
from .models import HealthModelDraft
from .services import draft_discard
from .views import _is_admin, admins_only, configure

PREVIEW_ACCOUNTS = 200
COLOUR_NAMES = {
    "red": _("red"),
    "yellow": _("yellow"),
    "green": _("green"),
    "none": _("no data"),
}


def _model(pk: int) -> HealthModel:
    try:
        return HealthModel.objects.select_related("persona").get(pk=pk)
    except HealthModel.DoesNotExist:
        raise Http404(_("Not found.")) from None


def _draft_or_live(model: HealthModel) -> tuple[HealthModelDraft, bool]:
    """The model's saved draft, or an unsaved one holding the live model (False)."""
    draft = HealthModelDraft.objects.filter(model=model).first()
    if draft is not None:
        draft.model = model
        return draft, True
    return health_model_draft_from_model(model=model), False


@configure
@require_GET
def health_model_list(request: HttpRequest) -> HttpResponse:
    models = list(HealthModel.objects.select_related("persona", "draft").order_by("name"))
    return render(request, "configuration/health_model_list.html", {"models": models})


def _row_hints(rows: list[dict], red_max: int, yellow_max: int) -> list[dict]:
    """Per row: its share of the weights (%) and the raw values where its score leaves red
    and yellow (bad + (good - bad) * band / 100). The score is 0 at `bad` and 100 at `good`
    (health.scoring), so for a lower-is-better indicator those values bound red from below."""
    total = sum(r["weight"] for r in rows if r.get("weight") and r["weight"] > 0)
    hints = []
    for r in rows:
        bad, good, weight = r.get("bad_value"), r.get("good_value"), r.get("weight")
        hint = {"share": round(100 * weight / total) if total and weight else None}
        if bad is not None and good is not None and bad != good:
            hint["red_to"] = round(bad + (good - bad) * red_max / 100, 2)
            hint["yellow_to"] = round(bad + (good - bad) * yellow_max / 100, 2)
            # lower is better (bad above good): the score falls as the value rises, so red
            # is the top of the range, not the bottom
            hint["lower_is_better"] = bad > good
        hints.append(hint)
    return hints


def _formset_rows(formset) -> list[dict]:
    """What each row of the formset says, valid or not (for the hints)."""
    rows = []
    for form in formset.forms:
        data = form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else {}
        if not form.is_bound:
            data = form.initial
        rows.append({k: data.get(k) for k in ("bad_value", "good_value", "weight")})
    return rows


def _render_draft(request, model, draft, saved, form, formset, status=200):
    red = form.cleaned_data.get("red_max") if form.is_bound and form.is_valid() else draft.red_max
    yellow = (
        form.cleaned_data.get("yellow_max")
        if form.is_bound and form.is_valid()
        else draft.yellow_max
    )
    hints = _row_hints(
        [
            {k: (v if isinstance(v, (int, float)) else None) for k, v in r.items()}
            for r in _formset_rows(formset)
        ],
        red or 0,
        yellow or 0,
    )
    return render(
        request,
        "configuration/health_draft.html",
        {
            "model": model,
            "draft": draft,
            "saved": saved,
            "form": form,
            "formset": formset,
            "rows": list(zip(formset.forms, hints, strict=True)),
            "can_publish": _is_admin(request),
            "measures": MEASURES,
        },
        status=status,
    )


def _bound(request, draft):
    form = HealthModelDraftForm(request.POST, instance=draft)
    formset = IndicatorFormSet(request.POST, prefix="ind")
    return form, formset


def _with_one_more_row(post: QueryDict) -> QueryDict:
    data = post.copy()
    total = int(data.get("ind-TOTAL_FORMS") or 0)
    data["ind-TOTAL_FORMS"] = str(total + 1)
    data[f"ind-{total}-weight"] = "1"
    data[f"ind-{total}-direction"] = "higher"
    return data


@configure
@require_http_methods(["GET", "POST"])
def health_model_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The model's draft (the live model's values until one is saved): GET shows it, a post
    with `add_indicator` adds an empty row (saving nothing), a post saves the draft."""
    model = _model(pk)
    draft, saved = _draft_or_live(model)
    if request.method == "POST":
        if "add_indicator" in request.POST:
            data = _with_one_more_row(request.POST)
            form = HealthModelDraftForm(data, instance=draft)
            formset = IndicatorFormSet(data, prefix="ind")
            form.is_valid()
            formset.is_valid()
            return _render_draft(request, model, draft, saved, form, formset)
        form, formset = _bound(request, draft)
        form_ok, rows_ok = form.is_valid(), formset.is_valid()
        if form_ok and rows_ok:
            try:
                health_model_draft_save(
                    draft=form.save(commit=False),
                    indicators=formset.rows(),
                    acting_user=request.user,
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, _("Draft saved. No score changes until it is published."))
                return redirect("configuration:health_model", pk=model.pk)
        return _render_draft(request, model, draft, saved, form, formset, status=422)
    form = HealthModelDraftForm(instance=draft)
    formset = IndicatorFormSet(initial=draft.indicators, prefix="ind")
    return _render_draft(request, model, draft, saved, form, formset)


def _preview_context(request, model, draft, error="") -> dict:
    context = {"model": model, "draft": draft, "error": error, "preview": None}
    if error:
        return context
    preview = preview_compute(draft=draft, day=request_today(request))
    fig = preview.figures
    chart = {
        "labels": fig["bins"],
        "series": [
            {"label": _("Live model"), "values": fig["before_bins"], "tone": "neutral"},
            {"label": _("Draft"), "values": fig["after_bins"], "tone": "info"},
        ],
    }
    url = reverse("configuration:health_model_preview_accounts", args=[model.pk])
    matrix = [
        {
            "from": COLOUR_NAMES[a],
            "from_key": a,
            "cells": [
                {
                    "to": COLOUR_NAMES[b],
                    "n": fig["matrix"][a][b],
                    "url": f"{url}?from={a}&to={b}",
                    "changed": a != b,
                }
                for b in COLOURS
            ],
        }
        for a in COLOURS
    ]
    total = sum(r["weight"] for r in draft.indicators) or 1
    shares = [
        {
            "label": MEASURES[r["measure"]].label if r["measure"] in MEASURES else r["measure"],
            "pct": round(100 * r["weight"] / total),
        }
        for r in draft.indicators
    ]
    bins = list(zip(fig["bins"], fig["before_bins"], fig["after_bins"], strict=True))
    context.update(
        preview=preview,
        fig=fig,
        chart_json=json.dumps(chart),
        matrix=matrix,
        colours=[COLOUR_NAMES[c] for c in COLOURS],
        shares=shares,
        bins=bins,
    )
    return context


@configure
@require_http_methods(["GET", "POST"])
def health_model_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview of the saved draft (GET), or of the form as it stands (POST, unsaved: the
    editor's rows as they are typed). Writes nothing."""
    model = _model(pk)
    draft, _saved = _draft_or_live(model)
    error, row_shares = "", []
    if request.method == "POST":
        form, formset = _bound(request, draft)
        if form.is_valid() and formset.is_valid():
            draft = form.save(commit=False)
            draft.indicators = formset.rows()
            # each row's share, by its index on the page (replaced there out of band)
            kept = [
                (i, f.cleaned_data["weight"])
                for i, f in enumerate(formset.forms)
                if f.cleaned_data and not formset._should_delete_form(f)
            ]
            total = sum(weight for _i, weight in kept) or 1
            row_shares = [(i, round(100 * weight / total)) for i, weight in kept]
        else:
            error = _("Fix the fields above to see the preview: save to see which.")
    context = _preview_context(request, model, draft, error)
    context["row_shares"] = row_shares
    if is_fragment_request(request):
        return render(request, "configuration/_health_preview.html", context)
    return render(request, "configuration/health_preview.html", context)


@configure
@require_GET
def health_model_preview_accounts(request: HttpRequest, pk: int) -> HttpResponse:
    """The accounts of one cell of the preview's colour matrix (from -> to)."""
    model = _model(pk)
    draft, _saved = _draft_or_live(model)
    a, b = request.GET.get("from", ""), request.GET.get("to", "")
    if a not in COLOURS or b not in COLOURS:
        return render(
            request,
            "configuration/health_preview_accounts.html",
            {"model": model, "error": _("from and to: choose red, yellow, green or none.")},
            status=400,
        )
    frame = preview_compute(draft=draft, day=request_today(request)).accounts
    cell = frame[(frame["before_colour"] == a) & (frame["after_colour"] == b)]
    names = dict(
        Account.objects.filter(pk__in=cell.index[:PREVIEW_ACCOUNTS].tolist()).values_list(
            "pk", "name"
        )
    )
    rows = [
        {
            "id": pk_,
            "name": names.get(pk_, ""),
            "before": row["before"],
            "after": row["after"],
        }
        for pk_, row in cell.iloc[:PREVIEW_ACCOUNTS].iterrows()
    ]
    rows.sort(key=lambda r: r["name"])
    return render(
        request,
        "configuration/health_preview_accounts.html",
        {
            "model": model,
            "rows": rows,
            "count": len(cell),
            "shown": len(rows),
            "from": COLOUR_NAMES[a],
            "to": COLOUR_NAMES[b],
        },
    )


@admins_only
@require_POST
def health_model_publish(request: HttpRequest, pk: int) -> HttpResponse:
    model = _model(pk)
    draft = HealthModelDraft.objects.filter(model=model).first()
    if draft is None:
        messages.error(request, _("There is no saved draft to publish."))
        return redirect("configuration:health_model", pk=pk)
    try:
        model = health_model_draft_publish(draft=draft, acting_user=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, _("Not published: %(error)s") % {"error": error})
        return redirect("configuration:health_model", pk=pk)
    messages.success(
        request,
        _("Published “%(name)s”, version %(version)s: tonight's scores use it.")
        % {"name": model.name, "version": model.version},
    )
    return redirect("configuration:health_model_history", pk=model.pk)


@configure
@require_POST
def health_model_discard(request: HttpRequest, pk: int) -> HttpResponse:
    model = _model(pk)
    draft = HealthModelDraft.objects.filter(model=model).first()
    if draft is not None:
        draft_discard(draft=draft, acting_user=request.user)
        messages.success(request, _("Draft discarded."))
    return redirect("configuration:health_model", pk=pk)


def _version_pick(request, versions, name, default):
    try:
        wanted = int(request.GET.get(name, ""))
    except ValueError:
        return default
    return next((v for v in versions if v.version == wanted), default)


def indicator_label(key: str) -> str:
    """An indicator's key (measure[:window[:metric]], health.versions.indicator_key) as a
    reader names it: "Usage frequency (30 days, active days)"."""
    measure, _sep, rest = key.partition(":")
    window, _sep, metric = rest.partition(":")
    extras = []
    if window:
        days = int(window) if window.isdigit() else 0
        extras.append(ngettext("%(n)s day", "%(n)s days", days) % {"n": window})
    if metric:
        extras.append(metric_label(metric))
    label = measure_label(measure)
    return f"{label} ({', '.join(extras)})" if extras else label


# What a version's change names, as the history shows it (health.versions.snapshot_changes).
def _field_labels() -> dict:
    return {
        "name": _("Name"),
        "persona_id": _("Persona"),
        "red_max": _("Red up to"),
        "yellow_max": _("Yellow up to"),
        "description": _("Description"),
        "direction": _("Direction"),
        "bad_value": _("Scores 0 at"),
        "good_value": _("Scores 100 at"),
        "weight": _("Weight"),
    }


def _indicator_text(row) -> str | None:
    if row is None:
        return None
    return _("%(direction)s, %(bad)s → %(good)s, weight %(w)s") % {
        "direction": Direction(row["direction"]).label
        if row.get("direction") in Direction.values
        else row.get("direction"),
        "bad": f"{row['bad_value']:g}",
        "good": f"{row['good_value']:g}",
        "w": f"{row['weight']:g}",
    }


def readable_changes(
    before: dict | None, after: dict, *, personas: dict | None = None
) -> list[dict]:
    """A version's changes (health.versions.snapshot_changes) in the reader's words: field
    labels for field names, indicator labels for indicator keys, directions and personas
    (`personas`: id to name) by name."""
    from health.versions import snapshot_changes

    from .health_drafts import row_key

    fields = _field_labels()
    rows_before = {row_key(r): r for r in (before or {}).get("indicators", [])}
    rows_after = {row_key(r): r for r in after.get("indicators", [])}
    out = []
    for change in snapshot_changes(before, after):
        what, old, new = change["what"], change["before"], change["after"]
        if what.startswith("indicator "):
            key = what.removeprefix("indicator ")
            what = _("Indicator %(name)s") % {"name": indicator_label(key)}
            old, new = _indicator_text(rows_before.get(key)), _indicator_text(rows_after.get(key))
        elif what == "persona_id":
            names = personas or {}
            what, old, new = fields[what], names.get(old, old), names.get(new, new)
        elif what in fields:
            what = fields[what]
        else:
            key, _sep, name = what.rpartition(" ")
            what = f"{indicator_label(key)}: {fields.get(name, name)}"
            if name == "direction":
                old, new = (Direction(v).label if v in Direction.values else v for v in (old, new))
        out.append({"what": what, "before": old, "after": new})
    return out


def _side_by_side(left: HealthModelVersion | None, right: HealthModelVersion) -> list[dict]:
    """Rows of the comparison: the model's fields, then each indicator (by key) on both."""
    from .health_drafts import row_key

    def fields(v):
        return v.snapshot if v else {}

    lines = [
        {
            "what": label,
            "left": fields(left).get(name),
            "right": fields(right).get(name),
        }
        for name, label in (
            ("name", _("Name")),
            ("red_max", _("Red up to")),
            ("yellow_max", _("Yellow up to")),
        )
    ]

    def ind(v):
        return {row_key(r): r for r in fields(v).get("indicators", [])}

    a, b = ind(left), ind(right)

    def text(r):
        if r is None:
            return None
        window = f", {r['window_days']} d" if r.get("window_days") else ""
        return f"{r['bad_value']:g} → {r['good_value']:g}{window}, " + _("weight %(w)s") % {
            "w": f"{r['weight']:g}"
        }

    for key in sorted(a.keys() | b.keys()):
        lines.append(
            {"what": indicator_label(key), "left": text(a.get(key)), "right": text(b.get(key))}
        )
    for line in lines:
        line["differs"] = line["left"] != line["right"]
    return lines


@configure
@require_GET
def health_model_history(request: HttpRequest, pk: int) -> HttpResponse:
    """The model's versions, newest first, with what changed and who; two of them side by
    side (?left=&right=, default the two newest); each can be restored as a draft."""
    model = _model(pk)
    versions = list(HealthModelVersion.objects.filter(model=model).select_related("created_by"))
    right = _version_pick(request, versions, "right", versions[0] if versions else None)
    left = _version_pick(request, versions, "left", versions[1] if len(versions) > 1 else None)
    personas = dict(Persona.objects.values_list("pk", "name"))
    olders = [*versions[1:], None] if versions else []  # newest first: the next is older
    for v, older in zip(versions, olders, strict=True):
        v.readable_changes = readable_changes(
            older.snapshot if older else None, v.snapshot, personas=personas
        )
    return render(
        request,
        "configuration/health_model_history.html",
        {
            "model": model,
            "versions": versions,
            "left": left,
            "right": right,
            "lines": _side_by_side(left, right) if right else [],
            "has_draft": HealthModelDraft.objects.filter(model=model).exists(),
        },
    )


@configure
@require_POST
def health_version_restore(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    model = _model(pk)
    row = HealthModelVersion.objects.filter(model=model, version=version).first()
    if row is None:
        raise Http404(_("Not found."))
    row.model = model
    if HealthModelDraft.objects.filter(model=model).exists():
        # restoring would overwrite someone's unpublished work: the trigger history refuses too
        messages.error(
            request,
            _("Not restored: this model already has a draft. Publish or discard it first."),
        )
        return redirect("configuration:health_model_history", pk=pk)
    health_model_draft_restore(version=row, acting_user=request.user)
    messages.success(
        request,
        _("Version %(v)d is now the draft: review it, preview it, and publish it to use it.")
        % {"v": version},
    )
    return redirect("configuration:health_model", pk=pk)


@configure
@require_POST
def health_model_use_weights(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Use these": the suggestion's weights (a done suggestion snapshot of this model) in
    the model's draft. The live model is untouched."""
    model = _model(pk)
    try:
        snapshot_id = int(request.POST.get("suggestion", ""))
    except ValueError:
        snapshot_id = 0
    snapshot = FitnessSnapshot.objects.filter(
        pk=snapshot_id, model=model, kind=FitnessKind.SUGGESTION, state="done"
    ).first()
    weights = (snapshot.payload or {}).get("suggested") if snapshot else None
    if not weights:
        return HttpResponse(
            _("suggestion: no finished weight suggestion of this model has that id."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    health_model_draft_use_weights(
        model=model,
        weights=weights,
        acting_user=request.user,
        origin=_("suggested weights at %(lead)d days") % {"lead": snapshot.lead},
    )
    messages.success(
        request,
        _("The suggested weights are in the draft. Preview them; an admin publishes."),
    )
    return redirect("configuration:health_model", pk=pk)
