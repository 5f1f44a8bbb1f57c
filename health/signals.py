"""Hooks health offers to higher layers (triggers), so it never imports them."""

from django.dispatch import Signal

# Sent once a day's health run for an organization has finished (every chunk done or given
# up), after its transaction commits. Arguments: organization_id, date, state.
health_run_completed = Signal()
