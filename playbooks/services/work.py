"""A playbook worked: steps completed, noted and snoozed, contacts logged, interactions
linked, the outcome recorded when it closes, and reassignment."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import services as account_services
from accounts.models import ChurnReason, Contact, Interaction, Product
from orgs.models import WORKER_ROLES, Membership, Organization, Role, User

from ..models import (
    OUTCOMES_BY_KIND,
    Notification,
    NotificationKind,
    Outcome,
    Playbook,
    PlaybookContact,
    PlaybookKind,
    PlaybookStatus,
    PlaybookStep,
    StepStatus,
)
from ..signals import playbooks_closed, playbooks_reassigned
from .errors import PlaybookError, StepConflict, require_playbook_worker, require_step_worker
from .notifications import account_names, notification_phrase, notifications_create_assigned

logger = logging.getLogger(__name__)


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
        require_step_worker(step=step, user=user)
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
        _ask_for_outcome(playbook=step.playbook, user=user)
    return step


def playbook_outcome_due(*, playbook: Playbook) -> bool:
    """An open playbook whose steps are all done (or skipped) waits for its outcome."""
    return (
        playbook.status == PlaybookStatus.OPEN
        and not PlaybookStep.objects.filter(
            playbook_id=playbook.pk, status=StepStatus.OPEN
        ).exists()
    )


_OUTCOME_DUE_TEXT = _("%(account)s: all steps of “%(playbook)s” are done — record the outcome")


def _ask_for_outcome(*, playbook: Playbook, user: User) -> None:
    """The last open step is done: the owner is asked, once, to record the outcome (unless
    they did the step themselves; the page they are on asks them)."""
    if not playbook.owner_id or playbook.owner_id == user.pk:
        return
    if not playbook_outcome_due(playbook=playbook):
        return
    name = account_names([playbook]).get(playbook.account_id, "")
    text, phrase = notification_phrase(
        _OUTCOME_DUE_TEXT, {"account": name, "playbook": playbook.title}
    )
    Notification.objects.bulk_create(
        [
            Notification(
                organization_id=playbook.organization_id,
                user_id=playbook.owner_id,
                kind=NotificationKind.OUTCOME_DUE,
                playbook=playbook,
                ref=playbook.pk,
                text=text,
                phrase=phrase,
                url=reverse("playbooks:detail", args=[playbook.pk]) + "#playbook-outcome",
            )
        ],
        ignore_conflicts=True,
    )


def step_add_note(
    *, step_id: int, user: User, notes: str, expected_version: int | None = None
) -> PlaybookStep:
    if not notes.strip():
        raise PlaybookError("notes", "write a note first")
    with transaction.atomic():
        step = _locked_step(step_id, expected_version)
        require_step_worker(step=step, user=user)
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
        require_step_worker(step=step, user=user)
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
    require_playbook_worker(playbook=playbook, user=user)
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
        PlaybookContact.objects.create(
            organization_id=playbook.organization_id, playbook=playbook, interaction=interaction
        )
    return interaction


def playbook_link_interaction(*, playbook: Playbook, interaction: Interaction) -> None:
    if interaction.account_id != playbook.account_id:
        raise PlaybookError("interaction", "that contact was with another account")
    PlaybookContact.objects.get_or_create(
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
    expected_mrr: Decimal | str | None = None,
    mrr_won: Decimal | str | None = None,
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
        require_playbook_worker(playbook=playbook, user=user)
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
        if outcome == Outcome.WON and not won:
            raise PlaybookError("mrr_won", "a won expansion needs the MRR won")
        if outcome == Outcome.CHURNED:
            if churn_reason is None:
                raise PlaybookError("churn_reason", "choose a churn reason")
            if churn_reason.organization_id != playbook.organization_id:
                raise PlaybookError("churn_reason", "the reason belongs to another organization")
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
        Notification.objects.filter(
            kind=NotificationKind.OUTCOME_DUE, ref=playbook.pk, read_at__isnull=True
        ).update(read_at=timezone.now())
        playbooks_closed.send(
            sender=Playbook, organization_id=playbook.organization_id, playbook_ids=[playbook.pk]
        )
        try:
            if outcome == Outcome.WON:
                account_services.subscription_add(
                    account=playbook.account,
                    product=product,
                    mrr=won,
                    start_date=today,
                    note=f"won in playbook {playbook.pk}",
                )
            if outcome == Outcome.CHURNED:
                # After this playbook is completed: the churn cancels the account's other
                # open playbooks (through the accounts_churned hook), not this one.
                account_services.account_mark_churned(
                    account=playbook.account,
                    churned_at=today,
                    reason=churn_reason,
                    note=f"playbook {playbook.pk}",
                    acting_user=user,
                )
        except account_services.PortfolioError as exc:
            if isinstance(exc, PlaybookError):
                raise
            raise PlaybookError(exc.field, exc.message) from exc
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
    if not Membership.objects.filter(
        user=owner, organization_id=playbook.organization_id, role__in=WORKER_ROLES
    ).exists():
        raise PlaybookError("owner", f"{owner} is not a CSM, manager or admin of this organization")
    with transaction.atomic():
        previous = playbook.owner_id
        PlaybookStep.objects.filter(
            playbook=playbook, status=StepStatus.OPEN, assignee_id=previous
        ).update(assignee=owner, version=F("version") + 1)
        playbook.owner = owner
        playbook.save(update_fields=["owner"])
        # told afresh, even if they had this playbook before
        Notification.objects.filter(
            kind=NotificationKind.PLAYBOOK_ASSIGNED, ref=playbook.pk, user=owner
        ).exclude(user_id=previous).delete()
        notifications_create_assigned(
            org=Organization.objects.get(pk=playbook.organization_id),
            playbooks=[playbook],
            acting_user_id=acting_user.pk,
            why="reassigned",
            actor=acting_user.get_full_name() or acting_user.username,
        )
        if previous != owner.pk:
            playbooks_reassigned.send(
                sender=Playbook,
                organization_id=playbook.organization_id,
                playbook_ids=[playbook.pk],
                previous_owner_ids=[previous],
            )
    return playbook
