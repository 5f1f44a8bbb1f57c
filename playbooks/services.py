"""Playbook writes: creation (in bulk, from templates), step work, contacts, outcomes and the
notifications that tell CSMs. Whoever creates a playbook passes its origin and evidence."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Account, ChurnReason, Contact, Interaction, Product
from orgs.models import Membership, Organization, Role, User

from .models import (
    OUTCOMES_BY_KIND,
    Assignee,
    Notification,
    NotificationKind,
    Outcome,
    Playbook,
    PlaybookContact,
    PlaybookKind,
    PlaybookStatus,
    PlaybookStep,
    PlaybookTemplate,
    StepStatus,
)

logger = logging.getLogger(__name__)


class PlaybookError(account_services.PortfolioError):
    """A playbook action refused; `field` names what was wrong."""


class StepConflict(PlaybookError):
    """The step changed since the page was loaded (someone else completed or edited it)."""


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


def playbooks_create_bulk(*, org: Organization, specs: list[PlaybookSpec]) -> list[Playbook]:
    """Create playbooks and their steps from templates, set-based: one INSERT for the
    playbooks, one for the steps, one for the notifications. Inside the caller's transaction."""
    if not specs:
        return []
    manager_id = org_manager_id(org.pk)
    playbooks = Playbook.all_objects.bulk_create(
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
    steps = []
    for playbook, spec in zip(playbooks, specs, strict=True):
        for t in spec.template.steps.all():
            assignee = manager_id if t.assignee == Assignee.MANAGER else spec.owner_id
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
    PlaybookStep.all_objects.bulk_create(steps, batch_size=5000)
    notify_assigned(org=org, playbooks=playbooks)
    logger.info("playbooks created org=%s count=%s steps=%s", org.slug, len(playbooks), len(steps))
    return playbooks


def notify_assigned(*, org: Organization, playbooks: list[Playbook]) -> None:
    Notification.all_objects.bulk_create(
        [
            Notification(
                organization=org,
                user_id=p.owner_id,
                kind=NotificationKind.PLAYBOOK_ASSIGNED,
                playbook=p,
                ref=p.pk,
                text=f"New playbook: {p.title}",
                url=reverse("playbooks:detail", args=[p.pk]),
            )
            for p in playbooks
            if p.owner_id
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )


def playbook_start(
    *, account: Account, template: PlaybookTemplate, acting_user: User, today: dt.date
) -> Playbook:
    """A CSM starts a playbook by hand from a template."""
    if template.organization_id != account.organization_id:
        raise PlaybookError("template", "the template belongs to another organization")
    if not template.is_active:
        raise PlaybookError("template", "this template is no longer active")
    org = Organization.objects.get(pk=account.organization_id)
    with transaction.atomic():
        (playbook,) = playbooks_create_bulk(
            org=org,
            specs=[
                PlaybookSpec(
                    account_id=account.pk,
                    owner_id=account.owner_id or acting_user.pk,
                    template=template,
                    opened_on=today,
                    origin="manual",
                    origin_label=f"started by {acting_user}",
                )
            ],
        )
    return playbook


def _locked_step(step_id: int, expected_version: int | None) -> PlaybookStep:
    step = PlaybookStep.objects.select_for_update().select_related("playbook").get(pk=step_id)
    if expected_version is not None and step.version != expected_version:
        who = step.completed_by or "someone else"
        raise StepConflict(
            "step",
            f"this step was changed by {who} since you opened the page "
            f"(it is now {step.get_status_display().lower()}); reload to see it",
        )
    if step.playbook.status != PlaybookStatus.OPEN:
        raise PlaybookError("step", "the playbook is closed")
    return step


def step_complete(
    *, step_id: int, user: User, expected_version: int | None = None, notes: str = ""
) -> PlaybookStep:
    with transaction.atomic():
        step = _locked_step(step_id, expected_version)
        if step.status != StepStatus.OPEN:
            raise StepConflict("step", f"already {step.get_status_display().lower()}")
        step.status = StepStatus.DONE
        step.completed_at = timezone.now()
        step.completed_by = user
        if notes:
            step.notes = (step.notes + "\n" + notes).strip()
        step.version = F("version") + 1
        step.save(update_fields=["status", "completed_at", "completed_by", "notes", "version"])
        step.refresh_from_db(fields=["version"])
    return step


def step_add_note(
    *, step_id: int, user: User, notes: str, expected_version: int | None = None
) -> PlaybookStep:
    if not notes.strip():
        raise PlaybookError("notes", "write a note first")
    with transaction.atomic():
        step = _locked_step(step_id, expected_version)
        stamp = timezone.now().strftime("%Y-%m-%d")
        step.notes = (step.notes + f"\n[{stamp} {user}] {notes.strip()}").strip()
        step.version = F("version") + 1
        step.save(update_fields=["notes", "version"])
        step.refresh_from_db(fields=["version"])
    return step


def step_snooze(
    *,
    step_id: int,
    user: User,
    due_on: dt.date,
    reason: str,
    today: dt.date,
    expected_version: int | None = None,
) -> PlaybookStep:
    if not reason.strip():
        raise PlaybookError("reason", "say why the step is snoozed")
    if due_on <= today:
        raise PlaybookError("due_on", "snooze to a date after today")
    with transaction.atomic():
        step = _locked_step(step_id, expected_version)
        if step.status != StepStatus.OPEN:
            raise StepConflict("step", f"already {step.get_status_display().lower()}")
        step.due_on = due_on
        step.snoozed_reason = reason.strip()[:240]
        step.version = F("version") + 1
        step.save(update_fields=["due_on", "snoozed_reason", "version"])
        step.refresh_from_db(fields=["version"])
    return step


def playbook_log_contact(
    *,
    playbook: Playbook,
    user: User,
    kind: str,
    summary: str,
    contact: Contact | None = None,
    notes: str = "",
    occurred_at: dt.datetime | None = None,
) -> Interaction:
    """Log a contact with the customer and link it to the playbook."""
    with transaction.atomic():
        interaction = account_services.interaction_log(
            account=playbook.account,
            user=user,
            kind=kind,
            summary=summary,
            contact=contact,
            notes=notes,
            occurred_at=occurred_at,
        )
        PlaybookContact.all_objects.create(
            organization_id=playbook.organization_id, playbook=playbook, interaction=interaction
        )
    return interaction


def playbook_link_interaction(*, playbook: Playbook, interaction: Interaction) -> None:
    if interaction.account_id != playbook.account_id:
        raise PlaybookError("interaction", "that contact was with another account")
    PlaybookContact.all_objects.get_or_create(
        organization_id=playbook.organization_id, playbook=playbook, interaction=interaction
    )


def _decimal(value, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise PlaybookError(name, f"{value!r} is not an amount") from None
    if out < 0:
        raise PlaybookError(name, "must not be negative")
    return out


def playbook_close(
    *,
    playbook_id: int,
    user: User,
    outcome: str,
    today: dt.date,
    product: Product | None = None,
    expected_mrr=None,
    mrr_won=None,
    churn_reason: ChurnReason | None = None,
    notes: str = "",
) -> Playbook:
    """Close with an outcome. A won expansion adds the subscription; a churn marks the
    account churned with its reason and date. All in one transaction."""
    with transaction.atomic():
        playbook = (
            Playbook.objects.select_for_update().select_related("account").get(pk=playbook_id)
        )
        if playbook.status != PlaybookStatus.OPEN:
            raise PlaybookError("outcome", "this playbook is already closed")
        allowed = OUTCOMES_BY_KIND[PlaybookKind(playbook.kind)]
        if outcome not in allowed:
            raise PlaybookError(
                "outcome",
                f"a {playbook.kind} playbook closes as one of: {', '.join(allowed)}",
            )
        expected = _decimal(expected_mrr, "expected_mrr")
        won = _decimal(mrr_won, "mrr_won")
        if outcome in (Outcome.WON, Outcome.LOST) and product is None:
            raise PlaybookError("opportunity_product", "name the product of the opportunity")
        if outcome == Outcome.WON:
            if not won:
                raise PlaybookError("mrr_won", "a won expansion needs the MRR won")
            account_services.subscription_add(
                account=playbook.account,
                product=product,
                mrr=won,
                start_date=today,
                note=f"won in playbook {playbook.pk}",
            )
        if outcome == Outcome.CHURNED:
            if churn_reason is None:
                raise PlaybookError("churn_reason", "choose a churn reason")
            account_services.account_mark_churned(
                account=playbook.account,
                churned_at=today,
                reason=churn_reason,
                note=f"playbook {playbook.pk}",
            )
        playbook.status = PlaybookStatus.COMPLETED
        playbook.outcome = outcome
        playbook.opportunity_product = product
        playbook.expected_mrr = expected
        playbook.mrr_won = won
        playbook.churn_reason = churn_reason
        playbook.outcome_notes = notes
        playbook.closed_at = timezone.now()
        playbook.closed_by = user
        playbook.save(
            update_fields=[
                "status",
                "outcome",
                "opportunity_product",
                "expected_mrr",
                "mrr_won",
                "churn_reason",
                "outcome_notes",
                "closed_at",
                "closed_by",
            ]
        )
        PlaybookStep.objects.filter(playbook=playbook, status=StepStatus.OPEN).update(
            status=StepStatus.SKIPPED, version=F("version") + 1
        )
    logger.info("playbook closed id=%s outcome=%s by=%s", playbook.pk, outcome, user.pk)
    return playbook


def playbook_reassign(*, playbook: Playbook, owner: User, acting_user: User) -> Playbook:
    """Give a playbook and its open owner steps to another member (managers and admins)."""
    acting = Membership.objects.filter(
        user=acting_user, organization_id=playbook.organization_id
    ).first()
    if not acting_user.is_superuser and (
        acting is None or acting.role not in (Role.ADMIN, Role.MANAGER)
    ):
        raise PlaybookError("owner", "only managers and admins reassign playbooks")
    if not Membership.objects.filter(user=owner, organization_id=playbook.organization_id).exists():
        raise PlaybookError("owner", f"{owner} is not a member of this organization")
    with transaction.atomic():
        previous = playbook.owner_id
        PlaybookStep.objects.filter(
            playbook=playbook, status=StepStatus.OPEN, assignee_id=previous
        ).update(assignee=owner, version=F("version") + 1)
        playbook.owner = owner
        playbook.save(update_fields=["owner"])
        notify_assigned(
            org=Organization.objects.get(pk=playbook.organization_id), playbooks=[playbook]
        )
    return playbook


def notifications_send_digest(*, org: Organization) -> int:
    """One email per user listing their notifications not yet emailed; each is emailed once
    (rows are locked and marked in the same transaction; a crash before commit resends)."""
    sent = 0
    with transaction.atomic():
        pending = list(
            Notification.all_objects.select_for_update(skip_locked=True)
            .filter(organization=org, emailed_at__isnull=True)
            .select_related("user")
            .order_by("user_id", "created_at")
        )
        by_user: dict[int, list[Notification]] = defaultdict(list)
        for n in pending:
            by_user[n.user_id].append(n)
        for items in by_user.values():
            user = items[0].user
            if not user.email:
                continue
            lines = [f"- {n.text}" + (f" ({n.url})" if n.url else "") for n in items]
            send_mail(
                subject=f"csplatform: {len(items)} new for you",
                message="Good morning,\n\nNew since your last digest:\n\n"
                + "\n".join(lines)
                + "\n",
                from_email=None,
                recipient_list=[user.email],
            )
            sent += 1
        Notification.all_objects.filter(pk__in=[n.pk for n in pending]).update(
            emailed_at=timezone.now()
        )
    logger.info("digest sent org=%s users=%s notifications=%s", org.slug, sent, len(pending))
    return sent


def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read: those in `ids`, or all of them. Returns how many
    changed (already-read ones keep their first read time)."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def notifications_mark_read_for(*, kind: str, ref: int) -> int:
    """Something decided needs nobody's attention any more (an alert confirmed or dismissed)."""
    return Notification.objects.filter(kind=kind, ref=ref, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def playbooks_handover(*, account_id: int, previous_owner_id: int | None, owner_id: int) -> int:
    """An account changed owner: its open playbooks, and their open steps the previous owner
    held, go to the new owner, who is notified. Returns the playbooks moved."""
    open_playbooks = Playbook.objects.filter(account_id=account_id, status=PlaybookStatus.OPEN)
    if previous_owner_id is not None:
        PlaybookStep.objects.filter(
            playbook__in=open_playbooks, status=StepStatus.OPEN, assignee_id=previous_owner_id
        ).update(assignee_id=owner_id, version=F("version") + 1)
    moved = list(open_playbooks.exclude(owner_id=owner_id))
    open_playbooks.exclude(owner_id=owner_id).update(owner_id=owner_id)
    for playbook in moved:
        playbook.owner_id = owner_id
    if moved:
        org = Organization.objects.get(pk=moved[0].organization_id)
        Notification.all_objects.filter(
            kind=NotificationKind.PLAYBOOK_ASSIGNED, ref__in=[p.pk for p in moved], user_id=owner_id
        ).delete()
        notify_assigned(org=org, playbooks=moved)
    logger.info(
        "handover account=%s from=%s to=%s playbooks=%s",
        account_id,
        previous_owner_id,
        owner_id,
        len(moved),
    )
    return len(moved)
