"""Hooks health offers to higher layers (triggers), so it never imports them."""

from django.dispatch import Signal

# Sent once a day's health run for an organization has finished (every chunk done or given
# up), after its transaction commits. Arguments: organization_id, date, state.
health_run_completed = Signal()

# Sent inside the transaction that writes a day's scores, for the accounts whose current
# colour that day changed (an account's first score is no change). Arguments:
# organization_id, date, changes (a list of (account_id, previous colour, new colour, score)).
health_colours_changed = Signal()
