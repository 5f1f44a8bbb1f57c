"""CSV import on small files written here in each encoding, delimiter and number format, and
broken ones (each error at its row and column, nothing written); the import_csv command; and
the browser's upload, mapping, check, import and report."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Account, Contact, Subscription
from api import imports
from api import records as rec
from api.models import ImportJob, ImportMapping
from tests import factories as f

pytestmark = pytest.mark.django_db

SUB_HEADER = ["Código", "Conta", "Produto", "Valor mensal", "Início", "Renovação"]


def write_csv(tmp_path, rows, *, encoding="utf-8", delimiter=";", name="file.csv"):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path = tmp_path / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return str(path)


def run(path, org, kind, **options):
    out = io.StringIO()
    call_command("import_csv", path, "--org", org.slug, "--kind", kind, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def portfolio(org, csm):
    f.AccountFactory(organization=org, external_id="A1", name="Padaria")
    f.AccountFactory(organization=org, external_id="A2", name="Mercado")
    f.ProductFactory(organization=org, code="analytics")
    return org


ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "utf-16"]
DELIMITERS = [";", ",", "\t"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("delimiter", DELIMITERS)
def test_subscriptions_in_every_encoding_and_delimiter_with_brazilian_numbers(
    tmp_path, portfolio, encoding, delimiter
):
    """R$ 1.234,56 is 1234.56 and 31/12/2024 is 31 December 2024, whatever the file's
    encoding and delimiter (with a comma delimiter, the spreadsheet quotes 1.234,56)."""
    path = write_csv(
        tmp_path,
        [
            SUB_HEADER,
            ["S1", "A1", "analytics", "R$ 1.234,56", "31/12/2024", "31/12/2025"],
            ["S2", "A2", "analytics", "99,9", "01/02/2024", ""],
        ],
        encoding=encoding,
        delimiter=delimiter,
    )
    summary = run(path, portfolio, "subscriptions")
    assert '"created": 2' in summary
    rows = dict(Subscription.all_objects.values_list("external_id", "mrr"))
    assert rows == {"S1": Decimal("1234.56"), "S2": Decimal("99.90")}
    s1 = Subscription.all_objects.get(external_id="S1")
    assert (s1.start_date, s1.renewal_date) == (dt.date(2024, 12, 31), dt.date(2025, 12, 31))
    # 1 February, not 2 January: day first
    assert Subscription.all_objects.get(external_id="S2").start_date == dt.date(2024, 2, 1)
    assert Account.all_objects.get(external_id="A1").mrr == Decimal("1234.56")


def test_point_decimals_and_iso_dates_are_read_too(tmp_path, portfolio):
    path = write_csv(
        tmp_path,
        [
            ["external_id", "account", "product", "mrr", "start_date"],
            ["S1", "A1", "analytics", "1,234.56", "2024-12-31"],
        ],
        delimiter=",",
    )
    run(path, portfolio, "subscriptions")
    assert Subscription.all_objects.get().mrr == Decimal("1234.56")


def test_accents_survive_windows_1252_and_portuguese_headers_are_mapped(tmp_path, org, csm):
    path = write_csv(
        tmp_path,
        [
            ["Código", "Razão social", "Nível", "Responsável", "Cliente desde"],
            ["A9", "Padaria São João", "Ouro", csm.email, "05/03/2021"],
            ["", "", "", "", ""],
        ],  # a spreadsheet's trailing blank row
        encoding="cp1252",
    )
    run(path, org, "accounts")
    account = Account.all_objects.get(external_id="A9")
    assert (account.name, account.tier, account.owner_id) == ("Padaria São João", "gold", csm.pk)
    assert account.customer_since == dt.date(2021, 3, 5)


def test_a_second_import_of_the_same_file_changes_nothing(tmp_path, portfolio):
    path = write_csv(tmp_path, [SUB_HEADER, ["S1", "A1", "analytics", "10,00", "01/01/2024", ""]])
    assert '"created": 1' in run(path, portfolio, "subscriptions")
    second = run(path, portfolio, "subscriptions")
    assert '"created": 0, "updated": 0, "unchanged": 1' in second


BROKEN = [
    # (what, rows after the header, expected (row, column), message part)
    ("missing required column", None, (1, "mrr"), "Required column missing"),
    (
        "duplicate external id",
        [
            ["S1", "A1", "analytics", "1", "01/01/2024", ""],
            ["S1", "A2", "analytics", "2", "01/01/2024", ""],
        ],
        (4, "Código"),
        "Repeats row 3",
    ),
    (
        "unknown account",
        [["S1", "NOPE", "analytics", "1", "01/01/2024", ""]],
        (3, "Conta"),
        "No account of this organization",
    ),
    (
        "bad date",
        [["S1", "A1", "analytics", "1", "31/02/2024", ""]],
        (3, "Início"),
        "not a day of the calendar",
    ),
    (
        "negative MRR",
        [["S1", "A1", "analytics", "-R$ 10,00", "01/01/2024", ""]],
        (3, "Valor mensal"),
        "at least 0",
    ),
    (
        "formula cell",
        [["S1", "A1", "analytics", "=SUM(B2:B9)", "01/01/2024", ""]],
        (3, "Valor mensal"),
        "formula",
    ),
]


@pytest.mark.parametrize("what, rows, where, message", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_files_say_row_and_column_and_write_nothing(
    tmp_path, portfolio, capsys, what, rows, where, message
):
    good = ["S0", "A1", "analytics", "5,00", "01/01/2024", ""]
    if rows is None:  # no MRR column at all
        header = [h for h in SUB_HEADER if h != "Valor mensal"]
        rows = [[c for i, c in enumerate(good) if i != 3]]
    else:
        header, rows = SUB_HEADER, [good, *rows]
    path = write_csv(tmp_path, [header, *rows])
    with pytest.raises(CommandError, match="nothing was written"):
        run(path, portfolio, "subscriptions")
    stderr = capsys.readouterr().err
    row, column = where
    assert f"row {row}, column {column}: " in stderr, stderr
    assert message in stderr, stderr
    assert not Subscription.all_objects.exists()


def test_an_unknown_owner_email_is_refused_at_its_row(tmp_path, org, csm, capsys):
    path = write_csv(
        tmp_path,
        [
            ["external_id", "name", "owner"],
            ["A1", "Alfa", csm.email],
            ["A2", "Beta", "ghost@example.com"],
        ],
    )
    with pytest.raises(CommandError):
        run(path, org, "accounts")
    assert "row 3, column owner: No member of this organization has the email" in (
        capsys.readouterr().err
    )
    assert not Account.all_objects.exists()


def test_an_error_after_written_batches_rolls_them_back_and_every_error_is_reported(
    tmp_path, org, capsys, monkeypatch
):
    """Batches of 2 rows: rows 2-3 and 4-5 are written before row 6's bad date is read;
    then rows 6-7 and 8-9 are only checked, so row 9's second error is reported too, and
    the whole import is rolled back (no account, not even A1-A4). Three errors in all: the
    date at row 6, the repeated A1 at row 8 and the unknown tier at row 9."""
    monkeypatch.setattr(imports, "DEFAULT_BATCH_ROWS", 2)
    rows = [["external_id", "name", "customer_since", "tier"]]
    rows += [[f"A{i}", f"Conta {i}", "01/02/2024", "Ouro"] for i in range(1, 5)]
    rows += [["A5", "Conta 5", "31/02/2024", "Ouro"], ["A6", "Conta 6", "", "Ouro"]]
    rows += [["A1", "De novo", "", "Ouro"], ["A8", "Conta 8", "", "Lata"]]
    path = write_csv(tmp_path, rows)
    with pytest.raises(CommandError, match="3 error"):
        run(path, org, "accounts")
    stderr = capsys.readouterr().err
    assert "row 6, column customer_since: " in stderr, stderr
    assert "row 8, column external_id: Repeats row 2" in stderr, stderr
    assert "row 9, column tier: " in stderr, stderr
    assert not Account.all_objects.exists()


def test_dry_run_checks_and_writes_nothing(tmp_path, portfolio):
    path = write_csv(tmp_path, [SUB_HEADER, ["S1", "A1", "analytics", "1", "01/01/2024", ""]])
    assert '"checked": true' in run(path, portfolio, "subscriptions", dry_run=True)
    assert not Subscription.all_objects.exists()


def test_the_command_refuses_bad_arguments_in_one_line(tmp_path, org):
    with pytest.raises(CommandError, match="is not a file"):
        run(str(tmp_path / "missing.csv"), org, "accounts")
    path = write_csv(tmp_path, [["external_id", "name"], ["A1", "x"]])
    with pytest.raises(CommandError, match="--org: no organization"):
        call_command("import_csv", path, "--org", "nope", "--kind", "accounts")
    with pytest.raises(CommandError, match="--mapping: no accounts mapping"):
        run(path, org, "accounts", mapping="missing")


def test_consent_is_imported_only_from_its_columns(tmp_path, org):
    f.AccountFactory(organization=org, external_id="A1")
    path = write_csv(
        tmp_path,
        [
            [
                "external_id",
                "account",
                "name",
                "email",
                "consentimento em",
                "origem do consentimento",
            ],
            ["C1", "A1", "Ana", "ana@x.example", "01/06/2024 10:00", "contrato"],
            ["C2", "A1", "Bia", "bia@x.example", "", ""],
        ],
    )
    run(path, org, "contacts")
    ana, bia = Contact.all_objects.get(external_id="C1"), Contact.all_objects.get(external_id="C2")
    # 10:00 in São Paulo is 13:00 UTC
    assert ana.consent_given_at == dt.datetime(2024, 6, 1, 13, 0, tzinfo=dt.UTC)
    assert ana.consent_source == "contrato"
    assert (bia.consent_given_at, bia.consent_source) == (None, "")  # never invented


def test_survey_answers_match_their_contact_by_email_within_the_account(tmp_path, org):
    a1 = f.AccountFactory(organization=org, external_id="A1")
    a2 = f.AccountFactory(organization=org, external_id="A2")
    mine = f.ContactFactory(account=a1, email="ana@x.example")
    f.ContactFactory(account=a2, email="bia@x.example")
    good = write_csv(
        tmp_path,
        [
            ["external_id", "account", "contact", "kind", "score", "answered_at"],
            ["N1", "A1", "ANA@x.example", "nps", "9", "01/06/2024"],
        ],
        name="good.csv",
    )
    run(good, org, "surveys")
    from accounts.models import SurveyResponse

    assert SurveyResponse.all_objects.get().contact_id == mine.pk
    wrong = write_csv(
        tmp_path,
        [
            ["external_id", "account", "contact", "kind", "score", "answered_at"],
            ["N2", "A1", "bia@x.example", "nps", "9", "01/06/2024"],
        ],
        name="wrong.csv",
    )
    with pytest.raises(CommandError):
        run(wrong, org, "surveys")


def test_the_rejected_rows_file_repeats_each_row_with_why(tmp_path, portfolio):
    path = write_csv(
        tmp_path,
        [
            SUB_HEADER,
            ["S1", "A1", "analytics", "1", "01/01/2024", ""],
            ["S2", "A1", "analytics", "x", "01/01/2024", ""],
        ],
    )
    opener, sniffed = imports.path_opener(path), imports.sniff(imports.path_opener(path))
    kind = rec.SUBSCRIPTIONS
    mapping = imports.suggest_mapping(kind, sniffed.headers)
    report = imports.check(
        org=portfolio, kind=kind, opener=opener, fmt=sniffed.format, mapping=mapping
    )
    assert report.errors == [(3, "Valor mensal", "x is not a number.")]
    text = "".join(
        imports.rejected_rows_csv(opener=opener, fmt=sniffed.format, errors=report.errors)
    )
    assert text.splitlines() == [
        "Código;Conta;Produto;Valor mensal;Início;Renovação;errors",
        "S2;A1;analytics;x;01/01/2024;;Valor mensal: x is not a number.",
    ]


# -- in the browser --------------------------------------------------------------------------------


def test_upload_map_check_import_and_report(client, portfolio, analyst):
    client.force_login(analyst)
    data = "Código;Conta;Produto;Valor mensal;Início\nS1;A1;analytics;R$ 1.000,00;01/03/2024\n"
    upload = SimpleUploadedFile("assinaturas.csv", data.encode("cp1252"))
    response = client.post("/data/imports/", {"kind": "subscriptions", "file": upload})
    assert response.status_code == 302
    job = ImportJob.all_objects.get()
    assert (job.encoding, job.delimiter, job.decimal, job.date_order) == ("cp1252", ";", ",", "dmy")
    assert job.mapping == {
        "Código": "external_id",
        "Conta": "account",
        "Produto": "product",
        "Valor mensal": "mrr",
        "Início": "start_date",
    }
    page = client.get(response["Location"]).content.decode()
    assert "R$ 1.000,00" in page  # the first rows as read
    form = {
        "encoding": "cp1252",
        "delimiter": ";",
        "decimal": ",",
        "date_order": "dmy",
        "save_as": "ERP export",
    }
    form.update({f"col_{i}": job.mapping.get(h, "") for i, h in enumerate(job.headers)})
    assert client.post(response["Location"], form).status_code == 302
    job.refresh_from_db()
    assert job.state == "valid" and not Subscription.all_objects.exists()
    assert client.post(f"/data/imports/{job.pk}/run/").status_code == 302
    job.refresh_from_db()
    assert (job.state, job.created, job.updated, job.unchanged) == ("done", 1, 0, 0)
    assert Subscription.all_objects.get().mrr == Decimal("1000.00")
    page = client.get(f"/data/imports/{job.pk}/").content.decode()
    assert "Imported" in page and "created" in page
    # the saved mapping maps the next file with the same headers, even named oddly
    assert ImportMapping.all_objects.get().name == "ERP export"


def test_a_saved_mapping_is_suggested_for_the_next_file(client, portfolio, analyst):
    ImportMapping.all_objects.create(
        organization=portfolio,
        kind="subscriptions",
        name="ERP",
        columns={
            "columns": {
                "Cod": "external_id",
                "Cli": "account",
                "Prod": "product",
                "Mensal": "mrr",
                "Desde": "start_date",
            }
        },
    )
    client.force_login(analyst)
    upload = SimpleUploadedFile(
        "x.csv", b"Cod;Cli;Prod;Mensal;Desde\nS1;A1;analytics;1;01/01/2024\n"
    )
    client.post("/data/imports/", {"kind": "subscriptions", "file": upload})
    assert ImportJob.all_objects.get().mapping["Mensal"] == "mrr"


def test_errors_are_shown_by_row_and_column_and_nothing_is_written(client, portfolio, analyst):
    client.force_login(analyst)
    data = "external_id;account;product;mrr;start_date\nS1;A1;analytics;-5;01/01/2024\n"
    client.post(
        "/data/imports/",
        {"kind": "subscriptions", "file": SimpleUploadedFile("s.csv", data.encode())},
    )
    job = ImportJob.all_objects.get()
    form = {
        "encoding": "utf-8",
        "delimiter": ";",
        "decimal": ",",
        "date_order": "dmy",
        **{f"col_{i}": job.mapping.get(h, "") for i, h in enumerate(job.headers)},
    }
    client.post(f"/data/imports/{job.pk}/", form)
    job.refresh_from_db()
    assert job.state == "invalid", (job.state, job.errors, job.failure)
    page = client.get(f"/data/imports/{job.pk}/").content.decode()
    assert 'data-label="Row">2<' in page and 'data-label="Column">mrr<' in page
    assert "Must be at least 0" in page
    assert client.post(f"/data/imports/{job.pk}/run/").status_code == 302  # refused: not valid
    assert not Subscription.all_objects.exists()
    rejected = b"".join(client.get(f"/data/imports/{job.pk}/rejected.csv").streaming_content)
    assert "mrr: Must be at least 0 (got -5.00)." in rejected.decode()


def test_csms_do_not_import(client, csm):
    client.force_login(csm)
    assert client.get("/data/imports/").status_code == 403


def test_an_import_of_another_organization_is_a_404(client, analyst, other_org):
    job = ImportJob.all_objects.create(organization=other_org, kind="accounts", filename="x.csv")
    client.force_login(analyst)
    assert client.get(f"/data/imports/{job.pk}/").status_code == 404
    assert client.post(f"/data/imports/{job.pk}/run/").status_code == 404
    assert client.get(f"/data/imports/{job.pk}/rejected.csv").status_code == 404


def test_rows_are_cut_to_the_mapped_cells_short_ones_padded_and_blank_ones_skipped(tmp_path):
    """Header row 1; row 2 has every cell and one more; row 3 stops after the account (its
    metric, date and value are empty, so required); row 4 is only delimiters and spaces
    (skipped); row 5 maps the same way as row 2. Numbers are the file's rows."""
    path = tmp_path / "uso.csv"
    path.write_text(
        "conta;métrica;data;valor\n"
        "A1;logins;01/02/2024;3;extra\n"
        "A2\n"
        " ; ;;\n"
        "A3;logins;02/02/2024;4\n",
        encoding="utf-8",
    )
    fmt = imports.Format(delimiter=";", decimal=",")
    mapping = {"conta": "account", "métrica": "metric", "data": "date", "valor": "value"}
    (batch,) = imports._batches(rec.USAGE, imports.path_opener(str(path)), fmt, mapping)
    assert batch == [
        (2, {"account": "A1", "metric": "logins", "date": "01/02/2024", "value": "3"}),
        (3, {"account": "A2", "metric": "", "date": "", "value": ""}),
        (5, {"account": "A3", "metric": "logins", "date": "02/02/2024", "value": "4"}),
    ]


