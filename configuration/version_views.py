"""The configuration area's version pages. Triggers: the history (versions side by side,
what changed marked in words, firings per version, pauses and resumes), restoring a version
as a new draft (analysts and admins: publishing it makes the next version, never rewrites
one), and pausing or resuming a trigger (admins: not a version). Personas: publishing a
draft (admins: membership refreshed at once, a new version), discarding one, the history
side by side (members per version) and restoring a version as a draft."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Persona
from accounts.personas import ACCOUNT_FIELDS
from playbooks.models import PlaybookKind
from triggers.fields import TRIGGER_FIELDS
from triggers.models import Action, Schedule, Trigger, TriggerVersion
from triggers.services import trigger_pause

from . import selectors
from .builder import ConditionBuilder
from .models import PERSONA_SNAPSHOT_FIELDS, PersonaDraft, PersonaVersion
from .services import (
    draft_discard,
    persona_draft_from_version,
    persona_draft_publish,
    trigger_draft_from_version,
)
from .views import admins_only, configure


def _field_labels() -> dict[str, str]:
    return {
        "name": _("Name"),
        "kind": _("Kind"),
        "persona": _("Persona"),
        "product": _("Product to offer"),
        "condition": _("Fires when"),
        "schedule": _("Runs"),
        "cooldown_days": _("Cool-down"),
        "action": _("When it fires"),
        "template": _("Playbook template"),
    }


def _trigger(pk: int) -> Trigger:
    try:
        return selectors.trigger_get(pk=pk)
    except Trigger.DoesNotExist:
        raise Http404(_("Not found.")) from None


class _Display:
    """A version's values as words: choices by label, relations by name, the condition as
    the builder's sentence."""

    def __init__(self, request, versions: list[TriggerVersion]):
        self.names = selectors.version_relation_names(versions)
        self.choices = selectors.builder_choices()
        self.currency = request.organization.currency
        self.labels = {
            "kind": dict(PlaybookKind.choices),
            "schedule": dict(Schedule.choices),
            "action": dict(Action.choices),
        }

    def value(self, name: str, value) -> str:
        if name in self.labels:
            return str(self.labels[name].get(value, value))
        if name in self.names:
            if value is None:
                return _("Every persona") if name == "persona" else "—"
            return self.names[name].get(value) or _("(deleted, id %(id)s)") % {"id": value}
        if name == "cooldown_days":
            return ngettext("%(n)d day", "%(n)d days", value or 0) % {"n": value or 0}
        if name == "condition":
            builder = ConditionBuilder(
                catalogue=TRIGGER_FIELDS,
                tree=value or None,
                choices=self.choices,
                currency=self.currency,
            )
            return builder.sentence
        return "" if value is None else str(value)


def _pick(versions: list[TriggerVersion], raw, default: TriggerVersion | None):
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        return default
    return next((v for v in versions if v.version == wanted), default)


@configure
@require_GET
def trigger_history(request: HttpRequest, pk: int) -> HttpResponse:
    """The versions newest first, and two of them side by side (default: the current one and
    the one before; `?left=N&right=M` another pair)."""
    trigger = _trigger(pk)
    versions = selectors.trigger_versions(trigger=trigger)
    firings = selectors.trigger_firings_per_version(trigger=trigger)
    display = _Display(request, versions)
    labels = _field_labels()
    right = _pick(versions, request.GET.get("right"), versions[0])
    older = [v for v in versions if v.version < right.version]
    left = _pick(versions, request.GET.get("left"), older[0] if older else None)
    if left is not None and left.version == right.version:
        left = older[0] if older else None
    rows = []
    for name in labels:  # the order the trigger's page shows them in
        r = right.fields.get(name)
        row = {"label": labels[name], "right": display.value(name, r), "changed": False}
        if left is not None:
            lv = left.fields.get(name)
            row["left"] = display.value(name, lv)
            row["changed"] = lv != r
        rows.append(row)
    draft = selectors.draft_of(trigger=trigger)
    items = [
        {
            "version": v,
            "changed": [labels.get(n, n) for n in v.changed],
            "firings": firings.get(v.version, 0),
            "current": v.version == trigger.version,
            "recorded": v.pk is not None,
        }
        for v in versions
    ]
    return render(
        request,
        "configuration/trigger_history.html",
        {
            "trigger": trigger,
            "items": items,
            "left": left,
            "right": right,
            "rows": rows,
            "changed_count": sum(1 for r in rows if r["changed"]),
            "draft": draft,
            "switches": selectors.trigger_switches(trigger=trigger),
            "unversioned_firings": sum(
                n for v, n in firings.items() if v not in {i.version for i in versions}
            ),
        },
    )


