"""Every periodic task of the platform, in one place (read by csplatform/celery.py)."""

from celery.schedules import crontab
from django.conf import settings


def beat_schedule() -> dict:
    hour, minute = settings.NIGHTLY_HOUR, settings.NIGHTLY_MINUTE
    return {
        # The usage table's months ahead and the raw usage retention, before the night.
        "usage-partitions-daily": {
            "task": "accounts.usage_partitions_maintain",
            "schedule": crontab(hour=(hour - 2) % 24, minute=(minute + 30) % 60),
        },
        # Rollups and personas first, so scoring sees today's segments.
        "portfolio-refresh-nightly": {
            "task": "accounts.portfolio_refresh_all",
            "schedule": crontab(hour=(hour - 1) % 24, minute=minute),
        },
        "health-nightly": {
            "task": "health.nightly",
            "schedule": crontab(hour=hour, minute=minute),
        },
        # The survey campaigns' invitations, once a day in the morning (not at night: a survey
        # email is read when it arrives).
        "surveys-send-daily": {
            "task": "surveys.send_all",
            "schedule": crontab(hour=(hour + 8) % 24, minute=minute),
        },
        # Idempotency keys, old webhook deliveries and imports, at a quiet hour before the night.
        "data-purge-daily": {
            "task": "api.purge",
            "schedule": crontab(hour=(hour - 2) % 24, minute=minute),
        },
        # Sends what the night's rows say is owed and was lost (a broker outage, a dead
        # worker); see triggers/services/sweep.py.
        "nightly-sweep": {
            "task": "triggers.nightly_sweep",
            "schedule": settings.NIGHTLY_SWEEP_SECONDS,
        },
    }
