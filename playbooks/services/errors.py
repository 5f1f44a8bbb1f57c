"""The errors playbook services raise, the sentences they refuse with, and the checks of who
may work a step or a playbook (the rules themselves: playbooks/permissions.py)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext

from accounts import services as account_services
from orgs.formatting import format_date
from orgs.models import User

from ..models import (
    Playbook,
    PlaybookStep,
)
from ..permissions import may_work_playbook, may_work_step, role_of


class PlaybookError(account_services.PortfolioError):
    """A playbook action refused; `field` names what was wrong."""


class StepConflict(PlaybookError):
    """The step changed since the page was loaded (someone else completed or edited it)."""


class NotAllowed(PlaybookError):
    """The member may not do this (playbooks/permissions.py): the page answers 403."""


def require_step_worker(*, step: PlaybookStep, user: User) -> None:
    role = role_of(user=user, organization_id=step.organization_id)
    if not may_work_step(step=step, playbook=step.playbook, user_id=user.pk, role=role):
        who = step.assignee or step.playbook.owner
        raise NotAllowed(
            "step",
            gettext("this step is %(who)s's: only they or a manager can work it")
            % {"who": who or gettext("its owner")},
        )


def require_playbook_worker(*, playbook: Playbook, user: User) -> None:
    role = role_of(user=user, organization_id=playbook.organization_id)
    if not may_work_playbook(playbook=playbook, user_id=user.pk, role=role):
        raise NotAllowed(
            "playbook",
            gettext("this playbook is %(who)s's: only they or a manager can close it or log on it")
            % {"who": playbook.owner or gettext("its owner")},
        )


def churned_text(churned_at: dt.date | None) -> str:
    """How a page says an account churned: "This account churned on <date>."."""
    if churned_at is None:
        return gettext("This account churned.")
    return gettext("This account churned on %(date)s.") % {"date": format_date(churned_at)}
