"""CSV and XLSX of the portal's tables: Italian format, and no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from services.reporting.tabular import (
    Column,
    Table,
    csv_bytes,
    csv_chunks,
    display_rows,
    neutralise,
    xlsx_bytes,
)

DANGEROUS = ['=HYPERLINK("http://x")', "+39 333", "-1+2", "@SUM(A1)", "\tTAB", "\rCR"]


def table(*names: str) -> Table:
    columns = (
        Column("Nominativo"),
        Column("Importo", "cents"),
        Column("Posizioni", "int"),
        Column("Il", "date"),
        Column("Alle", "datetime"),
    )
    rows = tuple(
        (name, 123_456 * (i + 1), i, date(2026, 3, 4), datetime(2026, 3, 4, 23, 30, tzinfo=UTC))
        for i, name in enumerate(names)
    )
    return Table("prova", "Prova: dati/[1]", columns, rows)


@pytest.mark.parametrize("text", DANGEROUS)
def test_formula_starts_get_an_apostrophe(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["Mario Rossi", "", "1.234,56", "a=b", "'già"])
def test_plain_text_is_left_alone(text: str) -> None:
    assert neutralise(text) == text


def test_csv_is_utf8_with_bom_semicolons_italian_amounts_and_no_formula() -> None:
    body = csv_bytes(table("Nicolò Rossi", *DANGEROUS))
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == ["Nominativo", "Importo", "Posizioni", "Il", "Alle"]
    assert rows[1] == ["Nicolò Rossi", "1.234,56", "0", "04/03/2026", "05/03/2026 00:30"]  # Rome time
    assert [r[0] for r in rows[2:]] == ["'" + t for t in DANGEROUS]
    assert rows[3][1] == "3.703,68"
    assert b";" in body and b"\r\n" in body
    assert b"".join(csv_chunks(table("x"))) == csv_bytes(table("x"))


def test_negative_amounts_stay_numbers() -> None:
    t = Table("n", "n", (Column("Importo", "cents"),), ((-150,),))
    assert csv_bytes(t).decode("utf-8-sig").splitlines()[1] == "-1,50"


def test_xlsx_has_numbers_dates_and_neutralised_text() -> None:
    body = xlsx_bytes([table("Nicolò Rossi", *DANGEROUS)])
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    assert sheet.title == "Prova  dati  1"  # characters Excel refuses in a sheet name
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Nominativo", "Importo", "Posizioni", "Il", "Alle")
    name, amount, count, day, moment = rows[1]
    assert name == "Nicolò Rossi" and count == 0
    assert Decimal(str(amount)) == Decimal("1234.56")
    assert day.date() == date(2026, 3, 4)  # type: ignore[union-attr]
    assert moment == datetime(2026, 3, 5, 0, 30)
    assert [r[0] for r in rows[2:]] == ["'" + t for t in DANGEROUS]
    for cell in sheet["A"]:
        assert cell.data_type != "f"
    assert sheet["B2"].number_format == "#,##0.00"


def test_html_cells_show_euro_and_the_text_as_typed() -> None:
    shown = display_rows(table("=1+1"))
    assert shown[0][:3] == ["=1+1", "€ 1.234,56", "0"]
    assert display_rows(table("'già"))[0][0] == "'già"
