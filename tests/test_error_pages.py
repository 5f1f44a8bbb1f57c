"""The 404, 500 and 503 pages show nothing of the server to anyone: no database host or port,
no exception text, no traceback. The details are in the log line. DEBUG is off (test settings),
as in production; the client does not re-raise, so the response is what a browser gets."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError, connections
from django.test import Client
from django.urls import path, reverse
from kombu.exceptions import OperationalError as BrokerError

from csplatform.urls import urlpatterns as project_urlpatterns
from tests.factories import AccountFactory
from tests.services import free_port

SECRET_HOST = "db-7.internal.example"
SECRET_PORT = "6543"
LEAKS = (SECRET_HOST, SECRET_PORT, "Traceback", "Connection refused", "RuntimeError", 'File "')


def _raises_runtime_error(request):
    raise RuntimeError(f"could not talk to {SECRET_HOST}:{SECRET_PORT}: Connection refused")


def _raises_database_down(request):
    raise OperationalError(
        f'connection to server at "{SECRET_HOST}" (10.9.8.7), port {SECRET_PORT} failed: '
        "Connection refused\n\tIs the server running on that host?"
    )


def _raises_connection_closed(request):
    # what a persistent connection the server closed (a PostgreSQL restart) raises when used
    from django.db import InterfaceError

    raise InterfaceError("connection already closed")


def _raises_broker_down(request):
    raise BrokerError(f"Error 111 connecting to {SECRET_HOST}:{SECRET_PORT}. Connection refused.")


# This module is the URLconf of the tests marked below: the project's URLs and three that fail.
handler500 = "csplatform.errors.server_error"
urlpatterns = [
    path("boom/", _raises_runtime_error),
    path("db-down/", _raises_database_down),
    path("broker-down/", _raises_broker_down),
    path("connection-closed/", _raises_connection_closed),
    *project_urlpatterns,
]


def browser() -> Client:
    return Client(raise_request_exception=False)


def assert_tells_nothing(html: str) -> None:
    leaked = [word for word in LEAKS if word in html]
    assert leaked == [], html


@pytest.mark.urls("tests.test_error_pages")
@pytest.mark.django_db
def test_an_error_in_a_view_is_a_plain_500_page(csm, caplog):
    client = browser()
    client.force_login(csm)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert 'href="/static/css/app.css"' in html
    assert_tells_nothing(html)


@pytest.mark.urls("tests.test_error_pages")
@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, words", [("/db-down/", "its database"), ("/broker-down/", "its task queue")]
)
def test_an_unreachable_service_in_a_view_is_a_503_page_and_a_log_line(csm, caplog, url, words):
    client = browser()
    client.force_login(csm)
    with caplog.at_level(logging.ERROR, logger="csplatform.errors"):
        response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert words in html and "Temporarily unavailable" in html
    assert_tells_nothing(html)
    logged = [r.getMessage() for r in caplog.records if r.name == "csplatform.errors"]
    assert len(logged) == 1
    assert SECRET_HOST in logged[0] and SECRET_PORT in logged[0] and url in logged[0]


@pytest.mark.urls("tests.test_error_pages")
@pytest.mark.django_db
def test_a_connection_the_database_closed_is_a_503_page(csm):
    """After a PostgreSQL restart, a persistent connection used again raises InterfaceError
    ("connection already closed"), not OperationalError: the 503 page too."""
    client = browser()
    client.force_login(csm)
    response = client.get("/connection-closed/")
    assert response.status_code == 503
    assert "its database" in response.content.decode()
    assert response["Content-Security-Policy"]


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_is_a_503_page_even_before_the_view(csm, caplog):
    """The session is read (in a middleware) from a database that no longer answers."""
    client = browser()
    client.force_login(csm)
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    dead_port = str(free_port())
    connection.close()
    connection.settings_dict["PORT"] = dead_port
    try:
        with caplog.at_level(logging.ERROR, logger="csplatform.errors"):
            response = client.get(reverse("workspace:my_work"))
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    html = response.content.decode()
    assert "its database" in html
    assert_tells_nothing(html)
    for word in (dead_port, saved["HOST"], "connection to server", "OperationalError"):
        assert word not in html, word
    logged = [r.getMessage() for r in caplog.records if r.name == "csplatform.errors"]
    assert len(logged) == 1 and dead_port in logged[0]


@pytest.mark.django_db
def test_a_missing_page_is_a_404_page_without_the_exception(client, csm, other_org):
    foreign = AccountFactory(organization=other_org)
    client.force_login(csm)
    response = client.get(reverse("accounts:detail", args=[foreign.pk]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "matches the given query" not in html and "Account" not in html.split("<main")[1]
    anonymous = Client().get("/no/such/page/")
    assert anonymous.status_code == 404 and "Page not found" in anonymous.content.decode()


@pytest.mark.django_db
def test_a_refused_page_is_a_403_page_in_the_products_layout(client, csm):
    """A CSM opening the configuration (admins and analysts only) is refused: a 403 in the
    product's layout (its navigation), that says why in words and nothing of the exception;
    in Portuguese for a person who reads it."""
    client.force_login(csm)
    response = client.get(reverse("configuration:home"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "Not allowed" in html and 'class="mainnav"' in html
    assert "Your role does not allow this." not in html
    assert_tells_nothing(html)
    csm.language = "pt-br"
    csm.save(update_fields=["language"])
    pt = client.get(reverse("configuration:home"))
    assert pt.status_code == 403 and "Não permitido" in pt.content.decode()


@pytest.mark.django_db
def test_a_form_without_its_token_is_a_403_page_without_the_reason(csm):
    """A form posted without its CSRF token: a 403 page that says what to do, not Django's
    page with its reason and its debugging help."""
    strict = Client(enforce_csrf_checks=True, raise_request_exception=False)
    strict.force_login(csm)
    response = strict.post(reverse("logout"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "The form has expired" in html
    assert "CSRF" not in html and "Referer" not in html
    assert_tells_nothing(html)
