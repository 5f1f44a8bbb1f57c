"""Reading one value the way spreadsheets and JSON write it (api/records/): pure, no database.
Each expected value is written out by hand next to its input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_an_integer_beyond_any_float_is_refused_not_a_crash():
    """JSON may carry an integer of 400 digits; float() of it overflows (it raised, a 500):
    now refused as not finite, as 1e400 (infinity once parsed) is."""
    with pytest.raises(rec.Invalid, match="finite"):
        rec.read_float(10**400, VALUE, rec.JSON)
    assert rec.read_columns(rec.USAGE, [{**PLAIN, "value": 10**400}], rec.JSON) is None


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


def test_a_decimal_with_more_digits_than_it_can_hold_is_out_of_bounds_not_a_crash():
    """1e300 as a JSON number for an MRR: quantizing it to cents raised decimal's own
    InvalidOperation (a 500); it is above the MRR's maximum, 10**10 - 1, and says so."""
    with pytest.raises(rec.Invalid, match="Must be at most 9999999999"):
        rec.read_decimal(1e300, MRR, rec.JSON)


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


# -- a batch read a column at a time agrees with one record at a time -------------------------

# Cells that exercise every reader: blanks, numbers written both ways, dates in each order,
# formulas, choices in Portuguese, out-of-range and malformed values, JSON's own types.
_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "A1",
            " A1 ",
            "x",
            "Ouro",
            "gold",
            "ferro",
            "sim",
            "não",
            "1.234,56",
            "R$ 1.234,56",
            "1,234.56",
            "12,5",
            "-3",
            "(1.000,00)",
            "abc",
            "1e400",
            "10",
            "0",
            "11",
            "31/12/2024",
            "12/31/2024",
            "2024-06-30",
            "30/02/2024",
            "2024-06-30T10:00:00Z",
            "30/06/2024 14:30",
            "=SUM(A1)",
            "+cmd(",
            "a" * 300,
            "csat",
            "nps",
            "carla@example.com",
            "not-an-email",
        ]
    ),
    st.integers(-20, 20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.just([1]),
)


@st.composite
def _batches(draw):
    kind = draw(st.sampled_from(list(rec.KINDS.values())))
    names = [c.name for c in kind.columns] + ["oops"]
    raws = draw(
        st.lists(st.dictionaries(st.sampled_from(names), _CELLS, max_size=len(names)), max_size=12)
    )
    dialect = draw(st.sampled_from([rec.JSON, rec.BRAZIL, rec.Dialect(decimal=".")]))
    return kind, raws, dialect, draw(st.booleans())


@settings(max_examples=300, deadline=None)
@given(_batches())
def test_a_batch_reads_as_each_of_its_records_would_alone(batch):
    """parse_records reads a column at a time and reads a repeated text once; it must give
    exactly what parse_record gives for each record: the same values (same order) and the
    same errors (same order and words)."""
    kind, raws, dialect, partial = batch
    together = rec.parse_records(kind, raws, dialect, zone=SP, partial=partial)
    alone = [rec.parse_record(kind, raw, dialect, zone=SP, partial=partial) for raw in raws]
    assert [(p.values, list(p.values), p.errors) for p in together] == [
        (p.values, list(p.values), p.errors) for p in alone
    ]


def test_a_repeated_text_is_read_once_and_each_record_keeps_its_own_result():
    """Three rows of one day and one bad value: the day is read once, the bad value's error
    names each row that has it, and the good rows get the value they wrote."""
    raws = [
        {"account": "A1", "metric": "logins", "date": "01/02/2024", "value": "1,5"},
        {"account": "A2", "metric": "logins", "date": "01/02/2024", "value": "x"},
        {"account": "A3", "metric": "logins", "date": "01/02/2024", "value": "x"},
    ]
    out = rec.parse_records(rec.USAGE, raws, rec.BRAZIL)
    assert [p.values.get("value") for p in out] == [1.5, None, None]
    assert [p.values["date"] for p in out] == [dt.date(2024, 2, 1)] * 3
    assert [p.errors for p in out] == [
        [],
        [("value", "x is not a number.")],
        [("value", "x is not a number.")],
    ]


# -- a plain batch a column at a time (read_columns) ---------------------------------------


def test_a_plain_usage_batch_reads_as_columns_with_parse_records_values():
    """Three records by hand: the account and metric texts come back as they are, the ISO
    days as dates, the JSON numbers 3, 4.5 and 0 as the floats 3.0, 4.5 and 0.0; and a
    padded " A2 " is read by the column's reader, stripped, as parse_records strips it."""
    raws = [
        {"account": "A1", "metric": "logins", "date": "2024-06-01", "value": 3},
        {"value": 4.5, "date": "2024-06-02", "metric": "logins", "account": "A1"},
        {"account": " A2 ", "metric": "logins", "date": "2024-06-01", "value": 0},
    ]
    columns = rec.read_columns(rec.USAGE, raws, rec.JSON)
    assert columns == {
        "account": ["A1", "A1", "A2"],
        "metric": ["logins"] * 3,
        "date": [dt.date(2024, 6, 1), dt.date(2024, 6, 2), dt.date(2024, 6, 1)],
        "value": [3.0, 4.5, 0.0],
    }
    assert all(type(v) is float for v in columns["value"])
    parsed = rec.parse_records(rec.USAGE, raws, rec.JSON)
    assert [p.values for p in parsed] == [
        {name: columns[name][i] for name in columns} for i in range(3)
    ]


