"""The data pages: tokens shown once and revoked, exports (the portfolio as filtered,
playbooks, firings, all data), a contact's erasure with its audit line, and who may do what."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest

from accounts.models import Contact, Interaction, SurveyResponse
from api.models import ApiToken, DataAudit
from playbooks.models import Playbook
from tests import factories as f

pytestmark = pytest.mark.django_db


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(client, org, org_admin):
    client.force_login(org_admin)
    page = client.post("/data/tokens/", {"name": "Billing sync", "scope": "write"})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    token = ApiToken.all_objects.get()
    secret = page.content.decode().split('id="new-token-value" type="text" readonly value="')[1]
    secret = secret.split('"')[0]
    assert secret.startswith(token.prefix) and len(secret) > 40
    again = client.get("/data/tokens/").content.decode()
    assert secret not in again and token.prefix in again  # never shown again
    client.post(f"/data/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == org_admin
    assert list(DataAudit.all_objects.values_list("action", flat=True).order_by("pk")) == [
        "token_created",
        "token_revoked",
    ]


def test_a_tokens_last_use_is_shown_in_the_organizations_zone_with_the_zone_named(
    client, org, org_admin
):
    """15:05 UTC on 2026-12-01 is 12:05 in São Paulo (UTC−3): the tokens page says so, with
    the zone, as the rest of the product's times do."""
    org.timezone = "America/Sao_Paulo"
    org.save(update_fields=["timezone"])
    client.force_login(org_admin)
    client.post("/data/tokens/", {"name": "Billing sync", "scope": "write"})
    ApiToken.all_objects.update(last_used_at=dt.datetime(2026, 12, 1, 15, 5, tzinfo=dt.UTC))
    page = client.get("/data/tokens/").content.decode()
    assert "12:05 America/Sao Paulo" in page and "15:05" not in page


def test_a_token_expiring_today_or_before_is_refused(client, org_admin):
    client.force_login(org_admin)
    page = client.post("/data/tokens/", {"name": "x", "scope": "read", "expires_on": "2000-01-01"})
    assert page.status_code == 422 and "Choose a day after today" in page.content.decode()
    assert not ApiToken.all_objects.exists()


