"""The weekly per-CSM cap (its rules: triggers/caps.py): the settings written, and the night's
release of the queue.

The release is one organization-wide, set-based step after the night's chunks (the chunk that
closes the run calls it, and so does the night in the foreground): the queue ranked per owner
and bucket with ROW_NUMBER in one query, the week's deliveries counted in another, the cut
against the remaining capacity in pandas (triggers/caps.release_plan), then the released
firings materialized in bulk. It holds an advisory lock of the organization for its
transaction, so two releases at once (a re-run beside the chain, a sweep) take turns and the
second counts what the first delivered: the cap holds, and nothing is materialized twice (a
firing leaves the queue in the same transaction as its playbook or alert is created)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Persona
from orgs.models import Organization, User
from orgs.tenancy import org_context

from .. import selectors
from ..caps import release_plan
from ..models import Action, Firing, FiringQueue, Trigger, WeeklyCap
from ..signals import firings_created
from .evaluation import alerts_raise_for_firings, firings_mark_delivered, playbooks_open_for_firings

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(namespace, organization id): the release of one organization
RELEASE_LOCK = 72_617


@dataclass
class Release:
    released: int = 0
    playbooks: int = 0
    alerts: int = 0
    waiting: int = 0  # still queued after the release
    expired: int = 0  # queued longer than TRIGGER_QUEUE_EXPIRY_DAYS: out of the queue

    def as_dict(self) -> dict:
        return {
            "expired": self.expired,
            "released": self.released,
            "playbooks": self.playbooks,
            "alerts": self.alerts,
            "waiting": self.waiting,
        }


def weekly_cap_set(
    *, org: Organization, per_csm: int | None, persona: Persona | None = None, acting_user: User
) -> WeeklyCap:
    """Set the organization's weekly cap per CSM (persona None) or a persona's own; `per_csm`
    None: no cap. ValueError for a negative cap or another organization's persona."""
    if per_csm is not None and per_csm < 0:
        raise ValueError("per_csm: the cap cannot be negative")
    if persona is not None and persona.organization_id != org.pk:
        raise ValueError("persona: not a persona of this organization")
    with org_context(org), transaction.atomic():
        cap, _ = WeeklyCap.objects.update_or_create(
            organization=org,
            persona=persona,
            defaults={"per_csm": per_csm, "updated_by": acting_user},
        )
    return cap


def weekly_cap_clear(*, org: Organization, persona: Persona) -> None:
    """A persona's triggers share the organization's cap again."""
    with org_context(org):
        WeeklyCap.objects.filter(persona=persona).delete()


def firings_release(
    *,
    org: Organization,
    day: dt.date,
    is_demo: bool = False,
    skip_triggers: list[int] = (),
    skip_ranges: list[tuple[int, int]] = (),
) -> Release:
    """Release the queue of the night `day` as far as the cap lets each owner receive this
    week, in the release order; open their playbooks or raise their alerts. What the night
    could not check stays queued: the firings of `skip_triggers` (skipped tonight) and of the
    accounts in `skip_ranges` (a failed chunk's ids). Idempotent: a second release the same
    night finds no capacity left (or nothing queued)."""
    out = Release()
    with org_context(org), transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RELEASE_LOCK, org.pk])
        # what waited too long expires first (one UPDATE), so the rest of the queue is ranked
        # without it; the state says why it left the queue
        too_old = day - dt.timedelta(days=settings.TRIGGER_QUEUE_EXPIRY_DAYS)
        out.expired = Firing.objects.filter(
            queue_state=FiringQueue.QUEUED, fired_on__lt=too_old
        ).update(queue_state=FiringQueue.EXPIRED)
        caps = selectors.caps_in_force()
        finite = [c for c in [caps.organization, *caps.personas.values()] if c is not None]
        unlimited = caps.organization is None or None in caps.personas.values()
        ranked = selectors.firings_queue_ranked(
            day=day,
            caps=caps,
            limit=None if unlimited else max(finite, default=0),
            skip_triggers=skip_triggers,
            skip_ranges=skip_ranges,
        )
        plan = release_plan(
            ranked=ranked, used=selectors.firings_delivered_in_week(day=day, caps=caps), caps=caps
        )
        ids = plan["firing_id"].astype("int64").tolist() if not plan.empty else []
        if ids:
            firings = list(
                Firing.objects.select_for_update(of=("self",))
                .filter(pk__in=ids, queue_state=FiringQueue.QUEUED)
                .select_related("account")
                .only(
                    "pk",
                    "trigger_id",
                    "account_id",
                    "account__owner_id",
                    "evidence",
                    "evidence_text",
                )
                .order_by("pk")
            )
            triggers = {
                t.pk: t
                for t in Trigger.objects.filter(pk__in={f.trigger_id for f in firings})
                .select_related("template")
                .prefetch_related("template__steps")
            }
            to_playbook = [f for f in firings if triggers[f.trigger_id].action == Action.PLAYBOOK]
            to_alert = [f for f in firings if triggers[f.trigger_id].action == Action.ALERT]
            created = playbooks_open_for_firings(
                org=org, firings=to_playbook, triggers=triggers, opened_on=day, is_demo=is_demo
            )
            alerts_raise_for_firings(org=org, firings=to_alert)
            done = [f.pk for f in firings]
            for i in range(0, len(done), 5000):
                Firing.objects.filter(pk__in=done[i : i + 5000]).update(
                    queue_state=FiringQueue.RELEASED, released_at=timezone.now()
                )
            firings_mark_delivered(firing_ids=done, day=day)
            if done:
                firings_created.send(sender=Firing, organization_id=org.pk, firing_ids=done)
            out.released = len(done)
            out.playbooks = len(created.new)
            out.alerts = len(to_alert)
        out.waiting = selectors.firings_queued_count()
    logger.info(
        "queue released org=%s day=%s expired=%s released=%s playbooks=%s alerts=%s waiting=%s",
        org.slug,
        day,
        out.expired,
        out.released,
        out.playbooks,
        out.alerts,
        out.waiting,
    )
    return out
