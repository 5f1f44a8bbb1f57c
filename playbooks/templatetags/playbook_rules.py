"""Template filters asking playbooks/permissions.py what the signed-in member may do, so a page
offers only the actions the services would accept."""

from django import template

from conditions import phrases as conditions_phrases
from orgs import formatting

from ..permissions import may_work_playbook, may_work_step

register = template.Library()


@register.filter
def workable_by(step, membership) -> bool:
    """{% if step|workable_by:membership %}: the member may complete, note or snooze it."""
    if membership is None:
        return False
    return may_work_step(
        step=step, playbook=step.playbook, user_id=membership.user_id, role=membership.role
    )


@register.filter
def closable_by(playbook, membership) -> bool:
    """{% if playbook|closable_by:membership %}: the member may close it and log contacts."""
    if membership is None:
        return False
    return may_work_playbook(playbook=playbook, user_id=membership.user_id, role=membership.role)


@register.filter
def local_path(value) -> str:
    """A stored link, if it is a path on this site; empty otherwise (rows written before the
    validator, or by hand), so a page never links elsewhere from a notification."""
    from orgs.validators import is_local_path

    return value if is_local_path(value or "") else ""


@register.filter
def evidence_sentences(obj) -> list[str]:
    """{% for line in firing|evidence_sentences %}: a firing's (or playbook's) evidence, one
    sentence per comparison, in the reader's language when it was stored as data."""
    return conditions_phrases.evidence_sentences(
        text=getattr(obj, "evidence_text", "") or "",
        evidence=getattr(obj, "evidence", None),
        localize=formatting.localize_figure,
    )
