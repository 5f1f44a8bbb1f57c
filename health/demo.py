"""Default health models built from the indicators the source documents name: usage,
transacted-volume trend, tenure, renewals, NPS, CSAT, tickets over SLA, delinquency and
discounts, interaction recency and adoption. Used by the demo seed and by new organizations."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import Persona
from orgs.languages import supported_language
from orgs.models import Organization
from orgs.tenancy import org_context

from .models import Direction, HealthModel, Indicator
from .services import health_model_versions_record

H, L = Direction.HIGHER_IS_BETTER, Direction.LOWER_IS_BETTER

# measure, window, metric, direction, bad, good, weight
BASE = [
    ("usage_frequency", 30, "logins", H, 2, 20, 3),
    ("usage_trend", 30, "logins", H, -50, 10, 3),
    ("volume_trend", 90, "transacted_volume", H, -40, 10, 3),
    ("tenure", None, "", H, 1, 36, 1),
    ("renewals", None, "", H, 0, 3, 1),
    ("nps_latest", 365, "", H, 3, 9, 2),
    ("csat_avg", 90, "", H, 2, 4.5, 1),
    ("tickets_over_sla", 90, "", L, 4, 0, 2),
    ("overdue_invoices", None, "", L, 3, 0, 2),
    ("discount_level", None, "", L, 30, 0, 1),
    ("days_since_interaction", None, "", L, 120, 14, 1),
    ("product_adoption", 30, "", H, 20, 100, 2),
    ("csm_sentiment", None, "", H, 1, 5, 1),
]

# Weight changes per kind of persona: high touch leans on relationship, tech touch on usage.
HIGH_TOUCH = {"days_since_interaction": 3, "nps_latest": 3, "csm_sentiment": 2, "renewals": 2}
TECH_TOUCH = {"usage_frequency": 4, "usage_trend": 4, "days_since_interaction": 0.5}


def _touch_of(persona: Persona) -> str:
    text = str(persona.rules).lower() + persona.slug.lower()
    if "high" in text or "enterprise" in text or "diamond" in text:
        return "high"
    if "tech" in text or "smb" in text or "low" in text:
        return "tech"
    return "mid"


def _create(org, name, persona, overrides) -> HealthModel:
    model = HealthModel.objects.create(organization=org, name=name, persona=persona)
    Indicator.objects.bulk_create(
        [
            Indicator(
                organization=org,
                model=model,
                measure=m,
                window_days=w,
                metric=metric,
                direction=d,
                bad_value=bad,
                good_value=good,
                weight=overrides.get(m, weight),
            )
            for m, w, metric, d, bad, good, weight in BASE
        ]
    )
    health_model_versions_record(model_ids=[model.pk])
    return model


def health_models_create_defaults(*, org: Organization) -> list[HealthModel]:
    """A default model, and one per persona with weights suited to its touch model.
    Does nothing for models that already exist."""
    created = []
    # the models' names are the organization's data, written in its language
    language = supported_language(org.locale) or settings.LANGUAGE_CODE
    with org_context(org), transaction.atomic(), translation.override(language):
        if not HealthModel.objects.filter(persona=None).exists():
            created.append(_create(org, gettext("Default health"), None, {}))
        for persona in Persona.objects.filter(health_model__isnull=True):
            touch = _touch_of(persona)
            overrides = {"high": HIGH_TOUCH, "tech": TECH_TOUCH}.get(touch, {})
            name = gettext("%(persona)s health") % {"persona": persona.name}
            created.append(_create(org, name, persona, overrides))
    return created
