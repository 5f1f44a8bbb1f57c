"""Playbooks created: in bulk from templates (whoever creates them passes origin and
evidence) and one started by hand."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext

from accounts.models import Account, LifecycleStage
from orgs.models import Membership, Organization, Role, User

from ..models import (
    Assignee,
    Playbook,
    PlaybookStatus,
    PlaybookStep,
    PlaybookTemplate,
)
from ..signals import playbooks_created
from .errors import PlaybookError, churned_text
from .notifications import notifications_create_assigned

logger = logging.getLogger(__name__)


@dataclass
class PlaybookSpec:
    account_id: int
    owner_id: int | None
    template: PlaybookTemplate
    opened_on: dt.date
    origin: str = "manual"
    origin_label: str = ""
    origin_ref: int | None = None
    evidence: dict = field(default_factory=dict)
    evidence_text: str = ""
    is_demo: bool = False


def org_manager_id(org_id: int) -> int | None:
    """Who does the steps a template gives to "the manager": the organization's first manager
    (or admin, when it has no manager)."""
    for role in (Role.MANAGER, Role.ADMIN):
        user_id = (
            Membership.objects.filter(organization_id=org_id, role=role, user__is_active=True)
            .order_by("user__username")
            .values_list("user_id", flat=True)
            .first()
        )
        if user_id:
            return user_id
    return None


def _named_assignees_in_force(*, org_id: int, specs: list[PlaybookSpec]) -> set[int]:
    """Of the members the specs' templates name on steps, those still active members of the
    organization (a step whose member has left goes to the account's owner)."""
    wanted = {
        t.assignee_user_id
        for s in specs
        for t in s.template.steps.all()
        if t.assignee == Assignee.MEMBER and t.assignee_user_id
    }
    if not wanted:
        return set()
    return set(
        Membership.objects.filter(
            organization_id=org_id, user_id__in=wanted, user__is_active=True
        ).values_list("user_id", flat=True)
    )


@dataclass(frozen=True)
class PlaybooksCreated:
    """What playbooks_create_bulk did: per spec, in order, the playbook that now handles it,
    and the playbooks created now. A spec whose account already had an open playbook from
    its template (or that repeats an earlier spec's account and template) joined that one."""

    by_spec: list[Playbook]
    new: list[Playbook]


def playbooks_create_bulk(
    *, org: Organization, specs: list[PlaybookSpec], acting_user_id: int | None = None
) -> PlaybooksCreated:
    """Create playbooks and their steps from templates, set-based: one INSERT for the
    playbooks, one for the steps, one for the notifications (none to `acting_user_id`: nobody
    is told of what they did themselves). An account never gets a second open playbook from
    the same template (the database's playbook_one_open_per_template holds it): such a spec
    joins the open one. The accounts' rows are locked first, so two creators for the same
    account take turns instead of colliding on the constraint."""
    if not specs:
        return PlaybooksCreated(by_spec=[], new=[])
    account_ids = sorted({s.account_id for s in specs})
    with transaction.atomic():
        list(
            Account.objects.select_for_update()
            .filter(organization=org, pk__in=account_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        wanted = set(account_ids)
        already = {
            (account_id, template_id): pk
            for pk, account_id, template_id in Playbook.objects.filter(
                organization=org,
                status=PlaybookStatus.OPEN,
                template_id__in={s.template.pk for s in specs},
                account_id__gte=account_ids[0],
                account_id__lte=account_ids[-1],
            ).values_list("pk", "account_id", "template_id")
            if account_id in wanted
        }
        fresh: list[PlaybookSpec] = []
        slots: list[tuple[str, int]] = []  # per spec: ("new", index in fresh) or ("open", pk)
        first_of: dict[tuple[int, int], int] = {}
        for s in specs:
            key = (s.account_id, s.template.pk)
            if key in already:
                slots.append(("open", already[key]))
            else:
                if key not in first_of:
                    first_of[key] = len(fresh)
                    fresh.append(s)
                slots.append(("new", first_of[key]))
        created = _create(org=org, specs=fresh, acting_user_id=acting_user_id)
        joined = {
            p.pk: p
            for p in Playbook.objects.filter(
                pk__in=[ref for where, ref in slots if where == "open"]
            )
        }
    by_spec = [created[ref] if where == "new" else joined[ref] for where, ref in slots]
    if len(fresh) < len(specs):
        logger.info(
            "playbooks joined org=%s specs=%s already_open=%s",
            org.slug,
            len(specs),
            len(specs) - len(fresh),
        )
    return PlaybooksCreated(by_spec=by_spec, new=created)


def _create(
    *, org: Organization, specs: list[PlaybookSpec], acting_user_id: int | None
) -> list[Playbook]:
    if not specs:
        return []
    manager_id = org_manager_id(org.pk)
    playbooks = Playbook.objects.bulk_create(
        [
            Playbook(
                organization=org,
                account_id=s.account_id,
                template=s.template,
                kind=s.template.kind,
                title=s.template.name,
                owner_id=s.owner_id,
                opened_on=s.opened_on,
                due_on=s.opened_on
                + dt.timedelta(
                    days=max([t.due_offset_days for t in s.template.steps.all()] or [0])
                ),
                origin=s.origin,
                origin_label=s.origin_label,
                origin_ref=s.origin_ref,
                evidence=s.evidence,
                evidence_text=s.evidence_text,
                is_demo=s.is_demo,
            )
            for s in specs
        ],
        batch_size=2000,
    )
    named = _named_assignees_in_force(org_id=org.pk, specs=specs)
    steps = []
    for playbook, spec in zip(playbooks, specs, strict=True):
        for t in spec.template.steps.all():
            if t.assignee == Assignee.MANAGER:
                assignee = manager_id
            elif t.assignee == Assignee.MEMBER:
                assignee = t.assignee_user_id if t.assignee_user_id in named else None
            else:
                assignee = spec.owner_id
            steps.append(
                PlaybookStep(
                    organization=org,
                    playbook=playbook,
                    order=t.order,
                    title=t.title,
                    instructions=t.instructions,
                    due_on=spec.opened_on + dt.timedelta(days=t.due_offset_days),
                    assignee_id=assignee or spec.owner_id,
                )
            )
    PlaybookStep.objects.bulk_create(steps, batch_size=5000)
    notifications_create_assigned(org=org, playbooks=playbooks, acting_user_id=acting_user_id)
    playbooks_created.send(
        sender=Playbook, organization_id=org.pk, playbook_ids=[p.pk for p in playbooks]
    )
    logger.info("playbooks created org=%s count=%s steps=%s", org.slug, len(playbooks), len(steps))
    return playbooks


def playbook_start(
    *,
    account: Account,
    template: PlaybookTemplate,
    acting_user: User,
    today: dt.date,
    confirm_churned: bool = False,
) -> Playbook:
    """A CSM starts a playbook by hand from a template. Refused while the account has an open
    playbook from that template; on a churned account, only with `confirm_churned` (the form
    says when it churned and asks)."""
    if template.organization_id != account.organization_id:
        raise PlaybookError("template", "the template belongs to another organization")
    if not template.is_active:
        raise PlaybookError("template", "this template is no longer active")
    org = Organization.objects.get(pk=account.organization_id)
    with transaction.atomic():
        churned_at, stage = (
            Account.objects.select_for_update()
            .filter(pk=account.pk)
            .values_list("churned_at", "lifecycle_stage")
            .get()
        )
        if Playbook.objects.filter(
            organization=org, account_id=account.pk, template=template, status=PlaybookStatus.OPEN
        ).exists():
            raise PlaybookError(
                "template",
                gettext("a “%(template)s” playbook is already open for this account")
                % {"template": template.name},
            )
        if (churned_at is not None or stage == LifecycleStage.CHURNED) and not confirm_churned:
            raise PlaybookError(
                "confirm_churned",
                churned_text(churned_at)
                + " "
                + gettext("Confirm that you want to start a playbook on a churned account."),
            )
        owner_id = account.owner_id or acting_user.pk
        created = playbooks_create_bulk(
            org=org,
            specs=[
                PlaybookSpec(
                    account_id=account.pk,
                    owner_id=owner_id,
                    template=template,
                    opened_on=today,
                    origin="manual",
                    # who started it (data: "started by …" is the reader's words)
                    origin_label=str(acting_user)[:200],
                )
            ],
            acting_user_id=acting_user.pk,
        )
    (playbook,) = created.new
    return playbook
