"""Reads of playbooks: a user's open steps and their counts, the playbook page, an account's
open playbooks, the team board and notifications, each with its query shape written once.
What "overdue" means is written once too (step_overdue_q, playbook_overdue_q): the lists
carry it as an `is_overdue` annotation and the counts filter on it, so no template or view
compares dates itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    IntegerField,
    Max,
    Min,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)

from conditions.phrases import evidence_sentences
from orgs import formatting
from orgs.models import User

from .models import (
    Notification,
    Playbook,
    PlaybookContact,
    PlaybookKind,
    PlaybookStatus,
    PlaybookStep,
    PlaybookTemplate,
    StepStatus,
)

# The order kinds are worked in: retention first (a customer at risk cannot wait).
KIND_ORDER: tuple[str, ...] = (
    PlaybookKind.RETENTION,
    PlaybookKind.RENEWAL,
    PlaybookKind.EXPANSION,
    PlaybookKind.ONBOARDING,
    PlaybookKind.CUSTOM,
)
KIND_LABELS = dict(PlaybookKind.choices)

WORK_STEPS_PAGE_SIZE = 50
NOTIFICATIONS_PAGE_SIZE = 30

_STEP_ROW_FIELDS = (
    "id",
    "order",
    "title",
    "instructions",
    "due_on",
    "status",
    "notes",
    "snoozed_reason",
    "version",
    "completed_at",
    "assignee_id",
    "assignee__id",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
    "completed_by_id",
    "completed_by__id",
    "completed_by__username",
    "completed_by__first_name",
    "completed_by__last_name",
    "playbook_id",
    "playbook__id",
    "playbook__title",
    "playbook__kind",
    "playbook__status",
    "playbook__origin",
    "playbook__origin_label",
    "playbook__evidence_text",
    "playbook__evidence",
    "playbook__account_id",
    "playbook__account__id",
    "playbook__account__name",
    "playbook__account__health_score",
    "playbook__account__health_colour",
)


def _kind_rank() -> Case:
    return Case(
        *[When(playbook__kind=kind, then=Value(i)) for i, kind in enumerate(KIND_ORDER)],
        default=Value(len(KIND_ORDER)),
        output_field=IntegerField(),
    )


def step_overdue_q(*, today: dt.date, prefix: str = "") -> Q:
    """A step is overdue when it is still open and was due before the organization's today
    (`prefix` reaches the step through a relation, e.g. "steps__")."""
    return Q(**{f"{prefix}status": StepStatus.OPEN, f"{prefix}due_on__lt": today})


def playbook_overdue_q(*, today: dt.date) -> Q:
    """A playbook is overdue when it is still open past its own due date."""
    return Q(status=PlaybookStatus.OPEN, due_on__lt=today)


def _flag(q: Q) -> ExpressionWrapper:
    return ExpressionWrapper(q, output_field=BooleanField())


def evidence_lines(text: str, evidence: dict | None = None) -> list[str]:
    """The firing's evidence as one plain sentence per comparison that held, in the reader's
    language when its sentences were stored as data (conditions.phrases), else its text
    ("a; b; c") as it was written."""
    return evidence_sentences(text=text, evidence=evidence, localize=formatting.localize_figure)


# -- A user's work ------------------------------------------------------------------------


def step_row_qs(*, today: dt.date) -> QuerySet[PlaybookStep]:
    """A step with what its row shows (the playbook, its account and the people, whether it
    is overdue on `today`), one query."""
    return (
        PlaybookStep.objects.select_related("playbook__account", "assignee", "completed_by")
        .only(*_STEP_ROW_FIELDS)
        .annotate(is_overdue=_flag(step_overdue_q(today=today)))
    )


def step_get(*, pk: int, today: dt.date) -> PlaybookStep:
    """One step of the current organization (PlaybookStep.DoesNotExist otherwise)."""
    return step_row_qs(today=today).get(pk=pk)


def work_steps(*, user: User, today: dt.date, kind: str = "") -> QuerySet[PlaybookStep]:
    """The open steps assigned to `user` in open playbooks: retention first, then by due
    date (or only one kind, by due date)."""
    qs = step_row_qs(today=today).filter(
        assignee=user, status=StepStatus.OPEN, playbook__status=PlaybookStatus.OPEN
    )
    if kind:
        return qs.filter(playbook__kind=kind).order_by("due_on", "playbook_id", "order")
    return qs.annotate(kind_rank=_kind_rank()).order_by(
        "kind_rank", "due_on", "playbook_id", "order"
    )


@dataclass
class KindCount:
    kind: str
    label: str
    open: int = 0
    overdue: int = 0
    due_today: int = 0


@dataclass
class WorkCounts:
    """Open steps per kind (in KIND_ORDER, kinds with none left out) and the totals."""

    kinds: list[KindCount] = field(default_factory=list)

    @property
    def open(self) -> int:
        return sum(k.open for k in self.kinds)

    @property
    def overdue(self) -> int:
        return sum(k.overdue for k in self.kinds)

    @property
    def due_today(self) -> int:
        return sum(k.due_today for k in self.kinds)

    def of(self, kind: str) -> KindCount | None:
        return next((k for k in self.kinds if k.kind == kind), None)


def work_counts(*, user: User, today: dt.date) -> WorkCounts:
    """One aggregate query: open, overdue and due-today steps of `user` per playbook kind."""
    rows = (
        PlaybookStep.objects.filter(
            assignee=user, status=StepStatus.OPEN, playbook__status=PlaybookStatus.OPEN
        )
        .values("playbook__kind")
        .annotate(
            open=Count("pk"),
            overdue=Count("pk", filter=step_overdue_q(today=today)),
            due_today=Count("pk", filter=Q(due_on=today)),
        )
        .order_by()
    )
    by_kind = {r["playbook__kind"]: r for r in rows}
    kinds = []
    for kind in (*KIND_ORDER, *[k for k in by_kind if k not in KIND_ORDER]):
        r = by_kind.get(kind)
        if r:
            kinds.append(
                KindCount(
                    kind=kind,
                    label=KIND_LABELS.get(kind, kind),
                    open=r["open"],
                    overdue=r["overdue"],
                    due_today=r["due_today"],
                )
            )
    return WorkCounts(kinds=kinds)


def outcome_due(*, user: User, limit: int = 20) -> list[Playbook]:
    """The user's open playbooks whose steps are all done: each waits for its outcome (My
    Work asks for it), oldest first, with its account; one query."""
    return list(
        Playbook.objects.filter(owner=user, status=PlaybookStatus.OPEN)
        .exclude(steps__status=StepStatus.OPEN)
        .select_related("account")
        .only("id", "title", "kind", "opened_on", "due_on", "account__id", "account__name")
        .order_by("opened_on", "pk")[:limit]
    )


# -- The playbook page --------------------------------------------------------------------


def playbook_contacts_qs() -> QuerySet[PlaybookContact]:
    return PlaybookContact.objects.select_related(
        "interaction__contact", "interaction__author"
    ).order_by("-interaction__occurred_at", "-pk")


def playbook_steps_qs(*, today: dt.date) -> QuerySet[PlaybookStep]:
    return (
        PlaybookStep.objects.select_related("assignee", "completed_by")
        .annotate(is_overdue=_flag(step_overdue_q(today=today)))
        .order_by("order", "pk")
    )


def playbook_get(*, pk: int) -> Playbook:
    """One playbook of the current organization with its header's relations."""
    return Playbook.objects.select_related(
        "account__owner",
        "account__persona",
        "owner",
        "closed_by",
        "template",
        "opportunity_product",
        "churn_reason",
    ).get(pk=pk)


