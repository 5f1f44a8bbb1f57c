"""Playbook templates written: a template and its ordered steps saved together. Playbooks copy
their template's steps when they are created, so a change reaches future playbooks only; the
open ones keep the steps they were created with."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext

from orgs.models import Membership, User

from ..models import MAX_DUE_OFFSET_DAYS, Assignee, PlaybookTemplate, TemplateStep

logger = logging.getLogger(__name__)

MAX_TEMPLATE_STEPS = 50


@dataclass(frozen=True)
class StepSpec:
    title: str
    instructions: str = ""
    due_offset_days: int = 0
    assignee: str = Assignee.OWNER
    assignee_user_id: int | None = None


class TemplateStepsError(ValueError):
    """Steps refused: `errors` maps a step's position (0-based) to {field: message}; a
    message for the steps as a whole is under position None."""

    def __init__(self, errors: dict[int | None, dict[str, str]]):
        self.errors = errors
        super().__init__(str(errors))


def _check_steps(*, organization_id: int, steps: list[StepSpec]) -> None:
    errors: dict[int | None, dict[str, str]] = {}
    if not steps:
        errors[None] = {"steps": gettext("A template needs at least one step.")}
    if len(steps) > MAX_TEMPLATE_STEPS:
        errors[None] = {"steps": gettext("At most %(n)d steps.") % {"n": MAX_TEMPLATE_STEPS}}
    named = {s.assignee_user_id for s in steps if s.assignee_user_id}
    members = set(
        Membership.objects.filter(
            organization_id=organization_id, user_id__in=named, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    for i, s in enumerate(steps):
        row: dict[str, str] = {}
        if not (s.title or "").strip():
            row["title"] = gettext("Give the step a title.")
        elif len(s.title) > 200:
            row["title"] = gettext("At most 200 characters.")
        if not 0 <= s.due_offset_days <= MAX_DUE_OFFSET_DAYS:
            row["due_offset_days"] = gettext("Between 0 and %(max)d days.") % {
                "max": MAX_DUE_OFFSET_DAYS
            }
        if s.assignee not in Assignee.values:
            row["assignee"] = gettext("Choose who does it.")
        elif s.assignee == Assignee.MEMBER and s.assignee_user_id is None:
            row["assignee_user"] = gettext("Choose the member who does it.")
        elif s.assignee == Assignee.MEMBER and s.assignee_user_id not in members:
            row["assignee_user"] = gettext("Choose an active member of this organization.")
        if row:
            errors[i] = row
    if errors:
        raise TemplateStepsError(errors)


def playbook_template_save(
    *, template: PlaybookTemplate, steps: list[StepSpec], acting_user: User
) -> PlaybookTemplate:
    """Save a template (new or changed) and replace its steps by `steps`, in this order, all
    or nothing: a refused step (TemplateStepsError, by position) or template field
    (ValidationError) saves nothing. Open playbooks keep their own copies of the steps."""
    _check_steps(organization_id=template.organization_id, steps=steps)
    template.full_clean()
    with transaction.atomic():
        is_new = template.pk is None
        if is_new:
            template.save()
        else:
            # lock the template: two admins saving it at once take turns
            PlaybookTemplate.all_objects.select_for_update().filter(pk=template.pk).first()
            template.save(update_fields=["name", "kind", "persona", "description", "is_active"])
        TemplateStep.all_objects.filter(template=template).delete()
        TemplateStep.all_objects.bulk_create(
            [
                TemplateStep(
                    organization_id=template.organization_id,
                    template=template,
                    order=i,
                    title=s.title.strip(),
                    instructions=s.instructions,
                    due_offset_days=s.due_offset_days,
                    assignee=s.assignee,
                    assignee_user_id=s.assignee_user_id if s.assignee == Assignee.MEMBER else None,
                )
                for i, s in enumerate(steps, 1)
            ]
        )
    logger.info(
        "playbook template %s id=%s org=%s steps=%s by=%s",
        "created" if is_new else "saved",
        template.pk,
        template.organization_id,
        len(steps),
        acting_user.pk,
    )
    return template
