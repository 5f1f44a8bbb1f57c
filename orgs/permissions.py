"""View guards for tenancy and roles; every page view goes through one of them."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from .models import WORKER_ROLES, Role


def org_required(view=None, *, roles: tuple[str, ...] | None = None):
    """Login required, an organization required (a clear page if none), optionally a role."""

    def decorator(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.organization is None:
                return render(request, "orgs/no_organization.html", status=403)
            if roles and request.membership.role not in roles:
                raise PermissionDenied("Your role does not allow this.")
            return func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def can_work(request) -> bool:
    """The request's role works playbooks and alerts (analysts read them)."""
    m = getattr(request, "membership", None)
    return bool(m and m.role in WORKER_ROLES)


def can_reassign(request) -> bool:
    m = getattr(request, "membership", None)
    return bool(m and m.role in (Role.ADMIN, Role.MANAGER))


def can_configure(request) -> bool:
    m = getattr(request, "membership", None)
    return bool(request.user.is_superuser or (m and m.role == Role.ADMIN))
