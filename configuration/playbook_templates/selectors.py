"""Reads of the template editor (the organization in context)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from orgs.models import Organization, User
from orgs.selectors import org_members
from playbooks.models import PlaybookStatus, PlaybookTemplate, TemplateStep
from triggers.models import Trigger


def templates_with_counts() -> QuerySet[PlaybookTemplate]:
    """Every template with its number of steps and of open playbooks: one query."""
    return (
        PlaybookTemplate.objects.select_related("persona")
        .annotate(
            steps_count=Count("steps", distinct=True),
            open_count=Count(
                "playbooks", filter=Q(playbooks__status=PlaybookStatus.OPEN), distinct=True
            ),
        )
        .order_by("kind", "name")
    )


def template_get(*, pk: int) -> PlaybookTemplate:
    return PlaybookTemplate.objects.select_related("persona").get(pk=pk)


def template_steps(*, template: PlaybookTemplate) -> list[TemplateStep]:
    return list(TemplateStep.objects.filter(template=template).order_by("order"))


def template_open_playbooks(*, template: PlaybookTemplate) -> int:
    return template.playbooks.filter(status=PlaybookStatus.OPEN).count()


def step_members(*, org: Organization) -> QuerySet[User]:
    """Who a step may name: the organization's active members who work playbooks."""
    return org_members(org=org, roles=["admin", "manager", "csm"])


def template_trigger_names(*, template: PlaybookTemplate) -> list[str]:
    """The published triggers that open this template (their kind must stay its kind)."""
    if template.pk is None:
        return []
    return list(
        Trigger.objects.filter(template=template).order_by("name").values_list("name", flat=True)
    )
