"""The Celery app. Schedules live in csplatform/schedules.py, in one place."""

import os

from celery import Celery

# Production unless told otherwise: the demo and development set csplatform.settings.local,
# the tests csplatform.settings.test.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings.production")

app = Celery("csplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_schedule(sender, **kwargs):
    from csplatform.schedules import beat_schedule

    sender.conf.beat_schedule = beat_schedule()
