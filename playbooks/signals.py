"""Hooks playbooks offers to higher layers (the API's webhooks), so it never imports them.
Each is sent inside the transaction of the write it reports, with ids (the receiver reads
what it needs after the write)."""

from django.dispatch import Signal

# Playbooks were created (by a trigger, a confirmed alert or a CSM). Arguments:
# organization_id, playbook_ids.
playbooks_created = Signal()

# Playbooks were closed: completed with an outcome, or cancelled (the account churned).
# Arguments: organization_id, playbook_ids.
playbooks_closed = Signal()

# Playbooks changed owner (a reassignment, or a handover with their account). Arguments:
# organization_id, playbook_ids, previous_owner_ids (per playbook, in the same order).
playbooks_reassigned = Signal()
