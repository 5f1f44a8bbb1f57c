"""Orgs connects no hook: tenancy, users and roles come before any business data."""

from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "Organizations and roles"
