"""Production settings: HTTPS only, secrets and hosts from the environment, and a refusal to
start on anything that would be unsafe to serve customer data with (`manage.py check --deploy`
is clean with these defaults)."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEMO_SECRET_KEY, env

DEBUG = False

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
# What Django's deploy check calls a strong key (security.W009), and never the demo's.
if (
    SECRET_KEY == DEMO_SECRET_KEY
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
    or SECRET_KEY.startswith("django-insecure-")
):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a long random value in production (50 or more "
        "characters, not the demo key); generate one with: "
        'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

# HTTPS only. Behind a TLS-terminating proxy, Django learns that a request came over HTTPS
# from the header the proxy sets (name as in request.META; empty: no proxy header is
# trusted). Only trust it when the proxy overwrites it: a client could send it otherwise.
_proxy_header = env("DJANGO_SECURE_PROXY_SSL_HEADER", default="HTTP_X_FORWARDED_PROTO")
SECURE_PROXY_SSL_HEADER = (_proxy_header, "https") if _proxy_header else None
# The same proxy appends the client's address to X-Forwarded-For: login throttling counts
# failures by that address, not the proxy's (csplatform/login.py).
PROXY_COUNT = env.count("CSPLATFORM_PROXY_COUNT", default=1 if _proxy_header else 0, minimum=0)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Load balancers and container health checks probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.count("DJANGO_SECURE_HSTS_SECONDS", default=31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
