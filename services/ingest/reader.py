"""File formats: turn a stored upload (delimited text, XLSX or tracciato 290) into `(line, cells)` rows.

Everything streams: text goes line by line (each line length-limited) through the csv module,
XLSX through openpyxl's read-only mode after the zip directory has been checked against zip
bombs, so memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO

from services.ingest import t290
from services.ingest.domain import UnreadableFile
from services.ingest.domain_mapping import HEADER_SEARCH_LINES, ColumnMapping, find_header, propose_mapping
from services.ingest.domain_verdicts import Report, validate

DELIMITERS = (";", ",", "\t")
SAMPLE_BYTES = 256 * 1024
CHUNK = 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
# Encodings a user may choose; detection picks among the same ones.
ENCODINGS = {"utf-8": "utf-8-sig", "windows-1252": "cp1252", "iso-8859-1": "latin-1"}
ENCODING_LABELS = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252", "latin-1": "ISO-8859-1"}
UNSUPPORTED_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
CONTROL_BYTES = frozenset(range(32)) - {9, 10, 12, 13}


@dataclass(frozen=True)
class Limits:
    max_line_chars: int = 64 * 1024
    xlsx_max_expanded: int = 1024 * 1024 * 1024
    xlsx_max_ratio: int = 200
    xlsx_max_entries: int = 2000
    xlsx_ratio_floor: int = 1024 * 1024  # small entries may compress very well


DEFAULT_LIMITS = Limits()
csv.field_size_limit(DEFAULT_LIMITS.max_line_chars * 2)


@dataclass
class Source:
    """A readable file: its kind and the settings needed to read its rows again from the start."""

    path: Path
    kind: str  # "csv", "xlsx" or "t290"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    limits: Limits = DEFAULT_LIMITS

    @property
    def fixed_mapping(self) -> ColumnMapping | None:
        return t290.MAPPING if self.kind == "t290" else None

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding or "", "")

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        if self.kind == "xlsx":
            yield from xlsx_rows(self.path, self.sheet)
            return
        with self._lines() as lines:
            if self.kind == "t290":
                yield from t290.rows(lines)
            else:
                yield from csv_rows(lines, self.delimiter or ";")

    def csv_items(self) -> Iterator[tuple[int, str | list[str]]]:
        """The rows of a delimited file as `rows` gives them, except that a row on one line without a
        quote or a NUL comes as its text without the line end (`csv_items`)."""
        with self._lines() as lines:
            yield from csv_items(lines, self.delimiter or ";")

    @contextlib.contextmanager
    def _lines(self) -> Iterator[Iterator[str]]:
        with self.path.open(encoding=self.encoding, newline="") as text:
            try:
                yield limited_lines(text, self.limits.max_line_chars)
            except UnicodeDecodeError as exc:
                others = [e for e in ("UTF-8", "Windows-1252", "ISO-8859-1") if e != self.encoding_label]
                raise UnreadableFile(
                    f"Il file non è leggibile con la codifica {self.encoding_label}: scegliere un'altra "
                    f"codifica al caricamento ({' o '.join(others)})."
                ) from exc
            except csv.Error as exc:
                raise UnreadableFile(f"Il file CSV non è leggibile: {exc}.") from exc

    def head(self, count: int = HEADER_SEARCH_LINES) -> list[tuple[int, list[str]]]:
        return list(itertools.islice(self.rows(), count))


def open_source(
    path: Path,
    encoding: str | None = None,
    sheet: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    filename: str = "",
) -> Source:
    """Recognise the file's format; raises UnreadableFile (Italian) for what cannot be a credit list.
    `filename`: the name it was uploaded with (a «.xlsx» that is not a workbook is said as such)."""
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFile("Il file è vuoto.")
    with path.open("rb") as handle:
        start = handle.read(SAMPLE_BYTES)
    refuse_other_format(start)
    if start.startswith(ZIP_MAGIC):
        check_zip(path, limits)
        return Source(path, "xlsx", sheet=sheet, sheets=xlsx_sheets(path), limits=limits)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise UnreadableFile(
            "Il file ha l'estensione di un foglio Excel ma non lo è: forse è danneggiato o è stato"
            " rinominato. Salvalo di nuovo da Excel come .xlsx, oppure come CSV."
        )
    check_text(start)
    chosen = ENCODINGS[encoding] if encoding else detect_encoding(path)
    if chosen != "utf-8-sig":
        check_not_utf8(path, start, chosen)
    if t290.looks_like_290(start.split(b"\n", 1)[0]):
        return Source(path, "t290", encoding=chosen, limits=limits)
    delimiter = sniff_delimiter(start, chosen)
    return Source(path, "csv", encoding=chosen, delimiter=delimiter, limits=limits)


# Files people pick by mistake, recognised by their first bytes: what each is, in Italian.
_OTHER_FORMATS = (
    (b"%PDF", "un documento PDF"),
    (b"\x89PNG", "un'immagine PNG"),
    (b"\xff\xd8\xff", "un'immagine JPEG"),
    (b"GIF8", "un'immagine GIF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "un file Excel 97-2003 (.xls) o Word (.doc)"),
    (b"Rar!", "un archivio RAR"),
    (b"7z\xbc\xaf", "un archivio 7-Zip"),
)


def refuse_other_format(start: bytes) -> None:
    """UnreadableFile when the file's first bytes say it is a document, an image or an archive
    that no credit list comes in."""
    for magic, what in _OTHER_FORMATS:
        if start.startswith(magic):
            raise UnreadableFile(
                f"Il file è {what}, non un elenco di crediti: carica un CSV, un foglio Excel (.xlsx) "
                "o un tracciato 290."
            )


def check_text(start: bytes) -> None:
    if start.startswith(UNSUPPORTED_BOMS):
        raise UnreadableFile(
            "Il file è in codifica UTF-16 o UTF-32, non supportata: salvarlo in UTF-8 o Windows-1252."
        )
    controls = sum(1 for b in start if b in CONTROL_BYTES)
    if b"\x00" in start or controls > len(start) // 100:
        raise UnreadableFile(
            "Il file non è un testo CSV né un foglio Excel: sembra un file binario (forse rinominato)."
        )


def check_not_utf8(path: Path, start: bytes, chosen: str) -> None:
    """A file in UTF-8 (its BOM, or accented letters written as UTF-8 writes them) read as another
    encoding would store every accented name garbled («NICOLÃ’»): refused, saying which to choose."""
    label = ENCODING_LABELS.get(chosen, chosen)
    if start.startswith(codecs.BOM_UTF8) or (not start.isascii() and _decodes(path, "utf-8-sig")):
        raise UnreadableFile(
            f"Il file è in UTF-8, non in {label}: letto così, le lettere accentate diventerebbero"
            " segni illeggibili (per esempio «Ã²» invece di «ò»). Caricalo di nuovo scegliendo UTF-8,"
            " o lasciando che la codifica sia riconosciuta."
        )


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else Windows-1252."""
    for encoding in ("utf-8-sig", "cp1252"):
        if _decodes(path, encoding):
            return encoding
    raise UnreadableFile(
        "Codifica del file non riconosciuta (né UTF-8 né Windows-1252): scegliere la codifica al "
        "caricamento, per esempio ISO-8859-1."
    )


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def sniff_delimiter(sample_bytes: bytes, encoding: str) -> str:
    """The separator among ; , tab under which a recognisable header appears in the first lines."""
    sample = sample_bytes.decode(encoding, errors="replace")
    lines = [line[:4096] for line in sample.splitlines(keepends=True)[:HEADER_SEARCH_LINES]]
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


