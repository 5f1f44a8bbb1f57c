"""Reads of triggers: the active triggers and who is cooling down, the alerts waiting for a
decision, an account's firings, and the retention forecast with the rows it is computed from.
Every read goes through the tenant managers (the organization in context)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Window
from django.db.models.functions import Coalesce, RowNumber

from accounts.models import Account, Subscription
from csplatform.db.frames import values_frame
from health.models import HealthScore
from orgs.models import User
from playbooks.models import Playbook, PlaybookKind, PlaybookStatus

from .caps import DEFAULT_WEEKLY_CAP, KIND_RANK, ORG_BUCKET, Caps, week_start
from .models import (
    Alert,
    AlertStatus,
    Firing,
    FiringQueue,
    RetentionForecast,
    Schedule,
    Trigger,
    WeeklyCap,
)

ALERTS_SHOWN = 30

# -- Triggers and their cool-down -------------------------------------------------------------


def triggers_active(*, schedule: str) -> list[Trigger]:
    """The organization's active triggers of `schedule`, with what evaluating them reads."""
    return list(
        Trigger.objects.filter(is_active=True, schedule=schedule)
        .select_related("template", "product", "persona")
        .prefetch_related("template__steps")
        .order_by("pk")
    )


def accounts_cooling_down(*, triggers: list[Trigger], day: dt.date) -> dict[int, np.ndarray]:
    """Per trigger, the accounts in cool-down: a playbook or alert the trigger created is
    still open, or it fired within its cool-down days (before `day`)."""
    ids = [t.pk for t in triggers]
    # The open playbooks and pending alerts as sets the firings are looked up in (semi-joins),
    # not outer joins of every firing of the trigger to every playbook: at 100,000 accounts
    # the joins hashed the whole playbook table (0.46 s); these read the open ones by index.
    open_pairs = values_frame(
        Firing.objects.filter(trigger_id__in=ids)
        .filter(
            Q(playbook_id__in=Playbook.objects.filter(status=PlaybookStatus.OPEN).values("pk"))
            | Q(pk__in=Alert.objects.filter(status=AlertStatus.PENDING).values("firing_id"))
        )
        .order_by()
        .values_list("trigger_id", "account_id"),
        ["trigger_id", "account_id"],
    )
    # A cool-down reaching before year 1 (any positive number is valid) means since ever.
    longest = min(max((t.cooldown_days for t in triggers), default=0), (day - dt.date.min).days)
    # a firing that waits in the cap's queue (or was dropped from it, or expired in it)
    # reached nobody: it does not cool the trigger down; the night checks whether it still
    # matches instead
    recent = values_frame(
        Firing.objects.filter(
            trigger_id__in=ids if longest else [],
            fired_on__gte=day - dt.timedelta(days=longest),
            fired_on__lt=day,
        )
        .exclude(queue_state__in=[FiringQueue.QUEUED, FiringQueue.DROPPED, FiringQueue.EXPIRED])
        .order_by()
        .values_list("trigger_id", "account_id", "fired_on"),
        ["trigger_id", "account_id", "fired_on"],
    )
    if not recent.empty:
        cooldown = recent["trigger_id"].map({t.pk: t.cooldown_days for t in triggers})
        age = (pd.Timestamp(day) - pd.to_datetime(recent["fired_on"])).dt.days
        recent = recent[age < cooldown]
    pairs = pd.concat([open_pairs, recent[["trigger_id", "account_id"]]], ignore_index=True)
    return {
        int(trigger_id): group["account_id"].to_numpy()
        for trigger_id, group in pairs.groupby("trigger_id")
    }


def firings_unmaterialized(
    *,
    trigger_ids: list[int],
    period: dt.date,
    first_id: int | None = None,
    last_id: int | None = None,
) -> QuerySet[Firing]:
    """The period's firings of these triggers that have neither a playbook nor an alert yet
    and do not wait in the cap's queue, locked for the caller's transaction; rows another
    runner holds are skipped, so two runs at once never take the same firing."""
    pending = Firing.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        trigger_id__in=trigger_ids,
        period=period,
        playbook__isnull=True,
        alert__isnull=True,
        queue_state=FiringQueue.NONE,
    )
    if first_id is not None:
        pending = pending.filter(account_id__gte=first_id, account_id__lte=last_id)
    return pending.select_related("account").only(
        "pk", "trigger_id", "account_id", "account__owner_id", "evidence", "evidence_text"
    )


def firings_of_account(*, account: Account) -> QuerySet[Firing]:
    """An account's firings with their trigger (the account timeline reads them)."""
    return Firing.objects.filter(account=account).select_related("trigger")


