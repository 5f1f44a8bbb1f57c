"""Test settings. The database is a throwaway PostgreSQL that tests/conftest.py starts
(or the one DATABASE_URL names); Redis likewise for tests marked `worker`."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
# Serve static files from the apps and static/ (no collectstatic in a fresh clone).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Placeholder filled in by the session fixture that starts PostgreSQL, unless DATABASE_URL
# already points at a running server.
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:1/csplatform")
}
DATABASES["default"]["TEST"] = {"NAME": "test_csplatform"}
# The tests' webhook receivers listen on http://127.0.0.1 (tests/api/test_webhooks.py turns the
# guard back on to check it).
WEBHOOK_ALLOW_PRIVATE_URLS = True
