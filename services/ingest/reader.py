"""File formats: turn a stored upload (CSV in any usual dialect, or XLSX) into `(line, cells)` rows.

Reading streams: CSV goes through the csv module over a text wrapper, XLSX through openpyxl's
read-only mode, so memory does not grow with the file; only the verdicts are kept.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

from services.ingest.domain import (
    HEADER_SEARCH_LINES,
    ColumnMapping,
    Report,
    UnreadableFile,
    find_header,
    propose_mapping,
    validate,
)

DELIMITERS = (";", ",", "\t")
SAMPLE_BYTES = 256 * 1024
CHUNK = 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
csv.field_size_limit(1024 * 1024)


def parse_file(path: Path, current_year: int) -> Report:
    """Header, mapping and verdict of every row; raises UnreadableFile for a file that is not a list."""
    if path.stat().st_size == 0:
        raise UnreadableFile("Il file è vuoto.")
    if _looks_like_zip(path):
        return _parse_rows(lambda: xlsx_rows(path), current_year)
    encoding = detect_encoding(path)
    delimiter = sniff_delimiter(path, encoding)
    return _parse_rows(lambda: csv_rows(path, encoding, delimiter), current_year)


def _looks_like_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == ZIP_MAGIC


def _parse_rows(open_rows: Callable[[], Iterator[tuple[int, list[str]]]], current_year: int) -> Report:
    rows = open_rows()
    try:
        header_line, mapping = find_header(rows)
        return validate(rows, mapping, header_line, current_year)
    except UnicodeDecodeError as exc:
        raise UnreadableFile("Il file contiene caratteri non leggibili (codifica non riconosciuta).") from exc
    except csv.Error as exc:
        raise UnreadableFile(f"Il file CSV non è leggibile: {exc}.") from exc


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else Windows-1252."""
    with path.open("rb") as handle:
        if handle.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def sniff_delimiter(path: Path, encoding: str) -> str:
    """The separator among ; , tab under which a recognisable header appears in the first lines."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES).decode(encoding, errors="replace")
    lines = sample.splitlines(keepends=True)
    if len(sample) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]
    best, best_score = ";", -1
    for delimiter in DELIMITERS:
        score = _header_score(lines, delimiter)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _header_score(lines: list[str], delimiter: str) -> int:
    try:
        rows = list(itertools.islice(csv.reader(lines, delimiter=delimiter), HEADER_SEARCH_LINES))
    except csv.Error:
        return -1
    scores = [_mapping_score(propose_mapping(r)) for r in rows]
    return max(scores, default=0)


def _mapping_score(mapping: ColumnMapping) -> int:
    return len(mapping.columns) + (10 if not mapping.missing() else 0)


def csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line number on which each starts (a quoted cell may span lines)."""
    with path.open(encoding=encoding, newline="") as text:
        reader = csv.reader(text, delimiter=delimiter)
        previous_end = 0
        for cells in reader:
            yield previous_end + 1, cells
            previous_end = reader.line_num


def xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Rows of the first sheet as text; numbers keep their plain value ("1234.5", "2023")."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A file object, because the stored upload has no extension for openpyxl to check.
    with path.open("rb") as handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise UnreadableFile("Il file non è un foglio Excel (.xlsx) leggibile.") from exc
        try:
            sheet = workbook.worksheets[0]
            for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield line, [_cell_text(v) for v in values]
        finally:
            workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
