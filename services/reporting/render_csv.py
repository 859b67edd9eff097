"""The relazione di scarico as CSV: UTF-8 (with BOM, so spreadsheets read the accents), `;`
separated, Italian headers, euro as 1.234,56, one row per position, written as the lines stream,
each ending with what identifies the relazione (kind, period, version: `frame.csv_identity`)."""

from __future__ import annotations

import csv
from typing import BinaryIO

from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_frame as frame


class CsvRelazione:
    """Writes to a binary file; `close()` flushes without closing the file."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.identity: list[str] = []
        out.write("\ufeff".encode())

    def _flush(self, rows: list[list[str]]) -> None:
        text = _Text()
        csv.writer(text, delimiter=";", lineterminator="\r\n").writerows(rows)
        self.out.write("".join(text.parts).encode("utf-8"))

    def begin(self, header: frame.Header) -> None:
        """The table's headers; the rest of the relazione's header lives in the PDF and the XLSX."""
        self.identity = frame.csv_identity(header)
        self._flush([[*rel.COLUMNS, *frame.CSV_IDENTITY_COLUMNS]])

    def lines(self, lines: list[rel.Line]) -> None:
        identity = self.identity
        self._flush([rel.csv_cells(item) + identity for item in lines])

    def end(self, closing: frame.Closing) -> None:
        """Totals and the annex are in the PDF and the XLSX; the CSV stays one table."""

    def close(self) -> None:
        self.out.flush()

    def abort(self) -> None:
        """Nothing held open: the file is thrown away."""


class _Text:
    """The smallest file-like object `csv.writer` writes to."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)
