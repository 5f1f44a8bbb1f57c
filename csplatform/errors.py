"""Error pages that tell a person what happened and nothing about the server: no host, port,
exception text or traceback on the 500 and 503 pages, whoever asks. The details go to the log.

An unreachable database or broker is a 503 wherever it is noticed: in a view
(ServiceUnavailableMiddleware.process_exception), in a middleware before it, such as the session
lookup (server_error, the handler500 of csplatform/urls.py), and, whatever answered a request
that met one with a 500 on the way out, by ServiceUnavailableMiddleware, the outermost
middleware (it learns of the error from Django's got_request_exception signal)."""

from __future__ import annotations

import logging
import sys

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError
from django.template import loader
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def is_service_unavailable(exception: BaseException | None) -> bool:
    """The database or the broker cannot be reached: an OperationalError (refused, shutting
    down, the connection ended), an InterfaceError (a connection the server closed, used
    again: "connection already closed"), a broker error, or a database error about the
    connection."""
    return isinstance(exception, OperationalError | InterfaceError | BrokerError) or (
        isinstance(exception, DatabaseError) and "connect" in str(exception).lower()
    )


def service_unavailable(request, exception: BaseException) -> HttpResponse:
    """The 503 page. Rendered without the request's context: its context processors would
    read the session and the user from the database that just failed."""
    service = "broker" if isinstance(exception, BrokerError) else "database"
    detail = (str(exception).splitlines() or [""])[0][:300]
    logger.error(
        "service unavailable: %s: %s (%s %s)",
        service,
        detail or type(exception).__name__,
        request.method,
        request.path,
    )
    body = loader.get_template("503.html").render({"service": service})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request) -> HttpResponse:
    """handler500: Django calls it with the exception being handled, which may have been
    raised by a middleware (a session read from an unreachable database) rather than a
    view. The 500 page itself needs no context and no database, like Django's own."""
    exception = sys.exc_info()[1]
    if is_service_unavailable(exception):
        return service_unavailable(request, exception)
    return HttpResponseServerError(loader.get_template("500.html").render())