@configure
@require_POST
def trigger_version_restore(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    """A new draft from the version (analysts may: it fires nothing until an admin publishes
    it, which makes the next version)."""
    trigger = _trigger(pk)
    try:
        row = selectors.trigger_version_get(trigger=trigger, version=version)
    except TriggerVersion.DoesNotExist:
        raise Http404(_("Not found.")) from None
    try:
        draft = trigger_draft_from_version(version=row, acting_user=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, _("Not restored: %(error)s") % {"error": error})
        return redirect("configuration:trigger_history", pk=pk)
    messages.success(
        request,
        _(
            "Version %(v)s restored as a draft. Publishing it makes version %(next)s; "
            "the history stays as it is."
        )
        % {"v": row.version, "next": trigger.version + 1},
    )
    return redirect("configuration:draft", pk=draft.pk)


@admins_only
@require_POST
def trigger_pause_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause (`paused=1`) or resume (`paused=0`) the trigger."""
    trigger = _trigger(pk)
    value = request.POST.get("paused")
    if value not in ("0", "1"):
        messages.error(request, _("Paused: say 1 (pause) or 0 (resume)."))
        return redirect("configuration:trigger", pk=pk)
    trigger = trigger_pause(trigger=trigger, paused=value == "1", acting_user=request.user)
    if trigger.is_active:
        messages.success(request, _("Resumed: it fires again from tonight."))
    else:
        messages.success(request, _("Paused: it fires nothing until it is resumed."))
    return redirect("configuration:trigger", pk=pk)


# -- personas ---------------------------------------------------------------------------


def _persona(pk: int) -> Persona:
    try:
        return selectors.persona_get(pk=pk)
    except Persona.DoesNotExist:
        raise Http404(_("Not found.")) from None


def _persona_draft(pk: int) -> PersonaDraft:
    try:
        return selectors.persona_draft_get(pk=pk)
    except PersonaDraft.DoesNotExist:
        raise Http404(_("Not found.")) from None


@admins_only
@require_POST
def persona_draft_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _persona_draft(pk)
    try:
        persona, version, assigned = persona_draft_publish(draft=draft, acting_user=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, _("Not published: %(error)s") % {"error": error})
        return redirect("configuration:persona_draft", pk=pk)
    count = assigned.counts.get(persona.slug, 0)
    if version is None:
        messages.success(
            request,
            _("Nothing changed: “%(name)s” stays as it was, %(count)s accounts.")
            % {"name": persona.name, "count": count},
        )
    else:
        messages.success(
            request,
            _("Published “%(name)s”, version %(v)s: %(count)s accounts are in it now.")
            % {"name": persona.name, "v": version.version, "count": count},
        )
    return redirect("configuration:persona", pk=persona.pk)


@configure
@require_POST
def persona_draft_discard_view(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _persona_draft(pk)
    persona_id = draft.persona_id
    draft_discard(draft=draft, acting_user=request.user)
    messages.success(request, _("Draft discarded."))
    if persona_id:
        return redirect("configuration:persona", pk=persona_id)
    return redirect("configuration:personas")


def _persona_labels() -> dict[str, str]:
    return {
        "name": _("Name"),
        "slug": _("Short name (slug)"),
        "description": _("Description"),
        "priority": _("Priority"),
        "rules": _("Rules"),
        "hand_picked": _("Hand-picked accounts"),
    }


@configure
@require_GET
def persona_history(request: HttpRequest, pk: int) -> HttpResponse:
    """The persona's versions newest first and two side by side (default: the latest and the
    one before; `?left=N&right=M` another pair)."""
    persona = _persona(pk)
    versions = selectors.persona_versions(persona=persona)
    labels = _persona_labels()
    choices = selectors.builder_choices()
    picked_ids = {i for v in versions for i in (v.fields.get("hand_picked") or [])}
    names = selectors.account_names(ids=picked_ids)

    def show(name, value) -> str:
        if name == "rules":
            if not value:
                return _("No rules: hand-picked accounts only")
            return ConditionBuilder(
                catalogue=ACCOUNT_FIELDS,
                tree=value,
                choices=choices,
                currency=request.organization.currency,
                required=False,
            ).sentence
        if name == "hand_picked":
            if not value:
                return _("None")
            shown = [names.get(i) or _("(deleted, id %(id)s)") % {"id": i} for i in value[:20]]
            more = len(value) - len(shown)
            text = ", ".join(shown)
            return text + (" " + _("and %(n)s more") % {"n": more} if more else "")
        return "" if value is None else str(value)

    rows, left, right = [], None, None
    if versions:
        right = _pick(versions, request.GET.get("right"), versions[0])
        older = [v for v in versions if v.version < right.version]
        left = _pick(versions, request.GET.get("left"), older[0] if older else None)
        if left is not None and left.version == right.version:
            left = older[0] if older else None
        for name in PERSONA_SNAPSHOT_FIELDS:
            r = right.fields.get(name)
            row = {"label": labels[name], "right": show(name, r), "changed": False}
            if left is not None:
                lv = left.fields.get(name)
                row["left"] = show(name, lv)
                row["changed"] = lv != r
            rows.append(row)
    latest = versions[0].version if versions else None
    items = [
        {
            "version": v,
            "changed": [labels.get(n, n) for n in v.changed],
            "current": v.version == latest,
        }
        for v in versions
    ]
    return render(
        request,
        "configuration/persona_history.html",
        {
            "persona": persona,
            "items": items,
            "left": left,
            "right": right,
            "rows": rows,
            "changed_count": sum(1 for r in rows if r["changed"]),
            "draft": selectors.persona_draft_of(persona=persona),
        },
    )


@configure
@require_POST
def persona_version_restore(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    persona = _persona(pk)
    try:
        row = selectors.persona_version_get(persona=persona, version=version)
    except PersonaVersion.DoesNotExist:
        raise Http404(_("Not found.")) from None
    try:
        draft = persona_draft_from_version(version=row, acting_user=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, _("Not restored: %(error)s") % {"error": error})
        return redirect("configuration:persona_history", pk=pk)
    messages.success(
        request,
        _("Version %(v)s restored as a draft: publishing it makes a new version.")
        % {"v": row.version},
    )
    return redirect("configuration:persona_draft", pk=draft.pk)
