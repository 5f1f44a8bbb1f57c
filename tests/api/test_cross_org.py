"""No token reaches another organization through a relation field of the API.

Every input serializer of api/serializers.py is discovered (a new one fails the walk until it
has a case below); for each of its relation fields the other organization's key (its
account's external id, product code, member's email, contact's email, churn reason) is
posted through the serializer's endpoint, once alone and once in a bulk batch behind a valid
record: the answer is a 400 naming that field (and the record's index), and no row of any
organization changes."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts import models as am
from api import apis
from api import serializers as s
from tests import tenant_graph
from tests.orgs.test_cross_org_relations import rows_of

pytestmark = pytest.mark.django_db

WATCHED = [
    am.Account,
    am.Contact,
    am.Product,
    am.Subscription,
    am.MrrMovement,
    am.UsageMetric,
    am.Ticket,
    am.Invoice,
    am.SurveyResponse,
    am.Interaction,
]


def _keys(graph: dict) -> dict:
    """Each relation's key for the rows of one organization's graph."""
    return {
        "account": graph[am.Account].external_id,
        "product": graph[am.Product].code,
        "owner": graph["csm"].email,
        "author": graph["csm"].email,
        "contact": graph[am.Contact].email,
        "churn_reason": graph[am.ChurnReason].name,
    }


def _valid(kind: str, keys: dict, n: int = 0) -> dict:
    """A record of `kind` that the own organization accepts (keys: its relations)."""
    ext = f"X-{kind}-{n}"
    return {
        "accounts": {
            "external_id": ext,
            "name": "New",
            "owner": keys["owner"],
            "churn_reason": keys["churn_reason"],
        },
        "contacts": {"external_id": ext, "account": keys["account"], "name": "Ana"},
        "products": {"code": f"p-{n}", "name": "P"},
        "subscriptions": {
            "external_id": ext,
            "account": keys["account"],
            "product": keys["product"],
            "mrr": "10",
            "start_date": "2024-01-01",
        },
        "usage": {
            "account": keys["account"],
            "metric": "logins",
            "date": f"2024-01-{n + 1:02d}",
            "value": 1,
        },
        "tickets": {
            "external_id": ext,
            "account": keys["account"],
            "subject": "S",
            "opened_at": "2024-01-01T10:00:00Z",
        },
        "invoices": {
            "external_id": ext,
            "account": keys["account"],
            "number": "1",
            "issued_on": "2024-01-01",
            "due_on": "2024-01-31",
            "amount": "5",
        },
        "surveys": {
            "external_id": ext,
            "account": keys["account"],
            "contact": keys["contact"],
            "kind": "nps",
            "score": 9,
            "answered_at": "2024-01-01T10:00:00Z",
        },
        "interactions": {
            "external_id": ext,
            "account": keys["account"],
            "contact": keys["contact"],
            "author": keys["author"],
            "kind": "call",
            "occurred_at": "2024-01-01T10:00:00Z",
            "summary": "Hi",
        },
    }[kind]


def _input_serializers() -> list[type]:
    found = []
    for value in vars(s).values():
        if (
            isinstance(value, type)
            and issubclass(value, s.RecordInputSerializer | s.BulkInputSerializer)
            and value not in (s.RecordInputSerializer, s.BulkInputSerializer)
        ):
            found.append(value)
    return sorted(found, key=lambda c: c.__name__)


SERIALIZERS = _input_serializers()
ENDPOINTS = {
    **{r.one_input: (f"/api/v1/{r.path}/", False) for r in apis.RESOURCES},
    **{r.bulk_input: (f"/api/v1/{r.path}/bulk/", True) for r in apis.RESOURCES},
}


def relation_fields(serializer) -> list[str]:
    fields = serializer().fields
    if "records" in fields:
        fields = fields["records"].child.fields
    return [name for name, field in fields.items() if isinstance(field, s.TenantKeyRelatedField)]


def test_every_input_serializer_is_mounted_and_walked():
    assert len(SERIALIZERS) == 18
    assert [c.__name__ for c in SERIALIZERS if c not in ENDPOINTS] == []
    with_relations = [c for c in SERIALIZERS if relation_fields(c)]
    assert len(with_relations) == 16  # all but the products'


@pytest.fixture
def graphs(org, other_org):
    own, foreign = tenant_graph.build(org, "acme"), tenant_graph.build(other_org, "globex")
    am.Contact.all_objects.filter(pk=own[am.Contact].pk).update(email="ana@acme.example")
    am.Contact.all_objects.filter(pk=foreign[am.Contact].pk).update(email="bia@globex.example")
    for g in (own, foreign):
        g[am.Contact].refresh_from_db()
    cache.clear()
    return own, foreign


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=lambda c: c.__name__)
def test_another_organizations_keys_are_refused_in_every_relation_field(
    api, graphs, serializer, settings
):
    settings.API_TOKEN_RATE_PER_MINUTE = 10_000
    own, foreign = graphs
    mine, theirs = _keys(own), _keys(foreign)
    url, bulk = ENDPOINTS[serializer]
    kind = serializer.record_kind.name
    fields = relation_fields(serializer)
    if not fields:
        assert kind == "products"
        return
    # the record as the own organization writes it is accepted (so a refusal below is the
    # foreign key's doing): written in a savepoint that is rolled back
    for name in fields:
        before = rows_of(WATCHED)
        record = {**_valid(kind, mine), name: theirs[name]}
        body = {"records": [_valid(kind, mine, 1), record]} if bulk else record
        response = api.post(url, body, format="json")
        assert response.status_code == 400, (name, response.status_code, response.content)
        errors = response.json()["errors"]
        assert any(e["field"] == name for e in errors), (name, errors)
        if bulk:
            assert {e["index"] for e in errors if e["field"] == name} == {1}, errors
        assert rows_of(WATCHED) == before, f"{serializer.__name__}.{name} changed rows"
    ok = api.post(
        url, {"records": [_valid(kind, mine)]} if bulk else _valid(kind, mine), format="json"
    )
    assert ok.status_code in (200, 201), ok.content
