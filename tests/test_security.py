"""Headers and settings that fail safe: a strict Content-Security-Policy on every page, HTTPS
and HSTS behind a configurable proxy header in production, `check --deploy` clean, production
refusing a weak secret key in one line, and production as the default of manage.py, Celery and
the WSGI app. The production settings run in subprocesses, as a deployment would run them."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.urls import reverse

from csplatform.settings.base import DEMO_SECRET_KEY
from tests.factories import AccountFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"

CSP_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _policy(header: str) -> dict[str, str]:
    parts = (p.strip().split(None, 1) for p in header.split(";") if p.strip())
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


# -- the Content-Security-Policy, in process ---------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["login", "portfolio", "account", "my_work", "admin"])
def test_every_page_carries_the_strict_policy(client, csm, org, page):
    if page == "admin":
        client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
        url = reverse("admin:index")
    elif page == "login":
        url = reverse("login")
    else:
        client.force_login(csm)
        account = AccountFactory(organization=org)
        url = {
            "portfolio": reverse("accounts:portfolio"),
            "account": reverse("accounts:detail", args=[account.pk]),
            "my_work": reverse("workspace:my_work"),
        }[page]
    response = client.get(url)
    assert response.status_code == 200
    policy = _policy(response["Content-Security-Policy"])
    for directive, value in CSP_DIRECTIVES.items():
        assert policy.get(directive) == value, (directive, policy)
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_templates_hold_no_inline_script_or_style():
    """What the policy would refuse: inline <script> and <style>, style= and on...= attributes,
    javascript: URLs (the browser test watches the rendered pages for the rest)."""
    offences = []
    patterns = {
        "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>"),
        "style element": re.compile(r"<style\b"),
        "style attribute": re.compile(r"\sstyle\s*=", re.I),
        "event handler": re.compile(r"\son[a-z]+\s*=", re.I),
        "javascript: URL": re.compile(r"javascript:", re.I),
        "hx-on": re.compile(r"\shx-on"),
    }
    templates = [p for p in TEMPLATES.rglob("*.html")]
    assert len(templates) > 30
    for path in templates:
        text = path.read_text()
        for name, pattern in patterns.items():
            if pattern.search(text):
                offences.append(f"{path.relative_to(ROOT)}: {name}")
    assert offences == []


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code(client):
    html = client.get(reverse("login")).content.decode()
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'", html)[1])
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False and config["allowScriptTags"] is False


# -- production settings, in subprocesses ------------------------------------------------------


def strong_key() -> str:
    return secrets.token_urlsafe(50)


def production_env(tmp_path, **overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CSPLATFORM_")) and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="csplatform.settings.production",
        DJANGO_SECRET_KEY=strong_key(),
        DJANGO_ALLOWED_HOSTS="cs.example.com,testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = run([sys.executable, "manage.py", "check", "--deploy"], production_env(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in result.stdout, output
    assert "WARNINGS" not in output and "ERRORS" not in output and "security." not in output


@pytest.mark.parametrize(
    "key",
    [DEMO_SECRET_KEY, "", "short-but-random-4f9a", "a" * 60, "django-insecure-" + "x1y2z3" * 9],
    ids=["demo key", "empty", "short", "one character", "django-insecure"],
)
def test_production_refuses_a_weak_secret_key_in_one_line(tmp_path, key):
    result = run(
        [sys.executable, "manage.py", "check"], production_env(tmp_path, DJANGO_SECRET_KEY=key)
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ImproperlyConfigured (csplatform.settings.production): ")
    assert "DJANGO_SECRET_KEY" in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "variable, value, minimum",
    [
        ("CSPLATFORM_SESSION_IDLE_MINUTES", "0", 1),
        ("CSPLATFORM_LOGIN_FAILURE_LIMIT", "five", 1),
        ("CSPLATFORM_PROXY_COUNT", "-1", 0),
        ("DJANGO_SECURE_HSTS_SECONDS", "1 year", 0),
    ],
)
def test_a_bad_number_in_the_environment_is_refused_in_one_line(tmp_path, variable, value, minimum):
    env = production_env(tmp_path, **{variable: value})
    result = run([sys.executable, "manage.py", "check"], env)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "ImproperlyConfigured (csplatform.settings.production): "
        f"{variable} must be a whole number of at least {minimum} (got {value!r})"
    ]


def test_manage_py_celery_and_wsgi_default_to_production(tmp_path):
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE=None, DJANGO_SECRET_KEY=None)
    refused = run([sys.executable, "manage.py", "check"], env)
    assert refused.returncode != 0
    assert refused.stderr.startswith("ImproperlyConfigured (csplatform.settings.production)")

    script = textwrap.dedent(
        """
        import os
        import csplatform.celery
        print(os.environ["DJANGO_SETTINGS_MODULE"])
        try:
            import csplatform.wsgi
        except Exception as exc:
            print(type(exc).__name__)
        """
    )
    result = run([sys.executable, "-c", script], env)
    assert result.stdout.split() == ["csplatform.settings.production", "ImproperlyConfigured"]


def test_the_demo_and_the_stack_name_their_settings():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "bench-workspace", "stack"):
        assert re.search(
            rf"^{target}: export DJANGO_SETTINGS_MODULE \??:?= csplatform\.settings\.local$",
            makefile,
            re.M,
        ), target


SETTINGS_SCRIPT = textwrap.dedent(
    """
    import json
    from django.conf import settings
    names = [
        "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE", "PROXY_COUNT", "SESSION_COOKIE_AGE", "DEBUG",
    ]
    print(json.dumps({name: getattr(settings, name) for name in names}))
    """
)


def production_settings(tmp_path, **env: str) -> dict:
    result = run([sys.executable, "-c", SETTINGS_SCRIPT], production_env(tmp_path, **env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_defaults_and_their_variables(tmp_path):
    assert production_settings(tmp_path) == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "PROXY_COUNT": 1,
        "SESSION_COOKIE_AGE": 3600,
        "DEBUG": False,
    }
    changed = production_settings(
        tmp_path,
        DJANGO_SECURE_PROXY_SSL_HEADER="",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_HSTS_SECONDS="600",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        DJANGO_SECURE_HSTS_PRELOAD="false",
        DJANGO_SECURE_COOKIES="false",
        CSPLATFORM_SESSION_IDLE_MINUTES="15",
        DJANGO_DEBUG="true",
    )
    assert changed == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "PROXY_COUNT": 0,
        "SESSION_COOKIE_AGE": 900,
        "DEBUG": False,  # production never debugs
    }
    other_header = production_settings(tmp_path, DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_SCHEME")
    assert other_header["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_SCHEME", "https"]


REQUEST_SCRIPT = textwrap.dedent(
    """
    import django
    django.setup()
    from django.test import Client
    client = Client()
    plain = client.get("/login/")
    print("plain", plain.status_code, plain.get("Location"), plain.get("Strict-Transport-Security"))
    health = client.get("/healthz")
    print("healthz", health.status_code)
    spoof = client.get("/login/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.9")
    print("proxied", spoof.status_code, spoof["Strict-Transport-Security"])
    print("csp", spoof["Content-Security-Policy"])
    print("cookie", spoof.cookies["csrftoken"]["secure"])
    """
)


def test_production_redirects_to_https_and_sends_hsts_behind_the_proxy(tmp_path):
    result = run([sys.executable, "-c", REQUEST_SCRIPT], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["plain"] == "301 https://testserver/login/ None"
    assert lines["healthz"] == "200"  # health checks probe over plain HTTP
    assert lines["proxied"] == "200 max-age=31536000; includeSubDomains; preload"
    assert "frame-ancestors 'none'" in lines["csp"]
    assert lines["cookie"] == "True"


def test_signed_in_pages_are_not_cached_and_features_are_off(client, csm):
    client.force_login(csm)
    for url in ("/work/", "/accounts/"):
        response = client.get(url)
        assert response.status_code == 200
        cache = response["Cache-Control"]
        assert "no-store" in cache and "private" in cache, (url, cache)
        assert "camera=()" in response["Permissions-Policy"]
    client.logout()
    login = client.get("/login/")
    assert "camera=()" in login["Permissions-Policy"]


def test_the_favicon_is_served_so_no_page_logs_a_404(client):
    """The admin's pages name no icon: the browser's /favicon.ico lands on ours."""
    response = client.get("/favicon.ico", follow=True)
    assert response.redirect_chain[0][1] == 301
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content)
