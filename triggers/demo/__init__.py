"""Demo configuration and history for triggers:

- configuration: playbook templates and triggers per persona drawn from the source documents;
- simulation: CSM work on the firings of a backfilled year (decisions, outcomes, churns).

Callers import from here."""

from .configuration import ADDON_PRODUCTS, TEMPLATES, demo_configuration_create
from .simulation import (
    DISMISS_REASONS,
    history_notifications_read,
    simulate_csm_work,
)

__all__ = [
    "ADDON_PRODUCTS",
    "DISMISS_REASONS",
    "TEMPLATES",
    "demo_configuration_create",
    "history_notifications_read",
    "simulate_csm_work",
]
