"""Notifications: who is told a playbook or step is theirs, the morning digest (claimed in
one short transaction, mailed after the commit) and marking them read."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections import defaultdict

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Account
from conditions.phrases import phrase_key
from orgs import formatting
from orgs.languages import recipient_language
from orgs.models import Membership, Organization, Role, User
from orgs.tenancy import org_context
from orgs.validators import is_local_path

from ..models import (
    Notification,
    NotificationKind,
    Playbook,
)

logger = logging.getLogger(__name__)


# What a playbook notification says, by why it came (each names the account and the playbook).
_ASSIGNED_TEXTS = {
    "new": _("%(account)s: new playbook “%(playbook)s”"),
    "reassigned": _("%(account)s: %(actor)s gave you the playbook “%(playbook)s”"),
    "handover": _("%(account)s is now yours, with its open playbook “%(playbook)s”"),
}


def notification_phrase(template, params: dict) -> tuple[str, dict]:
    """A notification's text as written now and as data (its msgid and values), which
    Notification.shown renders in each reader's language: (text, phrase). `template` is a
    gettext_lazy proxy (its msgid is what is kept)."""
    return (str(template) % params)[:300], {**phrase_key(template), "a": params}


def account_names(playbooks: list[Playbook]) -> dict[int, str]:
    return dict(
        Account.objects.filter(pk__in={p.account_id for p in playbooks}).values_list("pk", "name")
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
    names = account_names(playbooks)
    template = _ASSIGNED_TEXTS[why]
    rows = []
    for p in playbooks:
        text, phrase = notification_phrase(
            template,
            {"account": names.get(p.account_id, ""), "playbook": p.title, "actor": actor},
        )
        rows.append(
            Notification(
                organization=org,
                user_id=p.owner_id,
                kind=NotificationKind.PLAYBOOK_ASSIGNED,
                playbook=p,
                ref=p.pk,
                text=text,
                phrase=phrase,
                url=reverse("playbooks:detail", args=[p.pk]),
            )
        )
    Notification.objects.bulk_create(
        rows,
        ignore_conflicts=True,
        batch_size=5000,
    )


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
                    _digest_mail(org=org, user=user, items=items, connection=connection)
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


def _digest_mail(*, org: Organization, user: User, items: list[Notification], connection) -> None:
    """The user's digest in their language (their choice, else the organization's), its
    figures and days in the organization's formats."""
    links = [_absolute(n.url) for n in items]
    token = formatting.activate(locale=org.locale, currency=org.currency)
    try:
        with translation.override(recipient_language(user=user, organization=org)):
            lines = [
                f"- {n.shown}" + (f" ({link})" if link else "")
                for n, link in zip(items, links, strict=True)
            ]
            count = formatting.format_number(len(items))
            subject = ngettext(
                "csplatform: %(count)s new for you",
                "csplatform: %(count)s new for you",
                len(items),
            ) % {"count": count}
            message = render_to_string(
                "playbooks/email/digest.txt",
                {"user": user, "lines": lines, "organization": org},
            )
    finally:
        formatting.deactivate(token)
    send_mail(
        subject=subject,
        message=message,
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


def notifications_notify_admins(*, org_id: int, notices: list[tuple[str, int, str, str]]) -> int:
    """Tell every active admin of the organization about something of theirs (a trigger the
    night skipped, a webhook endpoint switched off): one notification per admin for each
    (kind, ref, text, url) notice. The same kind and ref notify each admin once: raised again
    when it happens again, unread, unsent and free of any digest's claim (a digest under way
    leaves it). Returns how many notifications were written."""
    admins = list(
        Membership.objects.filter(
            organization_id=org_id, role=Role.ADMIN, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    max_text = Notification._meta.get_field("text").max_length
    rows = []
    for kind, ref, said, url in notices:
        # `said`: the text, or (a translatable template, its values) to keep it as data too
        text, phrase = notification_phrase(*said) if isinstance(said, tuple) else (said, {})
        text = text if len(text) <= max_text else text[: max_text - 1] + "…"
        rows += [
            Notification(
                organization_id=org_id,
                user_id=user_id,
                kind=kind,
                ref=ref,
                text=text,
                phrase=phrase,
                url=url,
            )
            for user_id in admins
        ]
    if not rows:  # an organization without an active admin
        return 0
    Notification.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["user", "kind", "ref"],
        update_fields=[
            "text",
            "phrase",
            "url",
            "created_at",
            "read_at",
            "emailed_at",
            "digest_claimed_at",
        ],
    )
    return len(rows)
