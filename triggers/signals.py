"""Hooks triggers offers to higher layers (reports, the API's webhooks), so it never imports
them."""

from django.dispatch import Signal

# Sent once a night's trigger stage for an organization has completed (every chunk
# evaluated), after its transaction commits: from the chunk that completes the run, and from
# nightly_run_inline (the chain in the foreground). Arguments: organization_id, date, and
# inline (True in the foreground, where a receiver should do its work in this process rather
# than queue it).
trigger_run_completed = Signal()

# Sent once a night's scoring for an organization is DONE and right before its triggers are
# evaluated, so a stage that must come between the two (lifecycle/: the stage rules and
# activation, which triggers read) runs set-based in that place: from trigger_run_start inside
# the transaction that plans the trigger run (once per night; a receiver's error rolls the
# start back and the task is retried), and from nightly_run_inline. Arguments:
# organization_id, date, is_demo. Receivers must be idempotent.
trigger_run_starting = Signal()

# Firings were turned into their playbook or alert (the moment a trigger's firing takes
# effect), sent inside the transaction of that write. Arguments: organization_id, firing_ids.
firings_created = Signal()

# Alerts were confirmed or dismissed (by a CSM, or closed by the account's churn), sent inside
# the transaction of that write. Arguments: organization_id, alert_ids.
alerts_decided = Signal()
