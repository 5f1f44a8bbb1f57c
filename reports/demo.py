"""The demo organization's report goals: a reversal goal, and coverage goals per persona that
fit how each is served (a dedicated CSM touches every enterprise account; tech-touch accounts
are reached by programmes more than by calls)."""

from __future__ import annotations

from accounts.models import Persona
from orgs.models import Organization
from orgs.tenancy import org_context

from .models import CoverageGoal, ReportSettings

COVERAGE_GOALS = {
    "strategic": 95,
    "enterprise-high-touch": 90,
    "healthcare": 75,
    "mid-market": 75,
    "payments-merchants": 60,
    "smb-tech-touch": 30,
}


def demo_report_settings_create(*, org: Organization) -> int:
    """Report settings and a coverage goal per demo persona (nothing if settings exist)."""
    with org_context(org):
        if ReportSettings.objects.exists():
            return 0
        settings = ReportSettings.objects.create(
            organization=org, reversal_goal_pct=70, coverage_days=30, coverage_goal_pct=80
        )
        personas = Persona.objects.filter(slug__in=list(COVERAGE_GOALS))
        CoverageGoal.objects.bulk_create(
            [
                CoverageGoal(
                    organization=org,
                    settings=settings,
                    persona=p,
                    goal_pct=COVERAGE_GOALS[p.slug],
                )
                for p in personas
            ]
        )
        return 1 + len(personas)
