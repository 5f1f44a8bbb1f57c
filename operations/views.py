"""The nightly status page (admins: their organization; superusers: every organization) and
the readiness check (/healthz/ready: the database and the broker answer)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from orgs.models import Organization, Role
from triggers.selectors import nights_status

# The nights the page lists by default: today and the six days before.
DAYS_SHOWN = 7


def _readable_orgs(request) -> list[Organization]:
    if request.user.is_superuser:
        return list(Organization.objects.order_by("name"))
    if request.membership is not None and request.membership.role == Role.ADMIN:
        return [request.organization]
    raise PermissionDenied(_("Only administrators see the nightly status."))


def nightly(request):
    """Each night of the last week (or of ?date=YYYY-MM-DD) per organization: its stages,
    chunks done, failed and late, attempts, the last error, how long it took, and what the
    sweeper did."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    orgs = _readable_orgs(request)
    if request.user.is_superuser and request.GET.get("org"):
        orgs = [o for o in orgs if o.slug == request.GET["org"]] or orgs
    today = timezone.localdate()
    error = ""
    chosen = None
    raw = request.GET.get("date", "")
    if raw:
        try:
            chosen = dt.date.fromisoformat(raw)
        except ValueError:
            error = _("“%(value)s” is not a date (YYYY-MM-DD): the last week is shown.") % {
                "value": raw[:40]
            }
    days = [chosen] if chosen else [today - dt.timedelta(days=i) for i in range(DAYS_SHOWN)]
    nights = [
        n
        for n in nights_status(org_ids=[o.pk for o in orgs], days=days)
        if n["state"] != "not started" or n["date"] == today.isoformat() or chosen
    ]
    return render(
        request,
        "operations/nightly.html",
        {
            "nights": nights,
            "chosen": chosen,
            "error": error,
            "many_orgs": len(orgs) > 1,
            "lease_seconds": settings.NIGHTLY_CHUNK_LEASE_SECONDS,
            "sweep_seconds": settings.NIGHTLY_SWEEP_SECONDS,
        },
    )


def healthz_ready(request):
    """Readiness: 200 when the database and the broker answer, else 503, with each one's
    state (no host, port or error text: those go to the log). /healthz stays the cheap
    liveness check."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(checks.values())
    body = {"ready": ready, **{k: "ok" if v else "unavailable" for k, v in checks.items()}}
    return JsonResponse(body, status=200 if ready else 503)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _broker_ok() -> bool:
    from orgs.cli import broker_version

    url = getattr(settings, "REDIS_URL", "")
    if not url:  # tasks run in-process (the embedded demo): there is no broker to wait for
        return True
    try:
        broker_version(url, timeout=2)
        return True
    except Exception:  # noqa: BLE001 - any failure to answer means not ready
        return False
