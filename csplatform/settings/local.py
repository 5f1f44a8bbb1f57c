"""Local and demo settings: DEBUG on, SQLite by default, in-process tasks unless REDIS_URL."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
