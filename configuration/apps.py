"""Configuration: the organization's admins and analysts shape triggers (drafts, dry runs,
backtests, publishing) and personas inside the product. Nothing imports it."""

from django.apps import AppConfig


class ConfigurationConfig(AppConfig):
    name = "configuration"
    verbose_name = "Configuration"