# -- usage files the quick way (imports._plain_usage) --------------------------------------

USAGE_HEADER = ["conta", "métrica", "data", "valor"]


@pytest.fixture
def full_batches(monkeypatch):
    """The batches read row by row (imports._read_batch, which still runs): a plain usage
    batch is read as columns and written without it."""
    calls = []
    read = imports._read_batch

    def counted(kind, batch, *args):
        calls.append([number for number, _ in batch])
        return read(kind, batch, *args)

    monkeypatch.setattr(imports, "_read_batch", counted)
    return calls


def _usage(org):
    from accounts.models import UsageMetric

    rows = UsageMetric.all_objects.filter(organization=org).order_by("account__external_id", "date")
    return [(u.account.external_id, u.date.day, u.value) for u in rows]


def test_a_usage_file_half_new_half_stored_is_written_as_columns(tmp_path, portfolio, full_batches):
    """First A1 and A2 on 1 June (1,5 and 2). Then a file of A1 1 June at 1,5 (unchanged), A2
    1 June at 3 (updated), A1 and A2 on 2 June (4 and 5, created): by hand created 2, updated
    1, unchanged 1, and the stored values. No batch was read row by row."""
    first = write_csv(tmp_path, [USAGE_HEADER, ["A1", "logins", "01/06/2024", "1,5"]])
    assert '"created": 1' in run(first, portfolio, "usage")
    second = write_csv(
        tmp_path,
        [
            USAGE_HEADER,
            ["A1", "logins", "01/06/2024", "1,5"],
            ["A2", "logins", "01/06/2024", "2"],
        ],
    )
    assert '"created": 1, "updated": 0, "unchanged": 1' in run(second, portfolio, "usage")
    third = write_csv(
        tmp_path,
        [
            USAGE_HEADER,
            ["A1", "logins", "01/06/2024", "1,5"],
            ["A2", "logins", "01/06/2024", "3"],
            ["A1", "logins", "02/06/2024", "4"],
            ["A2", "logins", "02/06/2024", "5"],
        ],
    )
    assert '"created": 2, "updated": 1, "unchanged": 1' in run(third, portfolio, "usage")
    assert _usage(portfolio) == [("A1", 1, 1.5), ("A1", 2, 4.0), ("A2", 1, 3.0), ("A2", 2, 5.0)]
    assert full_batches == []


