"""Test helpers that are not factories: hand-built worlds, small writers and the test mail
server. Test modules import them from here (and factories from tests/factories.py), never
from another test module."""

from __future__ import annotations

from django.core.mail.backends import locmem

# -- the mail server ----------------------------------------------------------------------


class HookedMailBackend(locmem.EmailBackend):
    """Django's in-memory mail backend with a hook run for each message before it counts as
    sent: a test pauses there, fails the message (the hook raises) or looks at the database
    while the sender waits for the mail server. Set it with settings.EMAIL_BACKEND =
    "tests.builders.HookedMailBackend" and HookedMailBackend.hook = callable(message)."""

    hook = None

    def send_messages(self, messages):
        for message in messages:
            if HookedMailBackend.hook is not None:
                HookedMailBackend.hook(message)
        return super().send_messages(messages)
