"""Hooks triggers offers to higher layers (reports), so it never imports them."""

from django.dispatch import Signal

# Sent once a night's trigger stage for an organization has completed (every chunk
# evaluated), after its transaction commits: from the chunk that completes the run, and from
# nightly_run_inline (the chain in the foreground). Arguments: organization_id, date, and
# inline (True in the foreground, where a receiver should do its work in this process rather
# than queue it).
trigger_run_completed = Signal()
