"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

# Production unless told otherwise (`make stack` and bench_workspace run it with local settings).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings.production")

application = get_wsgi_application()
