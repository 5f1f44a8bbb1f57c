"""Headers: a strict Content-Security-Policy on every page, and the templates that let it hold."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

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
