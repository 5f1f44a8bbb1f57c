"""The links a survey email carries: the answer link (the invitation's id and organization,
signed, so a guessed or altered link is refused) and the unsubscribe link (the contact's,
signed likewise). Neither needs a login; neither holds anything but ids."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

ANSWER_SALT = "surveys.answer"
UNSUBSCRIBE_SALT = "surveys.unsubscribe"


@dataclass(frozen=True)
class Signed:
    org_id: int
    ref: int


def _dumps(*, org_id: int, ref: int, salt: str) -> str:
    return signing.dumps([org_id, ref], salt=salt, compress=False)


def _loads(token: str, *, salt: str) -> Signed | None:
    """The ids a token signs, or None when it is not one of ours (tampered, truncated)."""
    try:
        org_id, ref = signing.loads(token, salt=salt)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(org_id, int) or not isinstance(ref, int):
        return None
    return Signed(org_id=org_id, ref=ref)


def answer_token(*, org_id: int, invitation_id: int) -> str:
    return _dumps(org_id=org_id, ref=invitation_id, salt=ANSWER_SALT)


def answer_read(token: str) -> Signed | None:
    return _loads(token, salt=ANSWER_SALT)


def unsubscribe_token(*, org_id: int, contact_id: int) -> str:
    return _dumps(org_id=org_id, ref=contact_id, salt=UNSUBSCRIBE_SALT)


def unsubscribe_read(token: str) -> Signed | None:
    return _loads(token, salt=UNSUBSCRIBE_SALT)


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def answer_url(*, org_id: int, invitation_id: int) -> str:
    token = answer_token(org_id=org_id, invitation_id=invitation_id)
    return absolute(reverse("surveys:answer", args=[token]))


def unsubscribe_url(*, org_id: int, contact_id: int) -> str:
    token = unsubscribe_token(org_id=org_id, contact_id=contact_id)
    return absolute(reverse("surveys:unsubscribe", args=[token]))
