"""An organization's time zone: validated against the IANA list on save, and read fail-safe, so
a zone that is stored wrong (from before the validator, a script, raw SQL) makes that
organization's days UTC with a warning, instead of taking all of its pages down."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import zoneinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

if TYPE_CHECKING:
    from .models import Organization

logger = logging.getLogger(__name__)

FALLBACK_ZONE = "UTC"


@functools.cache
def timezone_names() -> frozenset[str]:
    """The IANA zone names this installation knows (the system's tz database, or tzdata)."""
    # The system's database also lists files that are not zones of the IANA list: `localtime`
    # (a link to the server's own zone), `Factory`, `posixrules`.
    return (frozenset(zoneinfo.available_timezones()) - _NOT_ZONES) | {FALLBACK_ZONE}


_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules", "posix", "right"})


def validate_timezone(value: str) -> None:
    """The Organization.timezone validator (referenced by its migration: keep its name)."""
    if value not in timezone_names():
        shown = value if len(value) <= 64 else value[:61] + "..."
        raise ValidationError(
            gettext(
                "%(value)s is not a time zone name of the IANA list; use one such as "
                "America/Sao_Paulo, Europe/Lisbon or UTC"
            ),
            code="invalid_timezone",
            params={"value": repr(shown)},
        )


def org_zone(org: Organization) -> ZoneInfo:
    """The organization's zone, or UTC (with a warning) when what is stored is not a zone."""
    name = org.timezone
    if name in timezone_names():
        try:
            return ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass  # listed but unreadable (a broken tz database): fall back like a bad name
    logger.warning(
        "organization %s (%s) has an invalid time zone %r: using %s until an admin fixes it",
        org.pk,
        org.slug,
        name,
        FALLBACK_ZONE,
    )
    return ZoneInfo(FALLBACK_ZONE)


def org_today(org: Organization) -> dt.date:
    """Today in the organization's zone."""
    return timezone.now().astimezone(org_zone(org)).date()
