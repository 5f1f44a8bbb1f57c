"""Reading one value the way spreadsheets and JSON write it (api/records.py): pure, no database.
Each expected value is written out by hand next to its input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from api import records as rec
from api.imports import detect_delimiter, detect_encoding, detect_numbers_and_dates

MRR = rec.SUBSCRIPTIONS.by_name["mrr"]
VALUE = rec.USAGE.by_name["value"]
DAY = rec.USAGE.by_name["date"]
COUNT = rec.SUBSCRIPTIONS.by_name["renewals_count"]
OPENED = rec.TICKETS.by_name["opened_at"]
TIER = rec.ACCOUNTS.by_name["tier"]
NAME = rec.ACCOUNTS.by_name["name"]
SP = ZoneInfo("America/Sao_Paulo")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1.234,56", Decimal("1234.56")),
        ("R$ 1.234,56", Decimal("1234.56")),
        ("R$1.234.567,8", Decimal("1234567.80")),
        (" 12,5 ", Decimal("12.50")),
        ("1234", Decimal("1234.00")),
        ("0,005", Decimal("0.01")),  # two places, half up
        ("1.234", Decimal("1234.00")),  # a Brazilian thousands point, not decimals
    ],
)
def test_brazilian_amounts(raw, expected):
    assert rec.read_decimal(raw, MRR, rec.BRAZIL) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [("1,234.56", 1234.56), ("$ 2,000", 2000.0), ("-3.5", -3.5), ("(1,000.00)", -1000.0)],
)
def test_point_decimal_numbers(raw, expected):
    assert rec.read_float(raw, VALUE, rec.Dialect(decimal=".")) == expected


@pytest.mark.parametrize("raw", ["1,234,56", "12.34.5", "abc", "1.2345,6"])
def test_malformed_numbers_are_refused(raw):
    with pytest.raises(rec.Invalid, match="not a number"):
        rec.read_float(raw, VALUE, rec.BRAZIL)


@pytest.mark.parametrize("raw", ["%", "pro plan", "análise", "a/b"])
def test_a_product_code_is_a_slug(raw):
    """The model's SlugField: letters, digits, - and _ (schemathesis posted "%", which the
    API stored and then answered outside its own schema)."""
    code = rec.PRODUCTS.by_name["code"]
    with pytest.raises(rec.Invalid, match="not a code"):
        rec.read_slug(raw, code, rec.JSON)
    assert rec.read_slug("pro-plan_2", code, rec.JSON) == "pro-plan_2"


def test_negative_mrr_is_refused_with_the_bound():
    with pytest.raises(rec.Invalid, match="at least 0"):
        rec.read_decimal("-R$ 10,00", MRR, rec.BRAZIL)


def test_json_numbers_are_typed_and_strings_read_the_iso_way():
    assert rec.read_float(42, VALUE, rec.JSON) == 42.0
    assert rec.read_decimal("1234.56", MRR, rec.JSON) == Decimal("1234.56")
    with pytest.raises(rec.Invalid):
        rec.read_float(True, VALUE, rec.JSON)  # a boolean is no number
    with pytest.raises(rec.Invalid):
        rec.read_float(float("inf"), VALUE, rec.JSON)


def test_whole_numbers():
    assert rec.read_int("1.200", COUNT, rec.BRAZIL) == 1200
    with pytest.raises(rec.Invalid, match="not a whole number"):
        rec.read_int("2,5", COUNT, rec.BRAZIL)


@pytest.mark.parametrize(
    "raw, dialect, expected",
    [
        ("31/12/2024", rec.BRAZIL, dt.date(2024, 12, 31)),
        ("01/02/2024", rec.BRAZIL, dt.date(2024, 2, 1)),  # 1 February, day first
        ("01/02/2024", rec.Dialect(date_order="mdy"), dt.date(2024, 1, 2)),
        ("2024-02-01", rec.BRAZIL, dt.date(2024, 2, 1)),  # ISO whatever the dialect
        ("31.12.2024", rec.BRAZIL, dt.date(2024, 12, 31)),
        ("31/12/2024 00:00:00", rec.BRAZIL, dt.date(2024, 12, 31)),  # Excel's midnight
    ],
)
def test_dates(raw, dialect, expected):
    assert rec.read_date(raw, DAY, dialect) == expected


@pytest.mark.parametrize(
    "raw, message",
    [
        ("31/02/2024", "not a day of the calendar"),
        ("31/12/24", "four digits"),
        ("2024-13-01", "not a day of the calendar"),
        ("ontem", "not a date"),
        ("01/01/1850", "outside"),
    ],
)
def test_bad_dates_say_why(raw, message):
    with pytest.raises(rec.Invalid, match=message):
        rec.read_date(raw, DAY, rec.BRAZIL)


def test_json_dates_must_be_iso():
    with pytest.raises(rec.Invalid, match="YYYY-MM-DD"):
        rec.read_date("31/12/2024", DAY, rec.JSON)


def test_datetimes_without_a_zone_are_the_organizations_local_time():
    """14:30 in São Paulo (UTC-3, no summer time since 2019) is 17:30 UTC."""
    value = rec.read_datetime("30/06/2024 14:30", OPENED, rec.BRAZIL, SP)
    assert value == dt.datetime(2024, 6, 30, 17, 30, tzinfo=dt.UTC)
    assert rec.read_datetime("2024-06-30T14:30:00Z", OPENED, rec.JSON, SP) == dt.datetime(
        2024, 6, 30, 14, 30, tzinfo=dt.UTC
    )


@pytest.mark.parametrize("raw", ["=SUM(A1:A3)", "=1+1", '+HYPERLINK("x")', "@cmd(1)"])
def test_formula_cells_are_refused(raw):
    with pytest.raises(rec.Invalid, match="formula"):
        rec.read_text(raw, NAME, rec.BRAZIL)
    with pytest.raises(rec.Invalid, match="formula"):
        rec.read_float(raw, VALUE, rec.BRAZIL)


def test_a_phone_with_a_plus_is_text_not_a_formula():
    phone = rec.CONTACTS.by_name["phone"]
    assert rec.read_text("+55 11 99999-0000", phone, rec.BRAZIL) == "+55 11 99999-0000"


def test_choices_accept_values_labels_and_portuguese():
    assert rec.read_choice("Ouro", TIER, rec.BRAZIL) == "gold"
    assert rec.read_choice("GOLD", TIER, rec.BRAZIL) == "gold"
    assert rec.read_choice("Diamante", TIER, rec.BRAZIL) == "diamond"
    with pytest.raises(rec.Invalid, match="not one of"):
        rec.read_choice("ferro", TIER, rec.BRAZIL)


def test_a_record_names_each_problem_by_field_and_checks_rules_between_fields():
    parsed = rec.parse_record(
        rec.SURVEYS,
        {
            "external_id": "S1",
            "account": "A1",
            "kind": "csat",
            "score": 9,
            "answered_at": "2024-06-01T10:00:00Z",
        },
        rec.JSON,
    )
    assert parsed.errors == [("score", "A CSAT answer is 1 to 5 (got 9).")]
    missing = rec.parse_record(rec.USAGE, {"account": "A1", "metric": "x", "oops": 1}, rec.JSON)
    assert sorted(f for f, _ in missing.errors) == ["date", "oops", "value"]


def test_fields_left_out_are_left_out_and_empty_ones_clear():
    parsed = rec.parse_record(
        rec.ACCOUNTS, {"external_id": "A1", "name": "Alfa", "region": ""}, rec.JSON
    )
    assert parsed.values == {"external_id": "A1", "name": "Alfa", "region": ""}


# -- the file's format ---------------------------------------------------------------------------


def test_encoding_detection():
    text = "nome;cidade\nJoão;São Paulo\n"
    assert detect_encoding(iter([text.encode("utf-8")])) == "utf-8"
    assert detect_encoding(iter([b"\xef\xbb\xbf" + text.encode()])) == "utf-8-sig"
    assert detect_encoding(iter([text.encode("cp1252")])) == "cp1252"
    assert detect_encoding(iter([text.encode("utf-16")])) == "utf-16"
    # a UTF-8 character cut between two reads is still UTF-8
    data = text.encode("utf-8")
    cut = data.index("ã".encode()) + 1
    assert detect_encoding(iter([data[:cut], data[cut:]])) == "utf-8"


def test_delimiter_detection_ignores_quoted_separators():
    assert detect_delimiter("a;b;c") == ";"
    assert detect_delimiter('"a,b";c;d') == ";"
    assert detect_delimiter("a\tb\tc") == "\t"
    assert detect_delimiter("a,b") == ","


def test_number_and_date_detection():
    assert detect_numbers_and_dates([["1.234,56", "31/12/2024"]]) == (",", "dmy")
    assert detect_numbers_and_dates([["1,234.56", "12/31/2024"]]) == (".", "mdy")
    assert detect_numbers_and_dates([["R$ 10,00", "01/02/2024"]]) == (",", "dmy")
