"""Logging in like a product that holds customer data: failed logins are counted per username
and address and per address (django-axes, in the real database), pause logging in with a
clear page and a log line, and the pause ends by itself; passwords meet Django's validators;
idle sessions end."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, DEMO_USERS, demo_username
from csplatform.middleware import LAST_SEEN_KEY
from orgs.models import User
from tests.factories import UserFactory
from workspace.bench.plan import PASSWORD as BENCH_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
PASSWORD = "pass12345"  # tests.factories.UserFactory's
HERE = "10.1.1.1"
ELSEWHERE = "10.2.2.2"


def attempt(client, username, password="wrong-password", address=HERE, path=LOGIN):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address=HERE, path=LOGIN):
    return [attempt(client, username, address=address, path=path) for _ in range(times)]


def age_attempts(minutes: int) -> None:
    """As if the failures had happened `minutes` earlier."""
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=minutes))


# -- throttling and lockout --------------------------------------------------------------------


def test_five_failures_for_one_username_from_one_address_pause_its_logins(client, csm, caplog):
    responses = fail(client, csm.username, 4)
    assert [r.status_code for r in responses] == [200] * 4
    assert "correct username and password" in responses[0].content.decode()

    with caplog.at_level(logging.WARNING, logger="csplatform.login"):
        fifth = attempt(client, csm.username)
    assert fifth.status_code == 429
    assert int(fifth["Retry-After"]) >= 14 * 60
    html = fifth.content.decode()
    assert "data-login-locked" in html and "Too many failed attempts" in html
    assert "try again in" in html and "15" in html and "minutes" in html
    assert '<form method="post" action="/login/"' in html  # the login page, not a bare text
    assert "Skip to main content" in html
    locked = [r for r in caplog.records if r.name == "csplatform.login"]
    assert len(locked) == 1
    assert "login locked out" in locked[0].getMessage()
    assert repr(csm.username) in locked[0].getMessage() and HERE in locked[0].getMessage()

    # Now even the right password is refused from there, and nothing is logged in.
    right = attempt(client, csm.username, PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_pause_is_for_that_username_and_that_address_only(client, csm, manager):
    fail(client, csm.username, 5)
    assert attempt(client, csm.username, PASSWORD).status_code == 429

    elsewhere = Client()
    assert attempt(elsewhere, csm.username, PASSWORD, address=ELSEWHERE).status_code == 302
    colleague = Client()
    assert attempt(colleague, manager.username, PASSWORD).status_code == 302


def test_a_few_failures_left_are_announced(client, csm):
    first, second, third, fourth = (r.content.decode() for r in fail(client, csm.username, 4))
    assert "data-login-attempts-left" not in first + second
    assert "2 more failed attempts and logging in is paused for 15 minutes" in third
    assert "1 more failed attempt and logging in is paused for 15 minutes" in fourth


def test_twenty_failures_from_one_address_pause_every_username_there(client, csm):
    # A password sprayer: four tries at each of five usernames, none of them enough alone;
    # the twentieth failure from the address pauses it.
    statuses = [r.status_code for n in range(5) for r in fail(client, f"someone{n}", 4)]
    assert statuses == [200] * 19 + [429]
    assert attempt(client, csm.username, PASSWORD).status_code == 429
    assert attempt(Client(), csm.username, PASSWORD, address=ELSEWHERE).status_code == 302


def test_nineteen_failures_from_one_address_do_not(client, csm):
    for n in range(4):
        fail(client, f"someone{n}", 4)
    fail(client, "someone4", 3)
    assert AccessAttempt.objects.filter(ip_address=HERE).count() == 5
    assert attempt(client, csm.username, PASSWORD).status_code == 302


def test_the_pause_ends_by_itself_after_the_cool_off(client, csm):
    fail(client, csm.username, 5)
    assert attempt(client, csm.username, PASSWORD).status_code == 429

    age_attempts(14)
    assert attempt(client, csm.username, PASSWORD).status_code == 429
    age_attempts(16)
    assert attempt(client, csm.username, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(csm.pk)


def test_attempts_during_the_pause_do_not_prolong_it(client, csm):
    fail(client, csm.username, 5)
    age_attempts(10)
    before = AccessAttempt.objects.get()
    fail(client, csm.username, 3)
    after = AccessAttempt.objects.get()
    assert (after.failures_since_start, after.attempt_time) == (5, before.attempt_time)
    age_attempts(16)
    assert attempt(client, csm.username, PASSWORD).status_code == 302


def test_a_successful_login_clears_that_usernames_failures_from_that_address(client, csm):
    fail(client, csm.username, 3)
    fail(client, "someone-else", 2)
    assert attempt(client, csm.username, PASSWORD).status_code == 302
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["someone-else"]

    client.post(reverse("logout"))
    assert {r.status_code for r in fail(client, csm.username, 4)} == {200}


def test_the_django_admin_login_is_watched_too(client):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin_login = reverse("admin:login")
    responses = fail(client, root.username, 5, path=admin_login)
    assert [r.status_code for r in responses] == [200] * 4 + [429]
    assert "Too many failed attempts" in responses[-1].content.decode()
    assert attempt(client, root.username, PASSWORD, path=admin_login).status_code == 429
    assert attempt(client, root.username, PASSWORD, path=LOGIN).status_code == 429

    age_attempts(16)
    response = attempt(client, root.username, PASSWORD, path=admin_login)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(root.pk)


def test_behind_a_proxy_the_forwarded_address_is_counted(client, csm, settings):
    settings.PROXY_COUNT = 1
    proxy = "172.16.0.1"

    def through_proxy(password, client_address):
        return client.post(
            LOGIN,
            {"username": csm.username, "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"6.6.6.6, {client_address}",  # the left one is made up
        )

    for _ in range(5):
        through_proxy("wrong-password", HERE)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {HERE}
    assert through_proxy(PASSWORD, HERE).status_code == 429
    assert through_proxy(PASSWORD, ELSEWHERE).status_code == 302


# -- passwords ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, words",
    [
        ("short-1", "at least 10 characters"),
        ("password1234", "too common"),
        ("8203917465", "entirely numeric"),
        ("carla.csm.2026", "too similar to the username"),
    ],
)
def test_weak_passwords_are_refused(password, words):
    user = User(username="carla.csm.2026", email="carla@example.com")
    with pytest.raises(ValidationError) as excinfo:
        validate_password(password, user=user)
    assert any(words in message for message in excinfo.value.messages)


def test_the_admin_refuses_a_weak_password_for_a_new_user(client):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    response = client.post(
        reverse("admin:orgs_user_add"),
        {
            "username": "newbie",
            "usable_password": "true",
            "password1": "demo12345",
            "password2": "demo12345",
        },
    )
    assert response.status_code == 200
    assert "at least 10 characters" in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_the_demo_and_bench_passwords_pass_the_validators():
    for u in DEMO_USERS:
        name = demo_username("demo", u.login)
        user = User(
            username=name,
            first_name=u.first_name,
            last_name=u.last_name,
            email=f"{name}@demo.csplatform.example",
        )
        validate_password(DEMO_PASSWORD, user=user)
    validate_password(BENCH_PASSWORD, user=User(username="bench-load-01"))


# -- idle sessions -----------------------------------------------------------------------------


def _session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_a_session_ends_after_the_idle_time(client, csm):
    assert attempt(client, csm.username, PASSWORD).status_code == 302
    my_work = reverse("workspace:my_work")
    assert client.get(my_work).status_code == 200
    row = _session_row(client)
    assert row.expire_date - timezone.now() > dt.timedelta(minutes=59)
    assert row.expire_date - timezone.now() <= dt.timedelta(minutes=60)

    # Idle past the expiry: the next request is a stranger's.
    Session.objects.filter(pk=row.pk).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(my_work)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_activity_keeps_the_session_alive_with_one_write_a_minute(client, csm):
    client.force_login(csm)
    my_work = reverse("workspace:my_work")
    client.get(my_work)
    soon = timezone.now() + dt.timedelta(minutes=5)
    Session.objects.filter(pk=client.session.session_key).update(expire_date=soon)

    # Seen less than a minute ago: the session is not written again.
    client.get(my_work)
    assert _session_row(client).expire_date == soon

    # Seen more than a minute ago: its expiry moves a whole idle time ahead.
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 61
    session.save()
    Session.objects.filter(pk=session.session_key).update(expire_date=soon)
    client.get(my_work)
    assert _session_row(client).expire_date - timezone.now() > dt.timedelta(minutes=59)


def test_the_idle_time_is_configurable(client, csm, settings):
    settings.SESSION_COOKIE_AGE = 5 * 60
    response = attempt(client, csm.username, PASSWORD)
    assert response.status_code == 302
    assert response.cookies["sessionid"]["max-age"] == 300
    left = _session_row(client).expire_date - timezone.now()
    assert dt.timedelta(minutes=4) < left <= dt.timedelta(minutes=5)


def test_the_first_request_after_login_writes_no_session(client, csm):
    """A login starts the idle clock, so the page it leads to pays no session write."""
    my_work = reverse("workspace:my_work")

    def queries(client) -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(my_work).status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    client.force_login(csm)
    queries(client)
    steady = queries(client)
    fresh = Client()
    fresh.force_login(csm)
    after_login = queries(fresh)
    assert len(after_login) == len(steady)
    assert not [q for q in after_login if "django_session" in q and "UPDATE" in q]


def test_an_htmx_request_on_an_ended_session_sends_the_browser_to_the_login_page(client, csm):
    client.force_login(csm)
    Session.objects.all().delete()
    response = client.get(
        reverse("workspace:notification_badge"),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/work/?tab=steps"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=%2Fwork%2F%3Ftab%3Dsteps"
