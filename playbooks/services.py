"""Playbook writes: creation (in bulk, from templates), step work, contacts, outcomes and the
notifications that tell CSMs. Whoever creates a playbook passes its origin and evidence."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import services as account_services
from accounts.models import Account, ChurnReason, Contact, Interaction, LifecycleStage, Product
from csplatform.db.bulk import update_from_values
from orgs.models import WORKER_ROLES, Membership, Organization, Role, User
from orgs.tenancy import org_context
from orgs.validators import is_local_path

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
from .permissions import may_work_playbook, may_work_step, role_of

logger = logging.getLogger(__name__)


class PlaybookError(account_services.PortfolioError):
    """A playbook action refused; `field` names what was wrong."""


class StepConflict(PlaybookError):
    """The step changed since the page was loaded (someone else completed or edited it)."""


class NotAllowed(PlaybookError):
    """The member may not do this (playbooks/permissions.py): the page answers 403."""


def _require_step_worker(*, step: PlaybookStep, user: User) -> None:
    role = role_of(user=user, organization_id=step.organization_id)
    if not may_work_step(step=step, playbook=step.playbook, user_id=user.pk, role=role):
        who = step.assignee or step.playbook.owner
        raise NotAllowed(
            "step",
            gettext("this step is %(who)s's: only they or a manager can work it")
            % {"who": who or gettext("its owner")},
        )


def _require_playbook_worker(*, playbook: Playbook, user: User) -> None:
    role = role_of(user=user, organization_id=playbook.organization_id)
    if not may_work_playbook(playbook=playbook, user_id=user.pk, role=role):
        raise NotAllowed(
            "playbook",
            gettext("this playbook is %(who)s's: only they or a manager can close it or log on it")
            % {"who": playbook.owner or gettext("its owner")},
        )


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
            Account.all_objects.select_for_update()
            .filter(organization=org, pk__in=account_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        wanted = set(account_ids)
        already = {
            (account_id, template_id): pk
            for pk, account_id, template_id in Playbook.all_objects.filter(
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
            for p in Playbook.all_objects.filter(
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
    notifications_create_assigned(org=org, playbooks=playbooks, acting_user_id=acting_user_id)
    logger.info("playbooks created org=%s count=%s steps=%s", org.slug, len(playbooks), len(steps))
    return playbooks


# What a playbook notification says, by why it came (each names the account and the playbook).
_ASSIGNED_TEXTS = {
    "new": _("%(account)s: new playbook “%(playbook)s”"),
    "reassigned": _("%(account)s: %(actor)s gave you the playbook “%(playbook)s”"),
    "handover": _("%(account)s is now yours, with its open playbook “%(playbook)s”"),
}


def _account_names(playbooks: list[Playbook]) -> dict[int, str]:
    return dict(
        Account.all_objects.filter(pk__in={p.account_id for p in playbooks}).values_list(
            "pk", "name"
        )
    )


def notifications_create_assigned(
    *,
    org: Organization,
    playbooks: list[Playbook],
    acting_user_id: int | None = None,
    why: str = "new",
    actor: str = "",
) -> None:
    """Tell each playbook's owner it is theirs, naming the account and the playbook, unless
    the owner is the one who made it so."""
    playbooks = [p for p in playbooks if p.owner_id and p.owner_id != acting_user_id]
    if not playbooks:
        return
    names = _account_names(playbooks)
    template = _ASSIGNED_TEXTS[why]
    Notification.all_objects.bulk_create(
        [
            Notification(
                organization=org,
                user_id=p.owner_id,
                kind=NotificationKind.PLAYBOOK_ASSIGNED,
                playbook=p,
                ref=p.pk,
                text=(
                    str(template)
                    % {"account": names.get(p.account_id, ""), "playbook": p.title, "actor": actor}
                )[:300],
                url=reverse("playbooks:detail", args=[p.pk]),
            )
            for p in playbooks
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )


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
            Account.all_objects.select_for_update()
            .filter(pk=account.pk)
            .values_list("churned_at", "lifecycle_stage")
            .get()
        )
        if Playbook.all_objects.filter(
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
                    origin_label=f"started by {acting_user}",
                )
            ],
            acting_user_id=acting_user.pk,
        )
    (playbook,) = created.new
    return playbook


def churned_text(churned_at: dt.date | None) -> str:
    """How a page says an account churned: "This account churned on <date>."."""
    if churned_at is None:
        return gettext("This account churned.")
    return gettext("This account churned on %(date)s.") % {"date": date_format(churned_at, "j M Y")}


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
        _require_step_worker(step=step, user=user)
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
        and not PlaybookStep.all_objects.filter(
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
    name = _account_names([playbook]).get(playbook.account_id, "")
    Notification.all_objects.bulk_create(
        [
            Notification(
                organization_id=playbook.organization_id,
                user_id=playbook.owner_id,
                kind=NotificationKind.OUTCOME_DUE,
                playbook=playbook,
                ref=playbook.pk,
                text=(_OUTCOME_DUE_TEXT % {"account": name, "playbook": playbook.title})[:300],
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
        _require_step_worker(step=step, user=user)
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
        _require_step_worker(step=step, user=user)
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
    _require_playbook_worker(playbook=playbook, user=user)
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
        _require_playbook_worker(playbook=playbook, user=user)
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
        Notification.all_objects.filter(
            kind=NotificationKind.OUTCOME_DUE, ref=playbook.pk, read_at__isnull=True
        ).update(read_at=timezone.now())
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
        Notification.all_objects.filter(
            kind=NotificationKind.PLAYBOOK_ASSIGNED, ref=playbook.pk, user=owner
        ).exclude(user_id=previous).delete()
        notifications_create_assigned(
            org=Organization.objects.get(pk=playbook.organization_id),
            playbooks=[playbook],
            acting_user_id=acting_user.pk,
            why="reassigned",
            actor=acting_user.get_full_name() or acting_user.username,
        )
    return playbook


def _absolute(path: str) -> str:
    """A notification's link as an email needs it: the site's address and the path (a link
    that is not a path on the site is left out)."""
    if not is_local_path(path):
        return ""
    return settings.SITE_URL.rstrip("/") + path


# How long a digest's claim on notifications holds. A digest whose worker died between its
# claim and its mails (the task's hard time limit is 12 minutes) leaves them claimed; the
# first digest after this sends them.
DIGEST_CLAIM_TTL = dt.timedelta(minutes=30)
# What a mail backend raises when a mail does not go out (SMTP refusals, network errors).
MAIL_ERRORS = (smtplib.SMTPException, OSError)


def notifications_send_digest(*, org: Organization) -> int:
    """One email per user listing their notifications not yet emailed; each is emailed once.
    Returns how many users were mailed.

    1. Claim, in one short transaction of its own (`durable`: never inside a caller's): the
       organization's unsent notifications that no other digest holds are locked (SKIP
       LOCKED: a digest running at the same time takes none of them) and marked claimed.
    2. Send, after that commit, with no transaction open and no row locked while the mail
       server answers.
    3. Each user's mail that went out marks their notifications emailed at once (so a digest
       that dies midway resends at most one mail); a mail that fails releases its claim, and
       the next digest sends it. A claim older than DIGEST_CLAIM_TTL (its digest died) is
       taken again: a notification is never left unsent."""
    claim = timezone.now()
    with org_context(org):
        with transaction.atomic(durable=True):
            pending = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(emailed_at__isnull=True)
                .filter(
                    Q(digest_claimed_at__isnull=True)
                    | Q(digest_claimed_at__lt=claim - DIGEST_CLAIM_TTL)
                )
                .select_related("user")
                .order_by("user_id", "created_at")
            )
            Notification.objects.filter(pk__in=[n.pk for n in pending]).update(
                digest_claimed_at=claim
            )
        by_user: dict[int, list[Notification]] = defaultdict(list)
        for n in pending:
            by_user[n.user_id].append(n)
        sent = failed = 0
        unmailable: list[int] = []  # users without an address: nothing to send, nothing due
        with get_connection() as connection:
            for items in by_user.values():
                ids = [n.pk for n in items]
                user = items[0].user
                if not user.email:
                    unmailable += ids
                    continue
                try:
                    _digest_mail(user=user, items=items, connection=connection)
                except MAIL_ERRORS:
                    logger.exception("digest mail failed org=%s user=%s", org.slug, user.pk)
                    _digest_settle(ids=ids, claim=claim, emailed=False)
                    failed += 1
                    continue
                _digest_settle(ids=ids, claim=claim, emailed=True)
                sent += 1
        _digest_settle(ids=unmailable, claim=claim, emailed=True)
    logger.info(
        "digest sent org=%s users=%s failed=%s notifications=%s",
        org.slug,
        sent,
        failed,
        len(pending),
    )
    return sent


def _digest_mail(*, user: User, items: list[Notification], connection) -> None:
    links = [_absolute(n.url) for n in items]
    lines = [
        f"- {n.text}" + (f" ({link})" if link else "") for n, link in zip(items, links, strict=True)
    ]
    send_mail(
        subject=f"csplatform: {len(items)} new for you",
        message="Good morning,\n\nNew since your last digest:\n\n" + "\n".join(lines) + "\n",
        from_email=None,
        recipient_list=[user.email],
        connection=connection,
    )


def _digest_settle(*, ids: list[int], claim: dt.datetime, emailed: bool) -> None:
    """The claimed rows (those still carrying this digest's claim: a notification raised
    again meanwhile is a new one, due for the next digest) are emailed, or released."""
    if not ids:
        return
    rows = Notification.objects.filter(pk__in=ids, digest_claimed_at=claim)
    if emailed:
        rows.update(emailed_at=timezone.now())
    else:
        rows.update(digest_claimed_at=None)


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


def playbooks_handover(
    *,
    account_id: int,
    previous_owner_id: int | None,
    owner_id: int,
    acting_user_id: int | None = None,
) -> int:
    """An account changed owner: its open playbooks, and their open steps the previous owner
    held, go to the new owner, who is notified (unless they took the account themselves).
    Returns the playbooks moved."""
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
        notifications_create_assigned(
            org=org, playbooks=moved, acting_user_id=acting_user_id, why="handover"
        )
    logger.info(
        "handover account=%s from=%s to=%s playbooks=%s",
        account_id,
        previous_owner_id,
        owner_id,
        len(moved),
    )
    return len(moved)


def playbooks_cancel_for_churn(
    *, organization_id: int, churns: list, acting_user: User | None = None
) -> int:
    """Accounts churned (the accounts_churned hook): their open playbooks are cancelled with
    the reason ("account churned on <date>: <reason>"), their open steps skipped and their
    unread notifications read, set-based. Returns the playbooks cancelled."""
    why = {c.account_id: c.text for c in churns}
    rows = list(
        Playbook.all_objects.select_for_update()
        .filter(
            organization_id=organization_id,
            account_id__in=list(why),
            status=PlaybookStatus.OPEN,
        )
        .values_list("pk", "account_id")
    )
    if not rows:
        return 0
    now = timezone.now()
    closer = getattr(acting_user, "pk", None)
    update_from_values(
        table=Playbook._meta.db_table,
        key="id",
        columns=[
            ("status", "varchar"),
            ("closed_at", "timestamptz"),
            ("closed_by_id", "bigint"),
            ("outcome_notes", "text"),
        ],
        org_id=organization_id,
        rows=[
            (pk, PlaybookStatus.CANCELLED.value, now, closer, why[account_id])
            for pk, account_id in rows
        ],
    )
    ids = [pk for pk, _ in rows]
    PlaybookStep.all_objects.filter(
        organization_id=organization_id, playbook_id__in=ids, status=StepStatus.OPEN
    ).update(status=StepStatus.SKIPPED, version=F("version") + 1)
    Notification.all_objects.filter(
        organization_id=organization_id, playbook_id__in=ids, read_at__isnull=True
    ).update(read_at=now)
    logger.info(
        "playbooks cancelled for churn org=%s accounts=%s playbooks=%s",
        organization_id,
        len(why),
        len(ids),
    )
    return len(ids)
