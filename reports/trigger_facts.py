"""The trigger facts: per day, trigger and version, what the firings became (TriggerDay),
written by the nightly refresh, and what a page may take from them.

A page stays exact and live: it sums the fact rows of the days the last refresh covered and
that nothing has touched since, and reads the rest from the raw rows (the days after the
refresh, the days whose firings, alerts or playbooks changed since, and the firings of the
playbooks more than one firing shares, TriggerSpan). The raw part and the facts never
overlap, so their counts add up, distinct playbooks included.

The refresh recomputes the days a night touched (every day on the first run) with the same
aggregate the report runs on raw rows (reports.selectors.triggers.COUNTS), replacing those
days' rows: a re-run leaves the same rows, one per day, trigger and version."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from orgs.models import Organization
from orgs.timezones import org_zone
from playbooks.models import Playbook
from triggers.models import Alert, Firing, Trigger

from .models import FactRefresh, TriggerDay, TriggerOutcomeDay, TriggerSpan

# Changes stamped a little before a refresh began may have been committed after it read the
# rows (a request's transaction takes milliseconds; the night's trigger chunks have committed
# before the refresh is sent): the days they touched are read raw too.
SINCE_MARGIN = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Coverage:
    """What the facts say exactly: the days up to `through`, except `dirty` ones; the days
    of the period read raw (`raw_days`), and the playbooks whose firings are (`spans`)."""

    through: dt.date
    since: dt.datetime
    dirty: frozenset
    raw_days: frozenset
    spans: tuple


def days_to_recompute(*, previous: dict, day: dt.date) -> set[dt.date]:
    """The days tonight's refresh recomputes after the `previous` one: those touched since it
    (touched_days) within the days it covered, and the days fired on after them up to `day`.
    The trigger facts and the retention alarms' months read the same set."""
    through, since = previous["triggers_through"], previous["triggers_since"]
    days = touched_days(since=since, first=dt.date.min, last=min(through, day))
    days |= set(
        Firing.objects.filter(fired_on__gt=through, fired_on__lte=day)
        .values_list("fired_on", flat=True)
        .distinct()
    )
    return days


def touched_days(*, since: dt.datetime, first: dt.date, last: dt.date) -> set[dt.date]:
    """The days in [first, last] whose firings' counts may have changed at or after `since`:
    of firings written since, of alerts decided since, of playbooks closed since, of
    triggers edited since (their kind or product moves their firings), of firings released
    from the weekly cap's queue since (their playbook or alert is new), and every day a
    firing of those firings' playbooks fired (a playbook joined since is counted once over
    all its days). Each an index range read of the current organization's rows."""
    touched = (
        Q(created_at__gte=since)
        | Q(pk__in=Alert.objects.filter(decided_at__gte=since).values("firing_id"))
        | Q(playbook_id__in=Playbook.objects.filter(closed_at__gte=since).values("pk"))
        | Q(trigger_id__in=Trigger.objects.filter(updated_at__gte=since).values("pk"))
        # a firing of an earlier day released from the weekly cap's queue since
        | Q(released_at__gte=since)
    )
    days, playbooks = set(), set()
    for part in touched.children:  # one index read each, not one OR over the period
        for day, playbook in Firing.objects.filter(part, fired_on__lte=last).values_list(
            "fired_on", "playbook_id"
        ):
            days.add(day)
            if playbook is not None:
                playbooks.add(playbook)
    if playbooks:
        days |= set(
            Firing.objects.filter(playbook_id__in=sorted(playbooks), fired_on__lte=last)
            .values_list("fired_on", flat=True)
            .distinct()
        )
    return {d for d in days if first <= d <= last}


def last_refresh() -> dict | None:
    """What the last refresh of the trigger facts covered: triggers_through (the days up to
    it) and triggers_since (changes from then on are not in them); None before the first."""
    return (
        FactRefresh.objects.filter(triggers_since__isnull=False)
        .order_by("-finished_at", "-pk")
        .values("triggers_through", "triggers_since")
        .first()
    )


def coverage(*, first: dt.date, last: dt.date) -> Coverage | None:
    """What the last refresh left for [first, last] (None: no trigger facts yet)."""
    state = last_refresh()
    if state is None:
        return None
    through, since = state["triggers_through"], state["triggers_since"]
    dirty = touched_days(since=since, first=first, last=min(last, through))
    after = {through + dt.timedelta(days=n) for n in range(1, (last - through).days + 1)}
    after = {d for d in after if d >= first}
    spans = tuple(TriggerSpan.objects.values_list("playbook_id", flat=True).order_by("playbook_id"))
    return Coverage(
        through=through,
        since=since,
        dirty=frozenset(dirty),
        raw_days=frozenset(dirty | after),
        spans=spans,
    )


def fact_rows(*, first: dt.date, last: dt.date, cover: Coverage, triggers=None, model=TriggerDay):
    """The fact rows (TriggerDay, or TriggerOutcomeDay) the page may use: covered days of
    [first, last] not touched since."""
    qs = model.objects.filter(date__gte=first, date__lte=min(last, cover.through))
    if cover.dirty:
        qs = qs.exclude(date__in=sorted(cover.dirty))
    if triggers is not None:
        qs = qs.filter(trigger_id__in=triggers)
    return qs