def playbook_detail(*, pk: int, today: dt.date) -> Playbook:
    """The playbook page in a fixed number of queries: the playbook with its account, owner
    and outcome relations, whether it is overdue on `today`; its steps (with who is assigned
    and who completed them, and whether each is overdue) on `step_list`; its linked contacts
    (interactions, with contact and author) on `contact_list`. Raises Playbook.DoesNotExist
    for another organization's playbook."""
    return (
        Playbook.objects.select_related(
            "account__owner",
            "account__persona",
            "owner",
            "closed_by",
            "template",
            "opportunity_product",
            "churn_reason",
        )
        .annotate(is_overdue=_flag(playbook_overdue_q(today=today)))
        .prefetch_related(
            Prefetch("steps", playbook_steps_qs(today=today), to_attr="step_list"),
            Prefetch("contacts", playbook_contacts_qs(), to_attr="contact_list"),
        )
        .get(pk=pk)
    )


def playbook_contact_list(*, playbook: Playbook) -> list[PlaybookContact]:
    return list(playbook_contacts_qs().filter(playbook=playbook))


def playbook_step_list(*, playbook: Playbook, today: dt.date) -> list[PlaybookStep]:
    steps = list(playbook_steps_qs(today=today).filter(playbook=playbook))
    for step in steps:  # the rows show the playbook's status and account: no query each
        step.playbook = playbook
    return steps


# -- An account's playbooks ---------------------------------------------------------------


