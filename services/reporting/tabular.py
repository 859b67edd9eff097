"""Tables the Comune downloads, as CSV and XLSX, and shown as HTML with the same figures.

CSV: UTF-8 with a byte-order mark and `;` (what Excel in Italian opens with a double click), Italian
headers, euro amounts as `1.234,56`, dates as dd/mm/yyyy. XLSX: written by openpyxl in write-only
mode, amounts as numbers (Decimal, never float) formatted to two decimals. In both, a text cell a
spreadsheet would take for a formula (starting with = + - @, a tab or a carriage return) gets a
leading apostrophe. Pure except `xlsx_bytes`, which builds the workbook in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.kernel.cells import neutralise
from services.kernel.formats import format_count
from services.kernel.money import format_euro
from services.reporting.domain import format_cents

ROME = ZoneInfo("Europe/Rome")
KINDS = ("text", "int", "cents", "percent", "date", "datetime")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_SHEET_TITLE = 31  # Excel's limit


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "cents", "percent")


@dataclass(frozen=True)
class Table:
    """A titled table: its columns and rows of plain values (cents as int, dates as date)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[object, ...], ...]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


def _text_cell(value: object, kind: str) -> str:
    """A value as it is written in the CSV (and shown in HTML, but for the euro sign)."""
    if value is None:
        return ""
    if kind == "cents" and isinstance(value, int):
        return format_cents(value)
    if kind == "int" and isinstance(value, int):
        return str(value)
    if kind == "datetime" and isinstance(value, datetime):
        return value.astimezone(ROME).strftime("%d/%m/%Y %H:%M")
    if kind == "date" and isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return neutralise(str(value))


def display(value: object, kind: str) -> str:
    """A value as the HTML table shows it: euro with the symbol, the rest as in the CSV."""
    if kind == "cents" and isinstance(value, int):
        return format_euro(value)
    if kind == "int" and isinstance(value, int):
        return format_count(value)  # «1.168», as the page writes its other counts
    if kind in ("text", "percent"):
        return "" if value is None else str(value)  # HTML runs no formula; Jinja escapes it
    return _text_cell(value, kind)


def display_rows(table: Table) -> list[list[str]]:
    """Every row's cells as the HTML table shows them."""
    kinds = [c.kind for c in table.columns]
    return [[display(v, k) for v, k in zip(row, kinds, strict=True)] for row in table.rows]


def csv_chunks(table: Table) -> Iterator[bytes]:
    """The CSV, a chunk per row after the BOM and header (for a streaming response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def take() -> bytes:
        out = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return out

    writer.writerow([neutralise(h) for h in table.headers])
    yield "\ufeff".encode() + take()
    kinds = [c.kind for c in table.columns]
    for row in table.rows:
        writer.writerow([_text_cell(v, k) for v, k in zip(row, kinds, strict=True)])
        yield take()


def csv_bytes(table: Table) -> bytes:
    return b"".join(csv_chunks(table))


def _xlsx_value(value: object, kind: str) -> object:
    if value is None:
        return None
    if kind == "cents" and isinstance(value, int):
        return Decimal(value) / 100
    if kind == "int" and isinstance(value, int):
        return value
    if kind == "datetime" and isinstance(value, datetime):
        return value.astimezone(ROME).replace(tzinfo=None)  # Excel has no time zones
    if kind == "date" and isinstance(value, date):
        return value
    return neutralise(str(value))


NUMBER_FORMATS = {"cents": "#,##0.00", "date": "DD/MM/YYYY", "datetime": "DD/MM/YYYY HH:MM"}


def xlsx_bytes(tables: Iterable[Table]) -> bytes:
    """A workbook with a sheet per table (write-only: rows are not kept once written)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title))
        header = []
        for text in table.headers:
            cell = WriteOnlyCell(sheet, value=neutralise(text))
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in table.rows:
            sheet.append(_xlsx_row(sheet, row, table.columns, WriteOnlyCell))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_row(sheet: object, row: Sequence[object], columns: Sequence[Column], make: type) -> list[object]:
    cells = []
    for value, column in zip(row, columns, strict=True):
        cell = make(sheet, value=_xlsx_value(value, column.kind))
        if column.kind in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[column.kind]
        if isinstance(cell.value, str):
            cell.data_type = "s"  # never a formula, whatever the text
        cells.append(cell)
    return cells


def _sheet_title(title: str) -> str:
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip()
    return cleaned[:MAX_SHEET_TITLE] or "Dati"