@pytest.mark.parametrize("who", ["csm", "manager", "analyst"])
def test_only_admins_manage_tokens(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/data/tokens/").status_code == 403
    assert client.post("/data/tokens/", {"name": "x", "scope": "write"}).status_code == 403


def test_a_token_of_another_organization_cannot_be_revoked(client, org_admin, other_org):
    from api.services import token_create

    theirs = token_create(org=other_org, name="x", scope="read", created_by=org_admin).token
    client.force_login(org_admin)
    assert client.post(f"/data/tokens/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_the_portfolio_export_keeps_the_pages_filters(client, org, csm):
    f.AccountFactory(organization=org, name="Alfa", tier="gold", external_id="A1")
    f.AccountFactory(organization=org, name="Beta", tier="silver", external_id="B1")
    f.AccountFactory(organization=f.OrganizationFactory(slug="x"), name="Theirs")
    client.force_login(csm)
    assert "Export CSV" in client.get("/accounts/?tier=gold").content.decode()
    rows = list(
        csv.reader(
            io.StringIO(
                streamed(client.get("/data/exports/portfolio.csv?tier=gold")).decode("utf-8-sig")
            )
        )
    )
    assert rows[0][:3] == ["ID", "External ID", "Name"]
    assert [r[2] for r in rows[1:]] == ["Alfa"]
    everything = streamed(client.get("/data/exports/portfolio.csv")).decode("utf-8-sig")
    assert "Beta" in everything and "Theirs" not in everything


def _tiny_portfolio(org):
    return f.AccountFactory(
        organization=org,
        name="=SOMA(A1)",
        external_id="A-1",
        tier="gold",
        touch_model="mid",
        lifecycle_stage="ongoing",
        mrr=Decimal("1234.50"),
        renewal_date=dt.date(2027, 3, 1),
        customer_since=dt.date(2023, 1, 15),
        health_score=72.5,
        health_colour="green",
        health_change_30d=-12.5,
    )


def _brazilian(org, user):
    """A pt-BR organization and a user who reads Portuguese."""
    org.locale = "pt-br"
    org.save(update_fields=["locale"])
    user.language = "pt-br"
    user.save(update_fields=["language"])


def test_a_tiny_portfolio_export_in_english_byte_for_byte(client, org, manager):
    """One account, read in English in the plain CSV: a BOM, "," between cells, "1234.50"
    and "-12.5" as written in the database, the formula-looking name behind an apostrophe,
    no owner and no persona (empty cells), no churn date; CRLF line ends (the csv module's)."""
    account = _tiny_portfolio(org)
    client.force_login(manager)
    body = streamed(client.get("/data/exports/portfolio.csv"))
    assert (
        body
        == (
            "\ufeffID,External ID,Name,Tier,Touch model,Lifecycle stage,Owner,Persona,MRR,"
            "Renewal date,Customer since,Health score,Health colour,Health change in 30 days,"
            "Churned at\r\n"
            f"{account.pk},A-1,'=SOMA(A1),gold,mid,ongoing,,,1234.50,2027-03-01,2023-01-15,"
            "72.5,green,-12.5,\r\n"
        ).encode()
    )


def test_a_tiny_portfolio_export_for_a_brazilian_spreadsheet_byte_for_byte(client, org, manager):
    """The same account for a reader in pt-BR with `?csv=local` in a pt-BR organization:
    the headers in Portuguese, ";" between cells, a decimal comma (1234,50; 72,5; -12,5),
    dates still ISO, the name still neutralized. Without `csv=local` the cells stay plain
    (",", "1234.50") under the same Portuguese headers."""
    _brazilian(org, manager)
    account = _tiny_portfolio(org)
    client.force_login(manager)
    body = streamed(client.get("/data/exports/portfolio.csv?csv=local"))
    assert (
        body
        == (
            "\ufeffID;ID externo;Nome;Tier;Modelo de atendimento;Etapa da jornada;"
            "Responsável;Persona;MRR;Data de renovação;Cliente desde;Nota de saúde;Cor da saúde;"
            "Variação da saúde em 30 dias;Churn em\r\n"
            f"{account.pk};A-1;'=SOMA(A1);gold;mid;ongoing;;;1234,50;2027-03-01;2023-01-15;"
            "72,5;green;-12,5;\r\n"
        ).encode()
    )
    plain = streamed(client.get("/data/exports/portfolio.csv")).decode("utf-8-sig")
    assert plain.splitlines()[1] == (
        f"{account.pk},A-1,'=SOMA(A1),gold,mid,ongoing,,,1234.50,2027-03-01,2023-01-15,"
        "72.5,green,-12.5,"
    )
    assert "csv=local" in client.get("/accounts/").content.decode()


def test_the_playbook_export_takes_the_same_local_switch(client, org, manager):
    """`csv=local` on the playbook export too (one mechanism): its header row in pt-BR is
    ";"-separated and the exports page offers the button."""
    _brazilian(org, manager)
    client.force_login(manager)
    text = streamed(client.get("/data/exports/playbooks.csv?csv=local")).decode("utf-8-sig")
    assert text.startswith("ID;ID externo da conta;Conta;Título;")
    page = client.get("/data/exports/").content.decode()
    assert 'name="csv" value="local"' in page


def test_exported_cells_that_look_like_formulas_are_defused(client, org, manager):
    f.AccountFactory(organization=org, name='=HYPERLINK("http://x")')
    client.force_login(manager)
    text = streamed(client.get("/data/exports/portfolio.csv")).decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_playbook_and_firing_exports_filter_and_stay_in_the_organization(
    client, org, other_org, manager
):
    from tests import tenant_graph

    own = tenant_graph.build(org, "acme")
    tenant_graph.build(other_org, "globex")
    client.force_login(manager)
    text = streamed(client.get("/data/exports/playbooks.csv?status=open")).decode("utf-8-sig")
    assert "acme playbook" in text and "globex playbook" not in text
    assert (
        "acme playbook"
        not in streamed(client.get("/data/exports/playbooks.csv?status=completed")).decode()
    )
    firings = streamed(client.get("/data/exports/firings.csv")).decode("utf-8-sig")
    assert "acme trigger" in firings and "globex trigger" not in firings
    assert own[Playbook].pk
    bad = client.get(f"/data/exports/firings.csv?trigger={own['csm'].pk + 10_000}")
    assert bad.status_code == 400 and "trigger" in bad.content.decode()


def test_an_admin_exports_all_data_as_a_zip_with_an_audit_line(client, org, other_org, org_admin):
    from tests import tenant_graph

    tenant_graph.build(org, "acme")
    tenant_graph.build(other_org, "globex")
    client.force_login(org_admin)
    body = streamed(client.post("/data/exports/all.zip"))
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert "accounts.csv" in archive.namelist() and "usage.csv" in archive.namelist()
    accounts = archive.read("accounts.csv").decode("utf-8-sig")
    assert "acme account" in accounts and "globex account" not in accounts
    assert DataAudit.all_objects.get().action == "data_exported"


def test_an_admin_erases_a_contacts_personal_data_with_a_reason(client, org, org_admin):
    account = f.AccountFactory(organization=org)
    contact = f.ContactFactory(
        account=account, name="Ana Lima", email="ana@x.example", phone="+55 11 9999"
    )
    f.SurveyResponseFactory(account=account, contact=contact, comment="Ana says hi")
    f.InteractionFactory(account=account, contact=contact, notes="Called Ana at home")
    client.force_login(org_admin)
    page = client.get("/data/erase/?email=ANA@x.example").content.decode()
    assert "Ana Lima" in page
    refused = client.post("/data/erase/", {"contact": contact.pk, "reason": ""})
    assert refused.status_code == 422
    client.post("/data/erase/", {"contact": contact.pk, "reason": "Email of 1 June"})
    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.phone) == ("Erased contact", "", "")
    assert contact.consent_withdrawn_at is not None
    assert SurveyResponse.all_objects.get().comment == ""
    assert Interaction.all_objects.get().notes == ""
    line = DataAudit.all_objects.get(action="contact_erased")
    assert line.actor == org_admin and line.detail["reason"] == "Email of 1 June"
    assert "Ana" not in str(line.detail) + line.subject


def test_a_contact_of_another_organization_cannot_be_erased(client, org_admin, other_org):
    theirs = f.ContactFactory(account=f.AccountFactory(organization=other_org), name="Bia")
    client.force_login(org_admin)
    response = client.post("/data/erase/", {"contact": theirs.pk, "reason": "x"})
    assert response.status_code == 422
    assert Contact.all_objects.get(pk=theirs.pk).name == "Bia"


def test_the_data_page_shows_what_each_role_may_do(client, org_admin, analyst, manager, csm):
    client.force_login(org_admin)
    page = client.get("/data/").content.decode()
    assert "API tokens" in page and "Import a file" in page and "Erase a contact" in page
    client.force_login(analyst)
    page = client.get("/data/").content.decode()
    assert "Import a file" in page and "API tokens" not in page
    client.force_login(manager)
    page = client.get("/data/").content.decode()
    assert "Import a file" not in page and "Exports" in page
    client.force_login(csm)
    assert "/data/" not in client.get("/accounts/").content.decode().split("<main")[0]


def test_the_all_data_export_writes_a_compact_score_row_as_its_breakdown(client, org, org_admin):
    """A score row written compact (the night's way: raws and scores in a layout's order)
    reads in health_scores.csv as the breakdown and missing it stands for, not as arrays
    without their keys. By hand: layout (nps, tenure) weighted 1 and 3, NPS without data:
    tenure carries all the weight, share 3 / 3 = 1.0; nps [None, None, 0.0]; missing [nps]."""
    import ast

    from health.models import HealthModel
    from tests.builders import compact_score

    account = f.AccountFactory(organization=org)
    model = HealthModel.all_objects.create(organization=org, name="Default")
    compact_score(
        org,
        account,
        model,
        dt.date(2024, 6, 1),
        keys=("nps", "tenure"),
        weights=(1.0, 3.0),
        raws=(None, 100.0),
        scores=(None, 80.0),
        score=80.0,
        colour="green",
    )
    client.force_login(org_admin)
    archive = zipfile.ZipFile(io.BytesIO(streamed(client.post("/data/exports/all.zip"))))
    (row,) = csv.DictReader(io.StringIO(archive.read("health_scores.csv").decode("utf-8-sig")))
    assert not {"raws", "scores", "layout_id"} & set(row)
    assert ast.literal_eval(row["breakdown"]) == {
        "nps": [None, None, 0.0],
        "tenure": [100.0, 80.0, 1.0],
    }
    assert ast.literal_eval(row["missing"]) == ["nps"]
    assert (row["account_id"], row["score"]) == (str(account.pk), "80.0")