PLAIN = {"account": "A1", "metric": "logins", "date": "2024-06-01", "value": 1}


@pytest.mark.parametrize(
    "change",
    [
        {"account": ""},  # required
        {"account": "   "},
        {"account": None},
        {"account": "=SUM(A1)"},  # a formula
        {"account": "x" * 255},  # over 254
        {"account": "A\x00"},  # a NUL: PostgreSQL has no text with it
        {"metric": ["logins"]},
        {"date": "2024-13-01"},
        {"date": "01/06/2024"},  # JSON dates are ISO
        {"value": True},
        {"value": float("nan")},
        {"value": float("inf")},
        {"value": -float("inf")},
        {"value": 1e308},  # beyond the bound, and two of them overflow a sum
        {"value": 10**16},  # over the bound 10**15
        {"value": "many"},
        {"extra": 1},
    ],
)
def test_a_batch_with_one_record_not_plain_is_not_read_as_columns(change):
    """One odd record among plain ones: None, and the caller reads the batch the full way
    (parse_records), which names the record and field."""
    odd = {**PLAIN, **change}
    assert rec.read_columns(rec.USAGE, [PLAIN, odd, PLAIN], rec.JSON) is None


def test_a_record_missing_a_field_or_not_an_object_is_not_plain():
    short = {k: v for k, v in PLAIN.items() if k != "value"}
    assert rec.read_columns(rec.USAGE, [PLAIN, short], rec.JSON) is None
    assert rec.read_columns(rec.USAGE, [PLAIN, ["A1"]], rec.JSON) is None
    # a list of exactly the field names is not an object carrying them
    assert rec.read_columns(rec.USAGE, [PLAIN, list(PLAIN)], rec.JSON) is None
    assert rec.read_columns(rec.USAGE, [PLAIN, "acdv"], rec.JSON) is None
    assert rec.read_columns(rec.USAGE, [], rec.JSON) is None
    assert rec.read_columns(rec.TICKETS, [{}], rec.JSON) is None  # datetimes: the full way


@pytest.mark.parametrize(
    "metric", ["\tlogins", "logins\u00a0", "\u2003logins", "=logins", "-logins", "@x", "+1"]
)
def test_a_text_with_a_space_or_formula_first_reads_as_parse_records_reads_it(metric):
    """A tab, a no-break space or an em space around the metric, or a formula's first
    character: read_text strips the spaces, and reads what starts like a formula by its own
    rule, so the column is not passed on as it came unchecked; whatever read_columns gives
    is parse_records' reading ("\tlogins" -> "logins"), or None where that is an error."""
    raws = [PLAIN, {**PLAIN, "metric": metric, "date": "2024-06-02"}]
    columns = rec.read_columns(rec.USAGE, raws, rec.JSON)
    parsed = rec.parse_records(rec.USAGE, raws, rec.JSON)
    if columns is None:
        assert any(p.errors for p in parsed)
    else:
        assert columns["metric"] == [p.values["metric"] for p in parsed]
        assert columns["metric"][1] == metric.strip()  # the spaces, and only they, gone


_ODD_TEXTS = [
    "A1",
    "A2",
    " A1",
    "A1 ",
    "",
    " ",
    "=SUM(A1)",
    "-x",
    "+1",
    "@x",
    "ação",
    "x" * 41,
    "\tA1",
    "A1\u00a0",
]
_VALUES = st.one_of(
    st.sampled_from(_ODD_TEXTS + [None, 7, True]),
    st.text(max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "account": _VALUES,
                "metric": _VALUES,
                "date": st.sampled_from(["2024-06-01", "2024-6-1", "2024-02-30", "x", None]),
                "value": st.one_of(
                    st.integers(-(10**16), 10**16),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([True, "42", "1,5", None]),
                ),
            }
        ),
        min_size=1,
        max_size=6,
    )
)
def test_read_columns_gives_parse_records_values_or_none(raws):
    """Whatever the batch: read as columns, each record's values are parse_records' and it
    found no error; None only when parse_records finds an error or a text holds a NUL."""
    columns = rec.read_columns(rec.USAGE, raws, rec.JSON)
    parsed = rec.parse_records(rec.USAGE, raws, rec.JSON)
    if columns is not None:
        assert not any(p.errors for p in parsed)
        assert [p.values for p in parsed] == [
            {name: columns[name][i] for name in columns} for i in range(len(raws))
        ]
    else:
        nul = any("\x00" in v for r in raws for v in r.values() if isinstance(v, str))
        assert nul or any(p.errors for p in parsed)
