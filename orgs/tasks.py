"""Celery entry points of orgs (none yet beyond the shared app)."""
