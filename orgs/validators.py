"""Validators shared by every layer's models and forms."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# A path on this site: one leading slash, never two (//host is another site) nor a backslash
# after it (browsers read /\\host as //host), no scheme, no spaces or control characters.
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\s\x00-\x1f\x7f]*")


def is_local_path(value: str) -> bool:
    return bool(value) and _LOCAL_PATH.fullmatch(value) is not None


def validate_local_path(value: str) -> None:
    """Links the product stores for people to follow (a notification's) point inside it."""
    if value and not is_local_path(value):
        raise ValidationError(
            _("Give a path on this site, starting with a single “/” (not %(value)s)."),
            code="not_local",
            params={"value": value[:60]},
        )