def test_a_usage_key_repeated_in_a_later_batch_or_an_unknown_account_is_its_rows_error(
    tmp_path, portfolio, capsys, monkeypatch, full_batches
):
    """Batches of 2 rows. Rows 2-3 are plain and written as columns; row 4 repeats row 2's
    A1 on 1 June (known from the quick batch), so batch 4-5 is read row by row and names it,
    and row 5's NOPE; batch 6-7 (plain, new) is only checked. Two errors, nothing written."""
    monkeypatch.setitem(imports.BATCH_ROWS, "usage", 2)
    rows = [
        USAGE_HEADER,
        ["A1", "logins", "01/06/2024", "1"],
        ["A2", "logins", "01/06/2024", "2"],
        ["A1", "logins", "01/06/2024", "3"],
        ["NOPE", "logins", "01/06/2024", "4"],
        ["A1", "logins", "03/06/2024", "5"],
        ["A2", "logins", "03/06/2024", "6"],
    ]
    with pytest.raises(CommandError, match="2 error"):
        run(write_csv(tmp_path, rows), portfolio, "usage")
    stderr = capsys.readouterr().err
    assert "row 4, column conta: Repeats row 2" in stderr, stderr
    assert "row 5, column conta: No account of this organization" in stderr, stderr
    assert _usage(portfolio) == []
    assert full_batches == [[4, 5], [6, 7]]
