"""Every periodic task of the platform, in one place (read by csplatform/celery.py)."""

from celery.schedules import crontab
from django.conf import settings


def beat_schedule() -> dict:
    hour, minute = settings.NIGHTLY_HOUR, settings.NIGHTLY_MINUTE
    return {
        "portfolio-refresh-nightly": {
            "task": "accounts.portfolio_refresh_all",
            "schedule": crontab(hour=hour, minute=minute),
        },
    }
