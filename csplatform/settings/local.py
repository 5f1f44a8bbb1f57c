"""Local and demo settings: DEBUG on, SQLite by default, tasks in-process unless REDIS_URL is set."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
