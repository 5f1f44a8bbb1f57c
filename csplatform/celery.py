"""The Celery app, the options the nightly pipeline's tasks share, and how services queue
tasks: by name, after their transaction commits, so tasks import services and never the other
way round. Schedules live in csplatform/schedules.py, in one place."""

import logging
import os

from celery import Celery

# Production unless told otherwise: the demo and development set csplatform.settings.local,
# the tests csplatform.settings.test.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings.production")

logger = logging.getLogger(__name__)

app = Celery("csplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_schedule(sender, **kwargs):
    from csplatform.schedules import beat_schedule

    sender.conf.beat_schedule = beat_schedule()


def _nightly_task_options() -> dict:
    """Options shared by the nightly pipeline's tasks (health, triggers, the digest), and why:

    - acks_late + reject_on_worker_lost: a task whose worker dies is not acknowledged, so Redis
      redelivers it (after the broker's visibility timeout, 1 h) to another worker;
    - time limits (10 min soft, 12 min hard) well under the visibility timeout, so a slow task
      is killed and retried rather than redelivered while it still runs elsewhere;
    - retries only for transient database errors (OperationalError), with backoff.
    Poison work (a chunk that keeps killing its worker) is stopped by the attempt counter on
    the chunk row (health/services/pipeline.py), not by Celery."""
    from django.db import OperationalError

    return dict(
        acks_late=True,
        reject_on_worker_lost=True,
        soft_time_limit=600,
        time_limit=720,
        autoretry_for=(OperationalError,),
        retry_backoff=5,
        max_retries=3,
    )


NIGHTLY_TASK_OPTIONS = _nightly_task_options()


def enqueue(name: str, *args) -> None:
    """Queue the task registered as `name` now (in-process when tasks run eagerly). A process
    that is not a worker (a management command, a web process) may not have imported the apps'
    task modules yet: they are imported, once, before the name is looked up (with Django's
    autodiscover_modules: Celery's loader would run Django's logging setup again, replacing
    the handlers in place). Its result is not kept."""
    if name not in app.tasks:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("tasks")
    # Nobody waits for these results (the rows say what happened): not subscribing to the
    # result backend also keeps its reconnect loop out of a send while Redis is down.
    app.tasks[name].apply_async(args, ignore_result=True)


def broker_errors() -> tuple[type[BaseException], ...]:
    """What sending a task raises when the broker cannot be reached."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (OperationalError, RedisConnectionError, RedisTimeoutError, OSError)


def enqueue_or_log(name: str, *args) -> bool:
    """Queue the task, or log a warning and return False if the broker cannot take it: the
    caller's rows say what is owed, and the nightly sweeper sends it once the broker is back
    (so a broker outage never turns a committed step into an error)."""
    try:
        enqueue(name, *args)
    except broker_errors() as exc:
        logger.warning(
            "task %s%r not sent, the broker is unreachable (%s): the sweeper sends it later",
            name,
            args,
            (str(exc).splitlines() or [type(exc).__name__])[0],
        )
        return False
    return True


def enqueue_on_commit(name: str, *args) -> None:
    """Queue the task registered as `name` once the current transaction commits, so a worker
    never picks up work whose rows it cannot see yet (and nothing is queued on a rollback). A
    broker error then is logged, not raised (enqueue_or_log)."""
    from django.db import transaction

    transaction.on_commit(lambda: enqueue_or_log(name, *args))
