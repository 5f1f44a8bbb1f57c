"""Local and demo settings: SQLite by default, in-process tasks unless REDIS_URL. DEBUG is on
for development unless DJANGO_DEBUG says otherwise; `make demo` turns it off, so a first user
meets the product's own error pages, never a traceback with the settings in it."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Static files straight from the apps and static/, with or without DEBUG: no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Development receivers listen on http://localhost.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("CSPLATFORM_WEBHOOK_ALLOW_PRIVATE_URLS", default=True)
