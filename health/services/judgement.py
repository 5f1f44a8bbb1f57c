"""The CSM's judgement on an account (sentiment and/or override colour, with reason and
expiry) and managers' resolutions of disagreements with the model."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.services import account_sentiment_set
from orgs.models import Role, User

from ..models import CsmJudgement, Decision, DisagreementResolution, HealthScore

JUDGEMENT_DAYS = 90  # the default expiry
MAX_JUDGEMENT_DAYS = 366


def can_judge(*, account: Account, user: User, role: str) -> bool:
    """The account's owner CSM, or a manager or admin."""
    return role in (Role.ADMIN, Role.MANAGER) or (account.owner_id == user.pk and role == Role.CSM)


@transaction.atomic
def csm_judgement_set(
    *,
    account: Account,
    acting_user: User,
    role: str,
    today: dt.date,
    reason: str,
    expires_on: dt.date,
    sentiment: int | None = None,
    colour: str = "",
) -> CsmJudgement:
    """A new judgement (the previous one stays as history); the sentiment also goes on the
    account, where the CSM sentiment indicator reads it at the next scoring."""
    if not can_judge(account=account, user=acting_user, role=role):
        raise PermissionDenied(_("Only the account's CSM or a manager sets its judgement."))
    errors = {}
    if not reason.strip():
        errors["reason"] = _("Say why: a judgement always has a reason.")
    if sentiment is None and not colour:
        errors["colour"] = _("Give a sentiment, a colour, or both.")
    if sentiment is not None and not 1 <= sentiment <= 5:
        errors["sentiment"] = _("The sentiment is 1 to 5.")
    if expires_on < today:
        errors["expires_on"] = _("The expiry must not be before today.")
    elif (expires_on - today).days > MAX_JUDGEMENT_DAYS:
        errors["expires_on"] = _("A judgement lasts at most a year; renew it then.")
    if errors:
        raise ValidationError(errors)
    judgement = CsmJudgement.objects.create(
        organization_id=account.organization_id,
        account=account,
        sentiment=sentiment,
        colour=colour,
        reason=reason.strip(),
        set_on=today,
        expires_on=expires_on,
        set_by=acting_user,
    )
    account_sentiment_set(
        account=account,
        sentiment=sentiment,
        reason=reason.strip() if sentiment is not None else "",
        expires_on=expires_on if sentiment is not None else None,
    )
    return judgement


@transaction.atomic
def disagreement_resolve(
    *,
    judgement: CsmJudgement,
    acting_user: User,
    role: str,
    decision: str,
    note: str = "",
    model_colour: str,
    days: int,
) -> DisagreementResolution:
    if role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers resolve disagreements."))
    if decision not in Decision.values:
        raise ValidationError({"decision": _("Choose one of the three resolutions.")})
    latest = HealthScore.objects.filter(account_id=judgement.account_id).order_by("-date").first()
    resolution, _created = DisagreementResolution.objects.get_or_create(
        judgement=judgement,
        defaults={
            "organization_id": judgement.organization_id,
            "account_id": judgement.account_id,
            "model_id": latest.model_id if latest else None,
            "decision": decision,
            "note": note.strip(),
            "csm_colour": judgement.says_colour,
            "model_colour": model_colour,
            "days": days,
            "resolved_by": acting_user,
        },
    )
    return resolution
