"""The embedded default keeps working: SQLite file, local settings, tasks in-process. Runs the
real commands in a separate process, as `make demo` does, against a fresh SQLite file."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Logs in as the CSM that seed_demo printed, with the demo password, and opens the
# portfolio and one of the organization's accounts.
CLIENT_SCRIPT = textwrap.dedent(
    """
    import os

    import django

    django.setup()

    from django.test import Client
    from django.urls import reverse
    from django.utils.html import escape

    from accounts.models import Account
    from orgs.models import Membership

    login = os.environ["SMOKE_LOGIN"]
    membership = Membership.objects.select_related("organization").get(
        organization__slug="smoke", user__username=login
    )
    assert membership.role == "csm", membership.role
    client = Client()
    assert client.login(username=login, password="demo12345"), "login failed"

    home = client.get("/", follow=True)
    assert home.status_code == 200, ("home", home.status_code)

    portfolio = client.get(reverse("accounts:portfolio"))
    assert portfolio.status_code == 200, ("portfolio", portfolio.status_code)

    account = Account.all_objects.filter(organization=membership.organization).first()
    assert account is not None, "seed_demo created no accounts"
    page = client.get(reverse("accounts:detail", args=[account.pk]))
    assert page.status_code == 200, ("account page", page.status_code)
    assert escape(account.name) in page.content.decode(), "account name not on its page"
    print("smoke: ok")
    """
)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, (
        f"{' '.join(args[1:])} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result


def test_sqlite_default_migrates_seeds_and_serves_the_portfolio(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'smoke.sqlite3'}",
        DJANGO_SETTINGS_MODULE="csplatform.settings.local",
    )
    manage = [sys.executable, "manage.py"]

    _run([*manage, "migrate", "--noinput"], env)
    seeded = _run(
        [*manage, "seed_demo", "--org", "smoke", "--accounts", "30", "--months", "2"], env
    )
    # The logins table: "  <login>  demo12345  <role>  <name>"; the first CSM is the one shown.
    csm_logins = [
        parts[0]
        for parts in (line.split() for line in seeded.stdout.splitlines())
        if len(parts) >= 3 and parts[1:3] == ["demo12345", "csm"]
    ]
    assert csm_logins, f"seed_demo printed no CSM login:\n{seeded.stdout}"
    result = _run([sys.executable, "-c", CLIENT_SCRIPT], {**env, "SMOKE_LOGIN": csm_logins[0]})

    assert "smoke: ok" in result.stdout
