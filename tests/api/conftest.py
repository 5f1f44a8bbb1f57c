"""API fixtures: tokens of each scope for the test organization, and a client that sends one."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def make_token(org_admin):
    from api.services import token_create

    def make(org, scope="write", **kwargs):
        return token_create(
            org=org, name=f"{scope} token", scope=scope, created_by=org_admin, **kwargs
        )

    return make


@pytest.fixture
def write_token(org, make_token):
    return make_token(org, "write")


@pytest.fixture
def read_token(org, make_token):
    return make_token(org, "read")


def client_for(new_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new_token.secret}")
    return client


@pytest.fixture
def api(write_token) -> APIClient:
    return client_for(write_token)


@pytest.fixture
def read_api(read_token) -> APIClient:
    return client_for(read_token)
