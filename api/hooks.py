"""Connects the lower layers' hooks to outgoing webhooks (filled in below)."""


def connect() -> None:
    pass