# -- The weekly cap and its queue (the maths: triggers/caps.py) -------------------------------


def caps_in_force() -> Caps:
    """The organization's weekly cap per CSM and the personas' own (one query)."""
    org_cap, personas = DEFAULT_WEEKLY_CAP, {}
    for persona_id, per_csm in WeeklyCap.objects.values_list("persona_id", "per_csm"):
        if persona_id is None:
            org_cap = per_csm
        else:
            personas[persona_id] = per_csm
    return Caps(organization=org_cap, personas=personas)


def _bucket_of_trigger(caps: Caps, path: str = "trigger__persona_id"):
    """SQL of a firing's bucket (caps.Caps.bucket): its trigger's persona if that has a cap."""
    if not caps.personas:
        return Value(ORG_BUCKET, output_field=IntegerField())
    return Case(
        When(**{f"{path}__in": list(caps.personas)}, then=F(path)),
        default=Value(ORG_BUCKET),
        output_field=IntegerField(),
    )


def firings_delivered_in_week(*, day: dt.date, caps: Caps) -> pd.DataFrame:
    """What the week of `day` (Monday to Sunday) has delivered: per owner of the playbook or
    alert (None: unowned) and bucket, the firings whose playbook or alert a night of that week
    created: owner_id, bucket, n. One grouped query."""
    start = week_start(day)
    qs = Firing.objects.filter(
        delivered_on__gte=start, delivered_on__lte=start + dt.timedelta(days=6)
    ).annotate(
        owner=Coalesce("alert__owner_id", "playbook__owner_id"), bucket=_bucket_of_trigger(caps)
    )
    rows = qs.values("owner", "bucket").annotate(n=Count("pk")).order_by()
    return pd.DataFrame(
        [(r["owner"], r["bucket"], r["n"]) for r in rows], columns=["owner_id", "bucket", "n"]
    )


def firings_queue_ranked(
    *,
    day: dt.date,
    caps: Caps,
    limit: int | None = None,
    skip_triggers: list[int] = (),
    skip_ranges: list[tuple[int, int]] = (),
) -> pd.DataFrame:
    """The queue as the night releases it: the queued firings of active nightly triggers, of
    accounts that are still customers, but for those the night could not check (the triggers
    `skip_triggers`, the account ids in `skip_ranges`, a failed chunk's), each with its owner
    now, its bucket and its rank in its owner's and bucket's queue (ROW_NUMBER: retention
    first, then lower health on `day`, then older, then id). `limit`: only ranks up to it (the
    largest cap). firing_id, owner_id, bucket, rn. One query."""
    kind_rank = Case(
        *(When(trigger__kind=kind, then=Value(rank)) for kind, rank in KIND_RANK.items()),
        default=Value(len(KIND_RANK)),
        output_field=IntegerField(),
    )
    health = Subquery(
        HealthScore.objects.filter(account_id=OuterRef("account_id"), date=day).values("score")[:1]
    )
    bucket = _bucket_of_trigger(caps)
    qs = (
        Firing.objects.filter(
            queue_state=FiringQueue.QUEUED,
            trigger__is_active=True,
            trigger__schedule=Schedule.NIGHTLY,
            account__churned_at__isnull=True,
        )
        .exclude(account__lifecycle_stage="churned")
        .exclude(trigger_id__in=list(skip_triggers))
    )
    for first, last in skip_ranges:
        qs = qs.exclude(account_id__gte=first, account_id__lte=last)
    qs = qs.annotate(
        owner=F("account__owner_id"),
        bucket=bucket,
        kind_rank=kind_rank,
        health=health,
    ).annotate(
        rn=Window(
            RowNumber(),
            partition_by=[F("account__owner_id"), bucket],
            order_by=[
                F("kind_rank").asc(),
                F("health").asc(nulls_last=True),
                F("fired_on").asc(),
                F("pk").asc(),
            ],
        )
    )
    if limit is not None:
        qs = qs.filter(rn__lte=limit)
    rows = qs.values_list("pk", "owner", "bucket", "rn")
    return pd.DataFrame(list(rows), columns=["firing_id", "owner_id", "bucket", "rn"])


def firings_queued_in_range(
    *, trigger_ids: list[int], first_id: int | None = None, last_id: int | None = None
) -> pd.DataFrame:
    """The queued firings of these triggers (of a chunk's accounts): firing_id, trigger_id,
    account_id."""
    qs = Firing.objects.filter(trigger_id__in=trigger_ids, queue_state=FiringQueue.QUEUED)
    if first_id is not None:
        qs = qs.filter(account_id__gte=first_id, account_id__lte=last_id)
    return pd.DataFrame(
        list(qs.values_list("pk", "trigger_id", "account_id")),
        columns=["firing_id", "trigger_id", "account_id"],
    )


