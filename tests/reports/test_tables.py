"""The CSV of a table: text a spreadsheet would run as a formula is neutralized, numbers
(negative ones too) stay numbers, an undefined value is "—", and every header names its unit."""

from __future__ import annotations

import csv
import io

import pytest

from reports.tables import DAYS, MONEY, PCT, POINTS, TEXT, Column, Row, Table, csv_lines


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_starting_like_a_formula_is_text(start):
    table = Table("t", "T", [Column("name", "Name", TEXT)], [Row({"name": f"{start}1+1"})])
    (*_head, row) = list(csv.reader(io.StringIO("".join(csv_lines(table, currency="BRL")))))
    assert row == [f"'{start}1+1"]


def test_numbers_stay_numbers_and_headers_name_their_unit():
    """A contraction of −120.4 is written -120 (money has no decimals), a change of −2.25
    points -2.2 (one decimal, half to even: the page shows the same), None is "—"."""
    columns = [
        Column("name", "-Name", TEXT),
        Column("mrr", "Contraction", MONEY),
        Column("pct", "Save rate", PCT),
        Column("days", "Median", DAYS),
        Column("change", "Change", POINTS),
    ]
    rows = [Row({"name": "Alfa", "mrr": -120.4, "pct": None, "days": 3, "change": -2.25})]
    lines = list(
        csv.reader(io.StringIO("".join(csv_lines(Table("t", "T", columns, rows), currency="BRL"))))
    )
    header, row = lines
    assert header == [
        "'-Name",
        "Contraction (BRL)",
        "Save rate (%)",
        "Median (days)",
        "Change (points)",
    ]
    assert row == ["Alfa", "-120", "—", "3", "-2.2"]


def test_counts_in_words_group_their_digits_and_agree_in_number():
    """1637 playbooks read "1,637 playbooks" (as the tables show it); one is "1 playbook"."""
    from django.utils.translation import ngettext

    from reports.tables import grouped, whole

    def words(n):
        return ngettext("%(n)s playbook", "%(n)s playbooks", whole(n)) % grouped(n)

    assert (words(1637), words(1), words(None)) == ("1,637 playbooks", "1 playbook", "0 playbooks")


def test_a_csv_for_brazilian_spreadsheets_uses_semicolons_and_decimal_commas():
    """?csv=local in a pt-BR organization: a save rate of 62.5% is written 62,5 (one
    decimal) and an MRR of 1234.4 is 1234 (no decimals, no grouping), cells split by ";";
    the plain CSV keeps "," and 62.5."""
    columns = [Column("name", "Name", TEXT), Column("pct", "Save rate", PCT)]
    columns.append(Column("mrr", "MRR", MONEY))
    table = Table("t", "T", columns, [Row({"name": "Alfa, Ltda", "pct": 62.5, "mrr": 1234.4})])
    local = "".join(csv_lines(table, currency="BRL", spreadsheet_locale="pt-br"))
    assert local.splitlines() == ["Name;Save rate (%);MRR (BRL)", "Alfa, Ltda;62,5;1234"]
    assert list(csv.reader(io.StringIO(local), delimiter=";"))[1] == ["Alfa, Ltda", "62,5", "1234"]
    plain = "".join(csv_lines(table, currency="BRL"))
    assert plain.splitlines()[1] == '"Alfa, Ltda",62.5,1234'
    # an English organization's spreadsheets read the plain CSV
    assert "".join(csv_lines(table, currency="USD", spreadsheet_locale="en")).splitlines()[1] == (
        '"Alfa, Ltda",62.5,1234'
    )
