"""The banner of a troubled night for admins: lazy, so only the pages that show it (the home
pages) pay its queries."""

from __future__ import annotations

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

# The pages admins land on (orgs.views.home sends them to the portfolio).
HOME_VIEWS = ("accounts:portfolio", "workspace:my_work")


def nightly_banner(request):
    membership = getattr(request, "membership", None)
    if membership is None or membership.role != "admin":
        return {}
    match = getattr(request, "resolver_match", None)
    if match is None or match.view_name not in HOME_VIEWS:
        return {}

    def troubled():
        import datetime as dt

        from triggers.nights import TROUBLE
        from triggers.selectors import nights_status

        today = timezone.localdate()
        days = [today, today - dt.timedelta(days=1)]
        nights = nights_status(org_ids=[membership.organization_id], days=days)
        return [n for n in nights if n["state"] in TROUBLE]

    return {"troubled_nights": SimpleLazyObject(troubled)}
