"""Celery options shared by the nightly pipeline's tasks (health, triggers), and why:

- acks_late + reject_on_worker_lost: a task whose worker dies is not acknowledged, so Redis
  redelivers it (after the broker's visibility timeout, 1 h) to another worker;
- time limits (10 min soft, 12 min hard) well under the visibility timeout, so a slow task is
  killed and retried rather than redelivered while it still runs elsewhere;
- retries only for transient database errors (OperationalError), with backoff.
Poison work (a chunk that keeps killing its worker) is stopped by the attempt counter on the
chunk row (health/services.py), not by Celery.
"""

from django.db import OperationalError

NIGHTLY_TASK_OPTIONS = dict(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=600,
    time_limit=720,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
