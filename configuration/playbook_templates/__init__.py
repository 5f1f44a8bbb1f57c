"""Playbook templates in the configuration area: an organization's admins list, create and
edit templates and their ordered steps (title, instructions, due offset, who does it)."""
