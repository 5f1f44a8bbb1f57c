"""Celery entry points of the data app: thin, ids in, one service call each."""

from celery import shared_task
from django.conf import settings


@shared_task(
    bind=True,
    name="api.webhook_deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
    max_retries=None,  # the attempt count on the delivery row decides (WEBHOOK_MAX_ATTEMPTS)
)
def webhook_deliver(self, delivery_id: int) -> str:
    """One attempt; a failure is retried with backoff (api.webhooks.backoff: 10 s, 30 s, 90 s...)
    until the delivery's WEBHOOK_MAX_ATTEMPTS attempts are spent."""
    from . import webhooks

    outcome = webhooks.delivery_attempt(
        delivery_id=delivery_id, final=self.request.retries + 1 >= settings.WEBHOOK_MAX_ATTEMPTS
    )
    if outcome == "retry":
        raise self.retry(countdown=webhooks.backoff(self.request.retries))
    return outcome


@shared_task(
    name="api.import_run",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=3000,
    time_limit=3300,
)
def import_run(job_id: int, write_rows: bool) -> str:
    """Check (and import) one uploaded CSV file; the job row keeps the report."""
    from .imports import import_job_run

    return import_job_run(job_id=job_id, write_rows=write_rows).state


@shared_task(name="api.purge", acks_late=True, time_limit=600)
def purge() -> dict:
    """Daily: idempotency keys older than a day, webhook deliveries and imports older than 30
    days (every organization's)."""
    from .services import data_purge

    return data_purge()
