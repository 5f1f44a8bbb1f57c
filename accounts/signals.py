"""Hooks accounts offers to higher layers, so it never imports them."""

from django.dispatch import Signal

# Sent after seed_demo has created a demo organization's portfolio (committed). Layers above
# add their own demo configuration: health models, playbook templates, triggers.
# Arguments: organization.
demo_org_seeded = Signal()
