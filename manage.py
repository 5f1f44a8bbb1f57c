#!/usr/bin/env python
"""Django's command-line utility for csplatform.

Without DJANGO_SETTINGS_MODULE it runs the production settings, which refuse to start without
a real secret key and host list: the demo and development targets of the Makefile, and the
test suite, name their settings (csplatform.settings.local, csplatform.settings.test)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings.production")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 (loads the settings module)
    except ImproperlyConfigured as exc:
        # Settings that refuse to start say why in one line, not a traceback.
        sys.exit(f"ImproperlyConfigured ({os.environ['DJANGO_SETTINGS_MODULE']}): {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