def account_playbooks(*, account_id: int, today: dt.date, limit: int = 20) -> list[Playbook]:
    """The account's open playbooks first (by due date), then the latest closed ones, each
    with its step progress (`steps_total`, `steps_done`, `next_due_on`, `overdue_steps` on
    `today`), one query."""
    return list(
        Playbook.objects.filter(account_id=account_id)
        .select_related("owner")
        .annotate(
            steps_total=Count("steps"),
            steps_done=Count("steps", filter=Q(steps__status=StepStatus.DONE)),
            next_due_on=Min("steps__due_on", filter=Q(steps__status=StepStatus.OPEN)),
            overdue_steps=Count("steps", filter=step_overdue_q(today=today, prefix="steps__")),
            is_open=Case(
                When(status=PlaybookStatus.OPEN, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by("is_open", "-opened_on", "-pk")[:limit]
    )


def templates_startable() -> QuerySet[PlaybookTemplate]:
    """Active templates a CSM may start by hand, by kind (retention first) and name."""
    return (
        PlaybookTemplate.objects.filter(is_active=True)
        .annotate(
            kind_rank=Case(
                *[When(kind=kind, then=Value(i)) for i, kind in enumerate(KIND_ORDER)],
                default=Value(len(KIND_ORDER)),
                output_field=IntegerField(),
            )
        )
        .only("id", "name", "kind")
        .order_by("kind_rank", "name")
    )


# -- The team board -----------------------------------------------------------------------


@dataclass
class TeamRow:
    user: User
    open: int = 0
    overdue: int = 0
    completed_this_month: int = 0
    last_completed_at: dt.datetime | None = None


def team_board(*, members: list[User], today: dt.date, month_start: dt.datetime) -> list[TeamRow]:
    """Per member: open and overdue steps (in open playbooks) and steps completed since
    `month_start`, in one aggregate query over the steps assigned to them."""
    ids = [m.pk for m in members]
    open_q = Q(status=StepStatus.OPEN, playbook__status=PlaybookStatus.OPEN)
    done_q = Q(status=StepStatus.DONE, completed_at__gte=month_start)
    rows = (
        PlaybookStep.objects.filter(assignee_id__in=ids)
        .filter(Q(status=StepStatus.OPEN) | done_q)
        .values("assignee_id")
        .annotate(
            open=Count("pk", filter=open_q),
            overdue=Count("pk", filter=open_q & step_overdue_q(today=today)),
            completed=Count("pk", filter=done_q),
            last_completed_at=Max("completed_at", filter=done_q),
        )
        .order_by()
    )
    by_user = {r["assignee_id"]: r for r in rows}
    board = []
    for member in members:
        r = by_user.get(member.pk, {})
        board.append(
            TeamRow(
                user=member,
                open=r.get("open", 0),
                overdue=r.get("overdue", 0),
                completed_this_month=r.get("completed", 0),
                last_completed_at=r.get("last_completed_at"),
            )
        )
    return board


# -- Notifications ------------------------------------------------------------------------


def notification_is_users(*, user: User, pk: int) -> bool:
    """Whether notification `pk` is one of the user's (in the organization in context)."""
    return Notification.objects.filter(user=user, pk=pk).exists()


def notifications_of(*, user: User) -> QuerySet[Notification]:
    """The user's in-app notifications, unread first, newest first, each with the playbook
    and account it is about (for their links)."""
    return (
        Notification.objects.filter(user=user)
        .select_related("playbook__account")
        .only(
            *(f.name for f in Notification._meta.concrete_fields),
            "playbook__id",
            "playbook__title",
            "playbook__account__id",
            "playbook__account__name",
        )
        .annotate(
            unread=Case(
                When(read_at__isnull=True, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("unread", "-created_at", "-pk")
    )


def notifications_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def playbook_chart_events(*, account, first: dt.date, last: dt.date) -> list[dict]:
    """The account's playbooks opened and closed in [first, last], as the health chart's
    markers (health.events): one query."""
    from orgs.timezones import org_zone

    zone = org_zone(account.organization)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    rows = (
        Playbook.objects.filter(account=account)
        .filter(Q(opened_on__range=(first, last)) | Q(closed_at__gte=start, closed_at__lt=end))
        .order_by("opened_on", "pk")
        .values_list("title", "opened_on", "closed_at", "status")[:200]
    )
    events = []
    for title, opened_on, closed_at, status in rows:
        if first <= opened_on <= last:
            events.append({"date": opened_on.isoformat(), "kind": "playbook_opened", "text": title})
        if closed_at is not None and start <= closed_at < end:
            day = closed_at.astimezone(zone).date().isoformat()
            events.append({"date": day, "kind": "playbook_closed", "text": f"{title} ({status})"})
    return events
