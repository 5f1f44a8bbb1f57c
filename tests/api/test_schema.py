"""Schemathesis over the OpenAPI schema: every operation is called with examples generated
from its own description (a bounded number each), with a read-write token of an organization
that has data; no answer may be a 5xx, and every answer must conform to the schema (status
code documented, body matching its response schema, content type)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _load():
    """The schema as the site serves it (drf-spectacular's view reads no database), and the
    WSGI app the cases are sent to."""
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())


schema = _load()


@pytest.fixture
def world(org, write_token, settings):
    """An organization with a row of everything, and its token. The WSGI app is called
    directly, so Django would close the test's connection after each request (as the test
    client prevents): that is switched off for the test, as the test client does."""
    from django.core.cache import cache
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from tests import tenant_graph

    settings.API_TOKEN_RATE_PER_MINUTE = 100_000
    cache.clear()
    tenant_graph.build(org, "acme")
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield write_token
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_5xx_or_outside_its_schema(case, world):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {world.secret}"},
        checks=CHECKS,
        excluded_checks=[c for c in _default_checks() if c not in CHECKS],
    )


def _default_checks():
    """The checks schemathesis runs by default besides ours (e.g. that a request it
    considers invalid is refused): ours are the issue's (no 5xx, responses conform)."""
    from schemathesis.checks import CHECKS as REGISTRY

    return list(REGISTRY.get_all())
