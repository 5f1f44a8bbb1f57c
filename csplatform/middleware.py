"""Turns an unreachable database or broker into a clear 503 page instead of a stack trace."""

import logging

from django.db import DatabaseError, OperationalError
from django.template.response import TemplateResponse
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | BrokerError) or (
            isinstance(exception, DatabaseError) and "connect" in str(exception).lower()
        ):
            service = "broker (Redis)" if isinstance(exception, BrokerError) else "database"
            logger.error("service unavailable: %s: %s", service, exception)
            response = TemplateResponse(
                request,
                "503.html",
                {"service": service, "detail": str(exception).splitlines()[0][:300]},
                status=503,
            )
            return response.render()
        return None
