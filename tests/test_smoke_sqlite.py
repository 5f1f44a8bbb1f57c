"""The embedded default keeps working: SQLite file, local settings, tasks in-process. Runs the
real commands in a separate process, as `make demo` does, against a fresh SQLite file."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from accounts.demo import DEMO_PASSWORD

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

    from accounts.demo import DEMO_PASSWORD
    from accounts.models import Account
    from orgs.models import Membership

    login = os.environ["SMOKE_LOGIN"]
    membership = Membership.objects.select_related("organization").get(
        organization__slug="smoke", user__username=login
    )
    assert membership.role == "csm", membership.role
    client = Client()
    # Through the login form, as a person does (django-axes watches it).
    response = client.post(reverse("login"), {"username": login, "password": DEMO_PASSWORD})
    assert response.status_code == 302, ("login", response.status_code)

    home = client.get("/", follow=True)
    assert home.status_code == 200, ("home", home.status_code)

    portfolio = client.get(reverse("accounts:portfolio"))
    assert portfolio.status_code == 200, ("portfolio", portfolio.status_code)

    account = Account.all_objects.filter(organization=membership.organization).first()
    assert account is not None, "seed_demo created no accounts"
    page = client.get(reverse("accounts:detail", args=[account.pk]))
    assert page.status_code == 200, ("account page", page.status_code)
    assert escape(account.name) in page.content.decode(), "account name not on its page"

    # As make demo serves it (DJANGO_DEBUG=false): the product's 404, static files served.
    from django.conf import settings

    if not settings.DEBUG:
        missing = client.get("/accounts/99999999/")
        body = missing.content.decode()
        assert missing.status_code == 404, ("404", missing.status_code)
        # the demo organization is Brazilian: its pages, the 404 too, are in Portuguese
        assert "Página não encontrada" in body and "URLconf" not in body, "not the product's 404"
        css = client.get("/static/css/app.css")
        assert css.status_code == 200, ("static", css.status_code)
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
    # The logins table: "  <login>  <password>  <role>  <name>"; the first CSM is the one shown.
    csm_logins = [
        parts[0]
        for parts in (line.split() for line in seeded.stdout.splitlines())
        if len(parts) >= 3 and parts[1:3] == [DEMO_PASSWORD, "csm"]
    ]
    assert csm_logins, f"seed_demo printed no CSM login:\n{seeded.stdout}"
    result = _run([sys.executable, "-c", CLIENT_SCRIPT], {**env, "SMOKE_LOGIN": csm_logins[0]})
    assert "smoke: ok" in result.stdout
    # and with DEBUG off, as `make demo` runs it (the Makefile says DJANGO_DEBUG ?= false)
    assert "demo: export DJANGO_DEBUG ?= false" in (ROOT / "Makefile").read_text()
    quiet = {**env, "SMOKE_LOGIN": csm_logins[0], "DJANGO_DEBUG": "false"}
    assert "smoke: ok" in _run([sys.executable, "-c", CLIENT_SCRIPT], quiet).stdout

    # What `make demo` runs last: the backfill, quiet (no INFO lines from the nightly chain),
    # ending with the logins and the address; its simulated work written back on SQLite.
    url = "http://127.0.0.1:8123/"
    backfilled = _run(
        [*manage, "demo_backfill", "--org", "smoke", "--days", "60", "--daily", "20", "--url", url],
        env,
    )
    logins = [
        parts[0]
        for parts in (line.split() for line in seeded.stdout.splitlines())
        if len(parts) >= 3 and parts[1] == DEMO_PASSWORD
    ]
    lines = backfilled.stdout.splitlines()
    tail = lines[-(len(logins) + 4) :]  # blank, address, title, header, one line per login
    assert tail[1] == f"The demo is served at {url}", backfilled.stdout
    assert [line.split()[0] for line in tail[4:]] == logins, backfilled.stdout
    assert " INFO " not in backfilled.stderr, backfilled.stderr
    # no night of the backfill may fail (its stages log their tracebacks and go on)
    assert "Traceback" not in backfilled.stderr, backfilled.stderr
    assert " ERROR " not in backfilled.stderr, backfilled.stderr
    result = _run([sys.executable, "-c", BACKFILL_SCRIPT], env)
    assert "backfill: ok" in result.stdout, result.stdout

    # The nightly chain on SQLite: scores, and trigger fields read from the breakdown in
    # SQL, where a missing indicator must stay missing (not the 0 SQLite casts 'null' to).
    _run([*manage, "run_nightly", "--org", "smoke"], env)
    result = _run([sys.executable, "-c", CHAIN_SCRIPT], env)
    assert "chain: ok" in result.stdout, result.stdout

    # The demo's history, as `make demo` backfills it (smaller): churned customers stop
    # generating work, and no two open playbooks share an account and template.
    _run([*manage, "seed_demo", "--org", "churny", "--accounts", "120", "--months", "2"], env)
    _run([*manage, "demo_backfill", "--org", "churny", "--days", "60", "--daily", "7"], env)
    result = _run([sys.executable, "-c", CHURN_SCRIPT], env)
    assert "churn: ok" in result.stdout, result.stdout


CHAIN_SCRIPT = textwrap.dedent(
    """
    import django

    django.setup()

    import math

    from health.models import HealthScore
    from health.selectors import org_today
    from orgs.models import Organization
    from orgs.tenancy import org_context
    from triggers.fields import load_frame

    org = Organization.objects.get(slug="smoke")
    day = org_today(org)
    with org_context(org):
        scores = {
            s.account_id: s
            for s in HealthScore.objects.filter(date=day).select_related("layout")
        }
        assert scores, "run_nightly scored nothing"
        frame = load_frame(day=day, fields={"indicator.nps_latest.raw"})
        for account_id, value in frame["indicator.nps_latest.raw"].items():
            raw = scores[account_id].breakdown_dict["nps_latest:365"][0]
            if raw is None:
                assert math.isnan(value), (account_id, value)
            else:
                assert value == raw, (account_id, value, raw)
        assert any(s.breakdown_dict["nps_latest:365"][0] is None for s in scores.values()), (
            "the fixture should have accounts without an NPS answer"
        )
    print("chain: ok")
    """
)


CHURN_SCRIPT = textwrap.dedent(
    """
    import datetime as dt

    import django

    django.setup()

    from django.db.models import Count, F

    from accounts.models import Account, Subscription
    from health.models import HealthScore
    from health.selectors import org_today
    from orgs.models import Organization
    from orgs.tenancy import org_context
    from playbooks.models import Playbook
    from triggers.models import Alert

    org = Organization.objects.get(slug="churny")
    today = org_today(org)
    with org_context(org):
        churned = Account.objects.filter(churned_at__lt=today)
        # the backfill (60 days) lived through churns, not only after them
        assert churned.filter(churned_at__gt=today - dt.timedelta(days=60)).exists()
        assert HealthScore.objects.filter(date=today).exists(), "the last day was not scored"
        assert not HealthScore.objects.filter(date=today, account__in=churned).exists()
        assert not HealthScore.objects.filter(
            account__churned_at__isnull=False, date__gte=F("account__churned_at")
        ).exists(), "scored on or after a churn date"
        assert not Playbook.objects.filter(account__in=churned, status="open").exists()
        assert not Playbook.objects.filter(opened_on__gte=F("account__churned_at")).exists()
        assert not Alert.objects.filter(account__in=churned, status="pending").exists()
        assert not churned.filter(mrr__gt=0).exists(), "a churned account shows MRR"
        assert not Subscription.objects.filter(account__in=churned, status="active").exists()
        assert Playbook.objects.filter(outcome="churned").exists()
        twice = (
            Playbook.objects.filter(status="open", template__isnull=False)
            .values("account_id", "template_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert not twice.exists(), list(twice)
    print("churn: ok")
    """
)

# The simulated CSM work is written back with raw UPDATEs: on SQLite the values must read
# back as the ORM writes them (aware datetimes of the simulated day, decimals).
BACKFILL_SCRIPT = textwrap.dedent(
    """
    import django

    django.setup()

    import datetime as dt
    from decimal import Decimal

    from orgs.models import Organization
    from orgs.tenancy import org_context
    from playbooks.models import Playbook, PlaybookStep

    org = Organization.objects.get(slug="smoke")
    with org_context(org):
        closed = list(Playbook.objects.filter(status="completed"))
        done = list(PlaybookStep.objects.filter(status="done"))
        assert closed and done, (len(closed), len(done))
        for p in closed:
            assert p.closed_at.tzinfo is not None and p.closed_at.time() == dt.time(15), p.closed_at
            assert p.closed_at.date() >= p.opened_on, (p.closed_at, p.opened_on)
            assert p.outcome and p.closed_by_id == p.owner_id, (p.outcome, p.closed_by_id)
            assert p.mrr_won is None or isinstance(p.mrr_won, Decimal), p.mrr_won
        for s in done:
            assert s.completed_at.time() == dt.time(15) and s.completed_by_id, s.completed_at
    print("backfill: ok")
    """
)