def raw_q(*, cover: Coverage) -> Q:
    """The firings a page reads raw beside the facts: after the covered days, on a touched
    day, or of a playbook more than one firing shares."""
    # literal lists, so the planner reads them through the (organization, fired_on) and the
    # playbook indexes instead of scanning the period
    return Q(fired_on__in=sorted(cover.raw_days)) | Q(playbook_id__in=list(cover.spans))


# -- the nightly write --------------------------------------------------------------------------


def _since_for(org: Organization, day: dt.date, began: dt.datetime) -> dt.datetime:
    """From when a change may not be in tonight's facts: the start of the day after `day`
    (a backfill stamps its changes with the day it simulates), or the refresh's start if
    earlier, less a margin."""
    next_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=org_zone(org))
    return min(next_day, began) - SINCE_MARGIN


def trigger_facts_refresh(*, org: Organization, day: dt.date) -> dict:
    """Recompute the trigger facts of every day up to `day` that the last refresh did not
    cover or that changed since (every day with firings, the first time), replacing their
    rows. Runs in the organization's context and time zone, inside the caller's
    transaction."""
    with timezone.override(org_zone(org)):
        return _refresh(org=org, day=day)


def _refresh(*, org: Organization, day: dt.date) -> dict:
    from .selectors.triggers import counts, days_expression, dismiss_key

    COUNTS = counts()  # noqa: N806
    began = timezone.now()
    previous = last_refresh()
    firings = Firing.objects.filter(fired_on__lte=day)
    # the playbooks more than one firing made or joined: read raw by the pages
    spans = set(
        Firing.objects.filter(playbook__isnull=False)
        .values("playbook_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("playbook_id", flat=True)
        .order_by()
    )
    known = set(TriggerSpan.objects.values_list("playbook_id", flat=True))
    if previous is None:
        days = None  # every day
    else:
        days = days_to_recompute(previous=previous, day=day)
        # a playbook that became shared (or stopped being) changes the days it fired
        changed = spans ^ known
        if changed:
            days |= set(
                Firing.objects.filter(playbook_id__in=changed, fired_on__lte=day).values_list(
                    "fired_on", flat=True
                )
            )
        days = {d for d in days if d <= day}
    if known - spans:
        TriggerSpan.objects.filter(playbook_id__in=known - spans).delete()
    TriggerSpan.objects.bulk_create(
        [TriggerSpan(organization=org, playbook_id=p) for p in sorted(spans - known)],
        batch_size=5000,
    )
    old = TriggerDay.objects.filter(date__lte=day)
    old_outcomes = TriggerOutcomeDay.objects.filter(date__lte=day)
    if days is not None:
        if not days:
            _record(org=org, day=day, began=began)
            return {"days": 0, "rows": 0}
        firings = firings.filter(fired_on__in=sorted(days))
        old = old.filter(date__in=sorted(days))
        old_outcomes = old_outcomes.filter(date__in=sorted(days))
    old.delete()
    old_outcomes.delete()
    counted = firings.exclude(playbook_id__in=sorted(spans)) if spans else firings
    key = ("fired_on", "trigger_id", "trigger_version")
    reasons = defaultdict(dict)
    outcomes = []
    for h in (
        counted.filter(playbook__status="completed")
        .annotate(days=days_expression())
        .values(*key, "days")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        if h["days"] is not None:
            outcomes.append(
                TriggerOutcomeDay(
                    organization=org,
                    date=h["fired_on"],
                    trigger_id=h["trigger_id"],
                    trigger_version=h["trigger_version"],
                    days=h["days"].days,
                    firings=h["n"],
                )
            )
    for r in (
        counted.filter(alert__status="dismissed")
        .values(*key, "alert__dismiss_reason")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        reason = dismiss_key(r["alert__dismiss_reason"])
        cell = reasons[tuple(r[k] for k in key)]
        cell[reason] = cell.get(reason, 0) + r["n"]
    rows = []
    for c in counted.values(*key).annotate(**COUNTS).order_by():
        k = tuple(c[x] for x in key)
        values = {name: c[name] or 0 for name in COUNTS}
        rows.append(
            TriggerDay(
                organization=org,
                date=c["fired_on"],
                trigger_id=c["trigger_id"],
                trigger_version=c["trigger_version"],
                dismiss_reasons=reasons.get(k, {}),
                **values,
            )
        )
    TriggerDay.objects.bulk_create(rows, batch_size=5000)
    TriggerOutcomeDay.objects.bulk_create(outcomes, batch_size=5000)
    _record(org=org, day=day, began=began)
    return {"days": len({r.date for r in rows}) if days is None else len(days), "rows": len(rows)}


def _record(*, org: Organization, day: dt.date, began: dt.datetime) -> None:
    """What tonight's facts cover, on the day's FactRefresh row (the caller completes it)."""
    FactRefresh.all_objects.update_or_create(
        organization=org,
        date=day,
        defaults={
            "finished_at": timezone.now(),
            "triggers_through": day,
            "triggers_since": _since_for(org, day, began),
        },
    )
