"""Accounts connects no hook; it offers demo_org_seeded, account_owner_changed and
accounts_churned (accounts/signals.py) for the layers above."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
