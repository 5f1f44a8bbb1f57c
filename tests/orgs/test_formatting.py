"""Money, numbers, percentages and dates in an organization's locale (orgs.formatting), on
hand-written examples: what a Brazilian, an American and a German spreadsheet user expect."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone

from orgs import formatting as f

NB = "\u00a0"  # the non-breaking space between symbol and number


@pytest.mark.parametrize(
    ("value", "currency", "locale", "expected"),
    [
        (1234.56, "BRL", "pt-br", f"R${NB}1.234,56"),
        (Decimal("1234567.891"), "BRL", "pt-br", f"R${NB}1.234.567,89"),
        (-10, "BRL", "pt-br", f"-R${NB}10,00"),
        (0.005, "BRL", "pt-br", f"R${NB}0,01"),  # half up, not banker's rounding
        (1234.56, "USD", "pt-br", f"US${NB}1.234,56"),
        (1234.56, "USD", "en", "$1,234.56"),
        (1234.56, "BRL", "en", "R$1,234.56"),
        (1234.56, "EUR", "en-gb", "€1,234.56"),
        (1234.56, "EUR", "de", f"1.234,56{NB}€"),
        (999.5, "EUR", "pt-BR", f"€{NB}999,50"),  # the spelling of the locale does not matter
        (None, "BRL", "pt-br", ""),
        ("not a number", "BRL", "pt-br", ""),
    ],
)
def test_money(value, currency, locale, expected):
    assert f.format_money(value, currency=currency, locale=locale) == expected


def test_money_in_whole_units_and_without_a_currency():
    assert f.format_money(1234.5, 0, currency="BRL", locale="pt-br") == f"R${NB}1.235"
    assert f.format_money(1234.5, 0, currency="", locale="pt-br") == "1.235"


@pytest.mark.parametrize(
    ("value", "decimals", "locale", "expected"),
    [
        (1234567, 0, "pt-br", "1.234.567"),
        (1234.5, 1, "pt-br", "1.234,5"),
        (1234.5, 1, "en", "1,234.5"),
        (999, 0, "pt-br", "999"),
        (-1234.44, 1, "pt-br", "-1.234,4"),
        (-0.04, 1, "pt-br", "0,0"),  # no "-0,0"
        (1234.5, 2, "fr", "1\u202f234,50"),
    ],
)
def test_numbers(value, decimals, locale, expected):
    assert f.format_number(value, decimals, locale=locale) == expected


@pytest.mark.parametrize(
    ("value", "decimals", "locale", "expected"),
    [(12.5, 1, "pt-br", "12,5%"), (12.5, 1, "en", "12.5%"), (12.5, 1, "de", f"12,5{NB}%")],
)
def test_percentages(value, decimals, locale, expected):
    assert f.format_percent(value, decimals, locale=locale) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("pt-br", "01/12/2026"), ("en", "12/01/2026"), ("en-gb", "01/12/2026"), ("de", "01.12.2026")],
)
def test_dates(locale, expected):
    assert f.format_date(dt.date(2026, 12, 1), locale=locale) == expected


def test_an_aware_datetime_reads_in_the_zone_in_force():
    """02:30 UTC on 1 December is 23:30 on 30 November in São Paulo (UTC-3)."""
    moment = dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC)
    with timezone.override(zoneinfo.ZoneInfo("America/Sao_Paulo")):
        assert f.format_date(moment, locale="pt-br", with_time=True) == "30/11/2026 23:30"
        assert f.format_date(moment, locale="pt-br") == "30/11/2026"


def test_the_filters_read_the_locale_and_currency_in_force():
    template = Template(
        "{% load formats %}{{ m|money }} {{ m|money:0 }} {{ n|number:1 }} {{ p|percent:1 }} "
        "{{ d|short_date }} {% format_locale %}"
    )
    context = Context({"m": 1234.56, "n": 1234.5, "p": 7.25, "d": dt.date(2026, 12, 1)})
    token = f.activate(locale="pt-br", currency="BRL")
    try:
        assert template.render(context) == (
            f"R${NB}1.234,56 R${NB}1.235 1.234,5 7,3% 01/12/2026 pt-BR"
        )
    finally:
        f.deactivate(token)
    token = f.activate(locale="en", currency="USD")
    try:
        assert template.render(context) == "$1,234.56 $1,235 1,234.5 7.3% 12/01/2026 en-US"
    finally:
        f.deactivate(token)


def test_csv_numbers_for_spreadsheets():
    assert f.csv_number(1234.5, decimal_comma=True) == "1234,5"
    assert f.csv_number(1234.5, decimal_comma=False) == "1234.5"
    assert f.csv_number(None, decimal_comma=True) == ""


def test_an_instant_is_shown_in_the_zone_in_force_with_the_zone_named():
    """15:05 UTC on 2026-12-01 is 12:05 in São Paulo (UTC−3, no summer time since 2019) and
    16:05 in Berlin (CET, UTC+1); the ISO text the nights' records keep reads the same."""
    instant = dt.datetime(2026, 12, 1, 15, 5, tzinfo=dt.UTC)
    with timezone.override(zoneinfo.ZoneInfo("America/Sao_Paulo")):
        assert (
            f.format_datetime_zoned(instant, locale="pt-br") == "01/12/2026 12:05 America/Sao Paulo"
        )
        assert (
            f.format_datetime_zoned(instant.isoformat(), locale="en")
            == "12/01/2026 12:05 America/Sao Paulo"
        )
        html = Template("{% load formats %}{{ t|zoned_datetime }}").render(Context({"t": instant}))
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        assert f.format_datetime_zoned(instant, locale="de") == "01.12.2026 16:05 Europe/Berlin"
    assert f.format_datetime_zoned(None) == "" and f.format_datetime_zoned("not a time") == (
        "not a time"
    )
    assert html.endswith("12:05 America/Sao Paulo")


def test_a_figure_kept_in_data_reads_in_the_locale():
    """localize_figure: the neutral writing of a stored figure, rewritten for the reader."""
    from orgs.formatting import format_with_spec, localize_figure

    assert localize_figure("12.5", locale="pt-br") == "12,5"
    assert localize_figure("-1,234.50", locale="pt-br") == "-1.234,50"
    assert localize_figure(30, locale="pt-br") == "30"
    assert localize_figure("2026-12-01", locale="pt-br") == "01/12/2026"
    assert localize_figure("12.5", locale="en") == "12.5"
    assert localize_figure("Gold", locale="pt-br") == "Gold"
    assert localize_figure("1.2.3", locale="pt-br") == "1.2.3"
    assert format_with_spec(-12.5, "+.1f", locale="pt-br") == "-12,5"
    assert format_with_spec(1234.5, ",.2f", locale="de") == "1.234,50"


def test_a_spreadsheet_cell_is_a_number_or_neutralized_text():
    """orgs.spreadsheets.cell: numbers (and numbers already written as text, "-1234,5" in a
    decimal-comma dialect) are left for the spreadsheet to read as numbers; text that starts
    like a formula gets an apostrophe."""
    from decimal import Decimal

    from orgs.spreadsheets import cell, dialect

    brazil = dialect("pt-br")
    assert (brazil.delimiter, brazil.decimal_comma) == (";", True)
    assert cell(Decimal("1234.50"), brazil) == "1234,50"
    assert cell(-12.5, brazil) == "-12,5" and cell(-12.5) == "-12.5"
    assert cell("-1234,5", brazil) == "-1234,5" and cell("-3") == "-3"
    assert cell("=1+1") == "'=1+1" and cell("-x") == "'-x" and cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell(None) == "" and cell("Alfa") == "Alfa"
