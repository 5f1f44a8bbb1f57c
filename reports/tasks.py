"""Celery entry points of reports: thin, ids in, one service call."""

import datetime as dt

from celery import shared_task

from csplatform.celery import NIGHTLY_TASK_OPTIONS

from . import services


@shared_task(name="reports.facts_refresh", **NIGHTLY_TASK_OPTIONS)
def reports_facts_refresh(org_id: int, day: str) -> int:
    return services.facts_refresh(org=org_id, day=dt.date.fromisoformat(day)).cells
