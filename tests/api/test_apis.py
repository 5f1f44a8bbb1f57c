"""The REST API end to end through Django's test client: tokens and their scopes, tenancy,
upserts by key, bulk writes (all or nothing, errors by index), cursor pages, filters,
idempotent retries and per-token throttling."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Account, MrrMovement, UsageMetric
from api.models import ApiToken, IdempotencyRecord
from orgs.tenancy import org_context
from tests import factories as f
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def usage(account="A1", day="2024-06-01", value=3, metric="logins"):
    return {"account": account, "metric": metric, "date": day, "value": value}


# -- tokens ---------------------------------------------------------------------------------------


def test_no_token_is_401_with_the_scheme(client):
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["errors"][0]["message"].startswith("Authenticate with an API token")


def test_a_token_in_the_query_string_is_refused(write_token):
    from rest_framework.test import APIClient

    response = APIClient().get(f"/api/v1/accounts/?token={write_token.secret}")
    assert response.status_code == 401
    assert "never in the URL" in response.json()["errors"][0]["message"]


def test_only_the_hash_is_stored_and_last_use_is_recorded(api, write_token):
    token = ApiToken.all_objects.get(pk=write_token.token.pk)
    assert write_token.secret not in (token.key_hash, token.prefix)
    assert write_token.secret.startswith(token.prefix)
    assert token.last_used_at is None
    assert api.get("/api/v1/accounts/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_and_expired_tokens_are_refused(api, write_token, org_admin):
    from api.services import token_revoke

    token_revoke(token=write_token.token, acting_user=org_admin)
    response = api.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert "revoked" in response.json()["errors"][0]["message"]


def test_an_expired_token_is_refused(org, make_token):
    made = make_token(org, "read", expires_at=timezone.now() + dt.timedelta(seconds=30))
    ApiToken.all_objects.filter(pk=made.token.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client_for(made).get("/api/v1/accounts/")
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


def test_a_read_token_reads_and_cannot_write(read_api, org):
    f.AccountFactory(organization=org, external_id="A1", name="Alfa")
    assert read_api.get("/api/v1/accounts/").status_code == 200
    response = read_api.post("/api/v1/accounts/", {"external_id": "A2", "name": "B"}, format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["errors"][0]["message"]
    assert not Account.all_objects.filter(external_id="A2").exists()


# -- tenancy ---------------------------------------------------------------------------------------


def test_a_token_sees_only_its_organization_and_gets_404_for_anothers_ids(api, org, other_org):
    mine = f.AccountFactory(organization=org, external_id="A1", name="Mine")
    theirs = f.AccountFactory(organization=other_org, external_id="B1", name="Theirs")
    listed = api.get("/api/v1/accounts/").json()["results"]
    assert [a["name"] for a in listed] == ["Mine"]
    assert api.get(f"/api/v1/accounts/{mine.pk}/").status_code == 200
    assert api.get(f"/api/v1/accounts/{theirs.pk}/").status_code == 404
    assert api.get("/api/v1/accounts/by-external-id/B1/").status_code == 404
    assert (
        api.patch("/api/v1/accounts/by-external-id/B1/", {"name": "x"}, format="json").status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_the_same_external_id_in_two_organizations_stays_two_accounts(api, org, other_org):
    theirs = f.AccountFactory(organization=other_org, external_id="A1", name="Theirs")
    response = api.put("/api/v1/accounts/by-external-id/A1/", {"name": "Mine"}, format="json")
    assert response.status_code == 201
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    assert Account.all_objects.filter(external_id="A1").count() == 2


# -- writes ----------------------------------------------------------------------------------------


def test_put_creates_then_updates_and_keeps_fields_left_out(api, org, csm):
    first = api.put(
        "/api/v1/accounts/by-external-id/A1/",
        {"name": "Alfa", "tier": "Ouro", "owner": csm.email.upper(), "region": "Sul"},
        format="json",
    )
    assert first.status_code == 201, first.json()
    assert (first.json()["tier"], first.json()["owner"]) == ("gold", csm.email)
    again = api.put("/api/v1/accounts/by-external-id/A1/", {"name": "Alfa 2"}, format="json")
    assert again.status_code == 200
    assert again.json()["region"] == "Sul"  # left out: kept
    assert again.json()["name"] == "Alfa 2"
    assert Account.all_objects.filter(organization=org).count() == 1


def test_put_refuses_a_body_key_that_differs_from_the_url(api):
    response = api.put(
        "/api/v1/accounts/by-external-id/A1/", {"external_id": "A2", "name": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "external_id"


def test_a_validation_error_names_each_field(api):
    response = api.post(
        "/api/v1/accounts/",
        {"external_id": "A1", "name": "", "tier": "ferro", "customer_since": "31/12/2024"},
        format="json",
    )
    assert response.status_code == 400
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert set(errors) == {"name", "tier", "customer_since"}
    assert errors["name"]["index"] is None
    assert not Account.all_objects.exists()


def test_a_new_owner_hands_the_open_playbooks_over(api, org, csm, manager):
    from playbooks.models import Playbook

    account = f.AccountFactory(organization=org, external_id="A1", owner=csm)
    playbook = Playbook.all_objects.create(
        organization=org,
        account=account,
        kind="retention",
        title="Save",
        owner=csm,
        opened_on=dt.date(2024, 6, 1),
    )
    response = api.patch(
        "/api/v1/accounts/by-external-id/A1/", {"owner": manager.email}, format="json"
    )
    assert response.status_code == 200
    playbook.refresh_from_db()
    assert playbook.owner_id == manager.pk


def test_an_imported_churn_goes_through_the_churn_service(api, org):
    """accounts_mark_churned cancels the active subscription (one churn entry of -1000 in the
    ledger) and leaves the account with no MRR."""
    account = f.AccountFactory(organization=org, external_id="A1")
    f.SubscriptionFactory(account=account, mrr=Decimal("1000"))
    f.ChurnReasonFactory(organization=org, name="Price")
    response = api.patch(
        "/api/v1/accounts/by-external-id/A1/",
        {"churned_at": "2024-06-30", "churn_reason": "price"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["churned_at"], body["churn_reason"], body["lifecycle_stage"]) == (
        "2024-06-30",
        "Price",
        "churned",
    )
    assert body["mrr"] == "0.00"
    churn = MrrMovement.all_objects.get(kind="churn")
    assert (churn.delta_mrr, churn.date) == (Decimal("-1000.00"), dt.date(2024, 6, 30))


def test_subscriptions_write_the_mrr_ledger_and_the_rollups(api, org):
    """New 100 (new MRR), then 150 (expansion +50), then cancelled (churn -150): the account's
    MRR is 100, 150, then 0."""
    f.AccountFactory(organization=org, external_id="A1")
    f.ProductFactory(organization=org, code="analytics")
    body = {"account": "A1", "product": "analytics", "mrr": "100", "start_date": "2024-01-01"}
    url = "/api/v1/subscriptions/by-external-id/S1/"
    assert api.put(url, body, format="json").status_code == 201
    assert Account.all_objects.get(external_id="A1").mrr == Decimal("100")
    assert api.patch(url, {"mrr": "150"}, format="json").status_code == 200
    assert Account.all_objects.get(external_id="A1").mrr == Decimal("150")
    assert (
        api.patch(url, {"status": "cancelled", "end_date": "2024-06-30"}, format="json").status_code
        == 200
    )
    assert Account.all_objects.get(external_id="A1").mrr == Decimal("0")
    ledger = list(MrrMovement.all_objects.order_by("pk").values_list("kind", "delta_mrr"))
    assert ledger == [
        ("new", Decimal("100")),
        ("expansion", Decimal("50")),
        ("churn", Decimal("-150")),
    ]


# -- bulk ------------------------------------------------------------------------------------------


def test_bulk_usage_is_all_or_nothing_with_each_errors_index(api, org):
    f.AccountFactory(organization=org, external_id="A1")
    batch = [
        usage(day="2024-06-01"),
        usage(day="2024-06-02"),
        usage(day="2024-13-01"),
        usage(account="NOPE"),
    ]
    response = api.post("/api/v1/usage/bulk/", {"records": batch}, format="json")
    assert response.status_code == 400
    errors = [(e["index"], e["field"]) for e in response.json()["errors"]]
    assert errors == [(2, "date")]  # values first; unknown accounts once the values read
    assert not UsageMetric.all_objects.exists()
    batch[2] = usage(day="2024-06-03")
    response = api.post("/api/v1/usage/bulk/", {"records": batch}, format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(3, "account")]
    assert not UsageMetric.all_objects.exists()


def test_resending_a_bulk_batch_changes_nothing(api, org):
    f.AccountFactory(organization=org, external_id="A1")
    batch = {"records": [usage(day="2024-06-01", value=3), usage(day="2024-06-02", value=5)]}
    assert api.post("/api/v1/usage/bulk/", batch, format="json").json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "ids": [],
    }
    assert api.post("/api/v1/usage/bulk/", batch, format="json").json()["unchanged"] == 2
    batch["records"][1]["value"] = 6
    assert api.post("/api/v1/usage/bulk/", batch, format="json").json() == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
        "ids": [],
    }
    assert sorted(UsageMetric.all_objects.values_list("value", flat=True)) == [3.0, 6.0]


def test_a_batch_repeating_a_key_is_refused(api, org):
    f.AccountFactory(organization=org, external_id="A1")
    response = api.post(
        "/api/v1/usage/bulk/", {"records": [usage(), usage(value=4)]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["index"] == 1
    assert "Repeats record 0" in response.json()["errors"][0]["message"]


@pytest.fixture
def full_reads(monkeypatch):
    """How many bulk requests were read the full way (serializers.read_records, which still
    runs): a plain batch is read as columns and written without it."""
    from api import serializers

    calls = []
    read = serializers.read_records

    def counted(*args, **kwargs):
        calls.append(len(args[1]))
        return read(*args, **kwargs)

    monkeypatch.setattr(serializers, "read_records", counted)
    return calls


def test_a_plain_batch_of_new_and_stored_days_is_written_as_columns(api, org, full_reads):
    """A1 and A2 each get days 1-2 (4 rows, created). Then a batch of A1 day 2 (same value,
    unchanged), A2 day 2 at 9 instead of 4 (updated), A1 day 3 and A2 day 3 (created): the
    counts 2, 1, 1 by hand, and the stored values. Neither batch was read the full way."""
    f.AccountFactory(organization=org, external_id="A1")
    f.AccountFactory(organization=org, external_id="A2")
    first = [
        usage("A1", "2024-06-01", 1),
        usage("A1", "2024-06-02", 2),
        usage("A2", "2024-06-01", 3),
        usage("A2", "2024-06-02", 4),
    ]
    body = api.post("/api/v1/usage/bulk/", {"records": first}, format="json").json()
    assert body == {"created": 4, "updated": 0, "unchanged": 0, "ids": []}
    second = [
        usage("A1", "2024-06-02", 2),
        usage("A2", "2024-06-02", 9.0),
        usage("A1", "2024-06-03", 5),
        usage("A2", "2024-06-03", 6),
    ]
    body = api.post("/api/v1/usage/bulk/", {"records": second}, format="json").json()
    assert body == {"created": 2, "updated": 1, "unchanged": 1, "ids": []}
    stored = UsageMetric.all_objects.order_by("account__external_id", "date")
    assert [(u.account.external_id, u.date.day, u.value) for u in stored] == [
        ("A1", 1, 1.0),
        ("A1", 2, 2.0),
        ("A1", 3, 5.0),
        ("A2", 1, 3.0),
        ("A2", 2, 9.0),
        ("A2", 3, 6.0),
    ]
    assert full_reads == []


def test_an_unknown_account_in_the_middle_of_a_plain_batch_is_its_indexs_error(
    api, org, other_org, full_reads
):
    """Records 0-4 are plain; record 2 names NOPE and record 3 another organization's B1:
    the batch is then read the full way, which answers 400 naming records 2 and 3 by their
    field, and nothing is written."""
    f.AccountFactory(organization=org, external_id="A1")
    f.AccountFactory(organization=other_org, external_id="B1")
    batch = [usage(day=f"2024-06-0{d}") for d in range(1, 6)]
    batch[2]["account"] = "NOPE"
    batch[3]["account"] = "B1"
    response = api.post("/api/v1/usage/bulk/", {"records": batch}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(2, "account"), (3, "account")]
    assert "NOPE" in errors[0]["message"] and "B1" in errors[1]["message"]
    assert full_reads == [5]
    assert not UsageMetric.all_objects.exists()


def test_a_value_beyond_any_float_is_its_records_400(api, org):
    """Record 1's value is an integer of 400 digits (valid JSON): a 400 naming record 1 and
    its value, not a 500, and nothing written."""
    f.AccountFactory(organization=org, external_id="A1")
    first = {"account": "A1", "metric": "logins", "date": "2024-06-01", "value": 1}
    second = json.dumps({**first, "date": "2024-06-02", "value": 0}).replace(
        '"value": 0', '"value": 1' + "0" * 400
    )
    body = '{"records": [' + json.dumps(first) + ", " + second + "]}"
    response = api.post("/api/v1/usage/bulk/", body, content_type="application/json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "value")]
    assert not UsageMetric.all_objects.exists()


def test_bulk_accepts_10000_records_and_not_one_more(api, org, settings):
    f.AccountFactory(organization=org, external_id="A1")
    start = dt.date(2000, 1, 1)
    records = [
        usage(day=(start + dt.timedelta(days=i)).isoformat(), value=i) for i in range(10_001)
    ]
    too_many = api.post("/api/v1/usage/bulk/", {"records": records}, format="json")
    assert too_many.status_code == 400
    assert "At most 10,000" in too_many.json()["errors"][0]["message"]
    done = api.post("/api/v1/usage/bulk/", {"records": records[:10_000]}, format="json")
    assert done.status_code == 200
    assert done.json()["created"] == 10_000
    assert UsageMetric.all_objects.count() == 10_000


def test_bulk_tickets_return_their_ids_in_order(api, org):
    f.AccountFactory(organization=org, external_id="A1")
    rows = [
        {
            "external_id": f"T{i}",
            "account": "A1",
            "subject": f"s{i}",
            "opened_at": "2024-06-01T10:00:00Z",
        }
        for i in range(3)
    ]
    body = api.post("/api/v1/tickets/bulk/", {"records": rows}, format="json").json()
    with org_context(org):
        from accounts.models import Ticket

        by_id = dict(Ticket.objects.values_list("pk", "external_id"))
    assert [by_id[pk] for pk in body["ids"]] == ["T0", "T1", "T2"]


# -- reading ---------------------------------------------------------------------------------------


def test_cursor_pages_follow_update_time_and_changed_rows_come_again(api, org):
    for i in range(5):
        f.AccountFactory(organization=org, external_id=f"A{i}", name=f"N{i}")
    first = api.get("/api/v1/accounts/?page_size=2").json()
    assert [a["external_id"] for a in first["results"]] == ["A0", "A1"]
    # A0 changes while the client pages: it comes again at the end, nothing is skipped
    api.patch("/api/v1/accounts/by-external-id/A0/", {"name": "changed"}, format="json")
    seen = [a["external_id"] for a in first["results"]]
    page = first
    while page["next_cursor"]:
        page = api.get(f"/api/v1/accounts/?page_size=2&cursor={page['next_cursor']}").json()
        seen += [a["external_id"] for a in page["results"]]
    assert seen == ["A0", "A1", "A2", "A3", "A4", "A0"]


def test_a_forged_cursor_is_a_400(api):
    response = api.get("/api/v1/accounts/?cursor=not-a-cursor")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


def test_filters(api, org, csm):
    f.AccountFactory(organization=org, external_id="A1", tier="gold", owner=csm)
    f.AccountFactory(organization=org, external_id="A2", tier="silver")
    gold = api.get("/api/v1/accounts/?tier=gold").json()["results"]
    assert [a["external_id"] for a in gold] == ["A1"]
    owned = api.get(f"/api/v1/accounts/?owner={csm.email.upper()}").json()["results"]
    assert [a["external_id"] for a in owned] == ["A1"]


def test_health_scores_firings_alerts_and_playbooks_are_read_with_their_breakdown(api, org):
    from tests import tenant_graph

    graph = tenant_graph.build(org, "acme")
    scores = api.get("/api/v1/health/scores/").json()["results"]
    assert scores[0]["breakdown"] == {"tenure": [100.0, 27.4, 1.0]}
    assert scores[0]["colour"] == "red"
    playbooks = api.get("/api/v1/playbooks/").json()["results"]
    assert playbooks[0]["steps"][0]["title"] == "Call"
    assert api.get("/api/v1/firings/").json()["results"][0]["trigger"] == "acme trigger"
    alerts = api.get("/api/v1/alerts/").json()["results"]
    assert alerts[0]["account"] == graph[Account].external_id


# -- retries and limits ----------------------------------------------------------------------------


def test_an_idempotency_key_makes_a_retried_post_happen_once(api, org):
    f.AccountFactory(organization=org, external_id="A1")
    body = {"records": [usage()]}
    first = api.post("/api/v1/usage/bulk/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.json()["created"] == 1
    UsageMetric.all_objects.all().delete()  # were the retry run again, it would create again
    retry = api.post("/api/v1/usage/bulk/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert not UsageMetric.all_objects.exists()
    other = api.post(
        "/api/v1/usage/bulk/",
        {"records": [usage(value=9)]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"


def test_a_failed_request_keeps_no_idempotency_record(api):
    response = api.post(
        "/api/v1/usage/bulk/",
        {"records": [usage(account="NOPE")]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert response.status_code == 400
    assert not IdempotencyRecord.all_objects.exists()


def test_throttling_per_token_answers_429_with_retry_after(org, make_token, settings):
    settings.API_TOKEN_RATE_PER_MINUTE = 3
    one, two = client_for(make_token(org, "read")), client_for(make_token(org, "read"))
    assert [one.get("/api/v1/products/").status_code for _ in range(3)] == [200, 200, 200]
    limited = one.get("/api/v1/products/")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert two.get("/api/v1/products/").status_code == 200  # another token, its own budget


def test_docs_and_schema_are_served_without_a_cdn(client):
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "https://" not in html and "<style" not in html and "<script>" not in html
    schema = client.get("/api/v1/schema/?format=json").json()
    assert "/api/v1/usage/bulk/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["ApiToken"]["scheme"] == "bearer"