def firings_queued_count(*, owner: User | None = None, trigger: Trigger | None = None) -> int:
    """How many firings wait in the cap's queue: the organization's, an owner's (by the
    account's owner now) or a trigger's."""
    qs = Firing.objects.filter(queue_state=FiringQueue.QUEUED)
    if owner is not None:
        qs = qs.filter(account__owner=owner)
    if trigger is not None:
        qs = qs.filter(trigger=trigger)
    return qs.count()


def firings_queued_by_owner() -> list[dict]:
    """Per owner of the account now (None: unowned), how many firings wait in the queue:
    {"owner_id", "n"}, most first. One grouped query."""
    rows = (
        Firing.objects.filter(queue_state=FiringQueue.QUEUED)
        .values("account__owner_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "account__owner_id")
    )
    return [{"owner_id": r["account__owner_id"], "n": r["n"]} for r in rows]


def firings_queued_by_owner_and_bucket(*, caps: Caps) -> list[dict]:
    """Per owner of the account now (None: unowned) and budget (caps.Caps.bucket of the
    firing's trigger), how many firings wait in the queue: {"owner_id", "bucket", "n"}, most
    first. One grouped query."""
    rows = (
        Firing.objects.filter(queue_state=FiringQueue.QUEUED)
        .annotate(bucket=_bucket_of_trigger(caps))
        .values("account__owner_id", "bucket")
        .annotate(n=Count("pk"))
        .order_by("-n", "account__owner_id", "bucket")
    )
    return [{"owner_id": r["account__owner_id"], "bucket": r["bucket"], "n": r["n"]} for r in rows]


def firings_expired_count(*, since: dt.date) -> int:
    """How many firings fired since `since` expired in the queue (waited too long)."""
    return Firing.objects.filter(queue_state=FiringQueue.EXPIRED, fired_on__gte=since).count()


def weekly_caps() -> tuple[WeeklyCap | None, list[WeeklyCap]]:
    """The organization's cap row (None: the default applies) and the personas' own rows."""
    rows = list(WeeklyCap.objects.select_related("persona", "updated_by"))
    own = next((r for r in rows if r.persona_id is None), None)
    return own, sorted((r for r in rows if r.persona_id), key=lambda r: r.persona.name)


# -- Alerts -------------------------------------------------------------------------------


def alert_row_qs() -> QuerySet[Alert]:
    """An alert with what its row shows: the trigger, the evidence and the account."""
    return Alert.objects.select_related("firing__trigger", "account", "playbook", "decided_by")


def alert_get(*, pk: int) -> Alert:
    """One alert of the current organization (Alert.DoesNotExist otherwise)."""
    return alert_row_qs().get(pk=pk)


def pending_alerts(*, user: User, limit: int = ALERTS_SHOWN) -> tuple[list[Alert], int]:
    """The alerts waiting for `user`'s decision, newest first (at most `limit`), and how many
    there are: one query, a second only when there are more than `limit`."""
    qs = alert_row_qs().filter(owner=user, status=AlertStatus.PENDING)
    rows = list(qs.order_by("-created_at", "-pk")[: limit + 1])
    if len(rows) <= limit:
        return rows, len(rows)
    return rows[:limit], qs.count()


def pending_alerts_count(*, user: User) -> int:
    return Alert.objects.filter(owner=user, status=AlertStatus.PENDING).count()


def pending_alerts_by_owner(*, owner_ids: list[int]) -> dict[int, int]:
    """Pending alerts per owner, one aggregate query."""
    rows = (
        Alert.objects.filter(owner_id__in=owner_ids, status=AlertStatus.PENDING)
        .values("owner_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {r["owner_id"]: r["n"] for r in rows}


# -- The retention forecast ---------------------------------------------------------------


def forecast_months() -> list[dt.date]:
    """The months with a stored forecast, latest first."""
    return list(
        RetentionForecast.objects.order_by("-month").values_list("month", flat=True).distinct()
    )


def forecast_rows(*, month: dt.date) -> list[RetentionForecast]:
    """The month's forecast per persona and product, most actions first."""
    return list(
        RetentionForecast.objects.filter(month=month)
        .select_related("persona", "product")
        .order_by("-expected_actions", "-mrr_at_risk", "persona__name", "product__name")
    )


def retention_alerts_decided(*, since: dt.date, before: dt.date) -> tuple[int, int]:
    """Retention alerts decided in [since, before): how many were confirmed, of how many."""
    decided = Alert.objects.filter(
        firing__trigger__kind=PlaybookKind.RETENTION,
        decided_at__date__gte=since,
        decided_at__date__lt=before,
    ).aggregate(
        confirmed=Count("pk", filter=Q(status=AlertStatus.CONFIRMED)),
        total=Count("pk", filter=~Q(status=AlertStatus.PENDING)),
    )
    return decided["confirmed"], decided["total"]


_AT_RISK = ["account_id", "persona_id", "mrr"]


def retention_alerts_of_month(*, month: dt.date) -> pd.DataFrame:
    """The accounts of the month's (monthly) retention alerts: account_id, persona_id, mrr."""
    rows = Alert.objects.filter(
        firing__trigger__kind=PlaybookKind.RETENTION,
        firing__period=month,
        firing__trigger__schedule=Schedule.MONTHLY,
    ).values_list("account_id", "account__persona_id", "account__mrr")
    return pd.DataFrame(list(rows), columns=_AT_RISK)


def retention_playbooks_due(*, month: dt.date, next_month: dt.date) -> pd.DataFrame:
    """The accounts of open retention playbooks with an open step due in the month."""
    rows = (
        Playbook.objects.filter(
            kind=PlaybookKind.RETENTION,
            status=PlaybookStatus.OPEN,
            steps__status="open",
            steps__due_on__gte=month,
            steps__due_on__lt=next_month,
        )
        .distinct()
        .values_list("account_id", "account__persona_id", "account__mrr")
    )
    return pd.DataFrame(list(rows), columns=_AT_RISK)


def active_subscriptions_frame() -> pd.DataFrame:
    """Every active subscription: account_id, product_id, mrr."""
    rows = Subscription.objects.filter(status="active").values_list(
        "account_id", "product_id", "mrr"
    )
    return pd.DataFrame(list(rows), columns=["account_id", "product_id", "mrr"])


# -- The nightly runs, as an operator reads them ---------------------------------------------


def nights_status(
    *, org_ids: list[int], days: list[dt.date], now: dt.datetime | None = None
) -> list[dict]:
    """Each night (organization x day, newest first) that has a run, or that should have one:
    its stages (scoring, triggers, digest, monthly) with chunks done, failed and late, the
    attempts, the last error, how long it took, and what the sweeper did; plus the night's
    state ("done", "running", "late", "failed", "not started"). Four queries, whatever the
    number of nights (the runs and chunks of the window; cross-tenant on purpose: the
    callers pass the organizations the reader may see)."""
    from django.conf import settings
    from django.utils import timezone

    from health.models import HealthRun, HealthRunChunk
    from orgs.models import Organization

    from .models import TriggerRun, TriggerRunChunk
    from .nights import night_summary

    now = now or timezone.now()
    orgs = {o.pk: o for o in Organization.objects.filter(pk__in=org_ids)}
    health = list(HealthRun.all_objects.filter(organization_id__in=orgs, date__in=days))
    health_chunks = _by_run(HealthRunChunk, [r.pk for r in health])
    triggers = list(TriggerRun.all_objects.filter(organization_id__in=orgs, date__in=days))
    trigger_chunks = _by_run(TriggerRunChunk, [r.pk for r in triggers])
    health_of = {(r.organization_id, r.date): r for r in health}
    triggers_of = {(r.organization_id, r.date): r for r in triggers}
    out = []
    for day in sorted(days, reverse=True):
        for org_id in sorted(orgs, key=lambda pk: orgs[pk].name):
            h, t = health_of.get((org_id, day)), triggers_of.get((org_id, day))
            summary = night_summary(
                health_run=h,
                health_chunks=health_chunks.get(h.pk, []) if h else [],
                trigger_run=t,
                trigger_chunks=trigger_chunks.get(t.pk, []) if t else [],
                now=now,
                older_than=settings.NIGHTLY_SWEEP_OLDER_THAN,
                late_seconds=settings.NIGHTLY_LATE_SECONDS,
            )
            summary["organization"] = orgs[org_id].slug
            summary["organization_name"] = orgs[org_id].name
            summary["organization_id"] = org_id
            summary["date"] = day.isoformat()
            out.append(summary)
    return out


def _by_run(model, run_ids: list[int]) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for chunk in model.all_objects.filter(run_id__in=run_ids).order_by("run_id", "index"):
        grouped.setdefault(chunk.run_id, []).append(chunk)
    return grouped
