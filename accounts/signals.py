"""Hooks accounts offers to higher layers, so it never imports them."""

from django.dispatch import Signal

# Sent after seed_demo has created a demo organization's portfolio (committed). Layers above
# add their own demo configuration: health models, playbook templates, triggers.
# Arguments: organization.
demo_org_seeded = Signal()

# Sent inside the transaction that gives an account a new owner, so the layers above can hand
# over what the previous owner had open (playbooks and their steps). Arguments: account,
# previous_owner_id, acting_user.
account_owner_changed = Signal()

# Sent inside the transaction of accounts.services.accounts_mark_churned, the one way an
# account becomes churned, so the layers above close what the account had open (playbooks
# cancelled, pending alerts closed) with the same reason. Arguments: organization_id, churns
# (a list of accounts.services.ChurnedAccount: account_id, churned_at, reason, the text
# "account churned on <date>: <reason>"), acting_user (None for a job or integration).
accounts_churned = Signal()