def limited_lines(text: IO[str], max_chars: int) -> Iterator[str]:
    """Physical lines, refusing one longer than `max_chars` without reading it whole."""
    number = 0
    while line := text.readline(max_chars + 1):
        number += 1
        if len(line) > max_chars:
            raise UnreadableFile(
                f"La riga {number} del file supera la lunghezza massima di {max_chars // 1024} KB: "
                "il file non sembra un elenco di crediti."
            )
        yield line


def csv_items(lines: Iterator[str], delimiter: str) -> Iterator[tuple[int, str | list[str]]]:
    """`csv_rows`, except that a row on one line without a quote or a NUL comes as its text without
    the line end: the `csv` module would split that text exactly at each delimiter, which the
    caller can do for thousands of rows at once. Any other row is read by `csv` (which takes the
    further lines a quoted cell spans from `lines`)."""
    number = 0
    for line in lines:
        if '"' not in line and "\x00" not in line:
            number += 1
            yield number, line.rstrip("\r\n")
            continue
        reader = csv.reader(itertools.chain([line], lines), delimiter=delimiter)
        yield number + 1, next(reader)
        number += reader.line_num


def csv_rows(lines: Iterator[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line number on which each starts (a quoted cell may span lines)."""
    reader = csv.reader(lines, delimiter=delimiter)
    previous_end = 0
    for cells in reader:
        yield previous_end + 1, cells
        previous_end = reader.line_num


# ---------------------------------------------------------------- XLSX


def check_zip(path: Path, limits: Limits) -> None:
    """Refuse zip bombs from the zip directory alone, before anything is decompressed."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile("Il file non è un foglio Excel (.xlsx) leggibile.") from exc
    if len(entries) > limits.xlsx_max_entries:
        raise UnreadableFile("Il file Excel contiene troppi elementi: non viene aperto.")
    expanded = sum(e.file_size for e in entries)
    if expanded > limits.xlsx_max_expanded:
        raise UnreadableFile(
            f"Il file Excel decompresso occuperebbe {expanded // (1024 * 1024)} MB, oltre il limite di "
            f"{limits.xlsx_max_expanded // (1024 * 1024)} MB: non viene aperto."
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > limits.xlsx_ratio_floor and ratio > limits.xlsx_max_ratio:
            raise UnreadableFile(
                "Il file Excel ha un rapporto di compressione anomalo (possibile «zip bomb»): non viene aperto."
            )


def _workbook(handle: IO[bytes]):  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile("Il file non è un foglio Excel (.xlsx) leggibile.") from exc


def xlsx_sheets(path: Path) -> list[str]:
    with path.open("rb") as handle:
        workbook = _workbook(handle)
        try:
            return list(workbook.sheetnames)
        finally:
            workbook.close()


def xlsx_rows(path: Path, sheet: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """Rows of the chosen sheet (name or 1-based number; the first by default) as text."""
    # A file object, because the stored upload has no extension for openpyxl to check.
    with path.open("rb") as handle:
        workbook = _workbook(handle)
        try:
            worksheet = workbook[_sheet_name(list(workbook.sheetnames), sheet)]
            for line, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                yield line, [_cell_text(v) for v in values]
        finally:
            workbook.close()


def _sheet_name(names: list[str], wanted: str | None) -> str:
    if not wanted:
        return names[0]
    if wanted in names:
        return wanted
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    raise UnreadableFile(f"Il foglio «{wanted}» non esiste nel file. Fogli presenti: {', '.join(names)}.")


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


# ---------------------------------------------------------------- small files in memory


def parse_file(
    path: Path, current_year: int, encoding: str | None = None, sheet: str | None = None
) -> Report:
    """Header, mapping and verdict of every row, in memory (tests and small files)."""
    source = open_source(path, encoding, sheet)
    rows = source.rows()
    if source.fixed_mapping is not None:
        return validate(rows, source.fixed_mapping, 1, current_year)
    header_line, mapping = find_header(rows)
    return validate(rows, mapping, header_line, current_year)
