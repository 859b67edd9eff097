"""Pure rules of tracing: a tracing provider's file, its rows, and an operator's manual entry."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from services.ingest.domain import CellError, UnreadableFile, normalise_header, parse_date, parse_taxpayer
from services.ingest.domain_contacts import ContactDatum, normalise_contact, parse_confidence
from services.ingest.domain_mapping import ColumnMapping, row_values
from services.kernel.errors import DomainError

TRACING_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(("codicefiscale", "cf", "codfiscale", "cfpiva", "partitaiva", "piva"), "taxpayer"),
    **dict.fromkeys(("telefono", "tel", "cellulare", "cell", "recapitotelefonico"), "phone"),
    **dict.fromkeys(("indirizzo", "residenza", "indirizzodiresidenza", "domicilio"), "address"),
    **dict.fromkeys(("pec", "emailpec", "indirizzopec"), "pec"),
    **dict.fromkeys(("email", "mail", "posta"), "email"),
    **dict.fromkeys(("fonte", "source", "provider", "origine"), "source"),
    **dict.fromkeys(
        ("data", "datareperimento", "datarilevazione", "datatrovato", "datafound", "datarintraccio"),
        "found_on",
    ),
    **dict.fromkeys(("affidabilita", "confidenza", "confidence", "punteggio"), "confidence"),
}
TRACING_REQUIRED = ("taxpayer", "source", "found_on")
MAX_TRACING_ROWS = 50_000
# An operator's manual entry: who found the datum when the form does not say, and how much it is trusted.
MANUAL_FIELDS = ("kind", "value", "source", "found_on", "confidence")
MANUAL_SOURCE = "operatore"
MANUAL_CONFIDENCE = 80


@dataclass(frozen=True, slots=True)
class TracedContacts:
    fiscal_code: str
    contacts: tuple[ContactDatum, ...]
    source: str
    found_on: date
    confidence: int


def tracing_mapping(header: Sequence[str]) -> ColumnMapping:
    columns: dict[str, int] = {}
    for index, text in enumerate(header):
        name = TRACING_SYNONYMS.get(normalise_header(text))
        if name is not None and name not in columns:
            columns[name] = index
    missing = [f for f in TRACING_REQUIRED if f not in columns]
    if missing or not {"phone", "address", "pec", "email"} & columns.keys():
        raise UnreadableFile(
            "Il file di rintraccio deve avere le colonne codice fiscale, fonte, data e almeno una tra "
            "telefono, indirizzo, PEC ed e-mail."
        )
    return ColumnMapping(columns)


def parse_traced(values: dict[str, str], today: date, default_confidence: int = 70) -> TracedContacts:
    """One row of a tracing provider's file; CellError (Italian) for what cannot be used."""
    fiscal_code = parse_taxpayer(values.get("taxpayer", ""))
    source = " ".join(values.get("source", "").split())[:100]
    if not source:
        raise CellError("source", "Fonte del dato mancante.")
    found_on = parse_date(values.get("found_on", ""))
    if found_on is None or found_on > today:
        raise CellError("found_on", f"Data di reperimento non valida: «{values.get('found_on', '')}».")
    confidence = parse_confidence(values.get("confidence", ""), default_confidence)
    found = [
        normalise_contact(kind, values[kind])
        for kind in ("phone", "pec", "email", "address")
        if values.get(kind)
    ]
    if not found:
        raise CellError("contacts", "Nessun recapito nella riga.")
    return TracedContacts(fiscal_code, tuple(found), source, found_on, confidence)


# ---------------------------------------------------------------- a tracing provider's file


@dataclass(frozen=True)
class TracingFile:
    """A tracing provider's file, read: how many rows it has, the usable ones and the others' errors
    (line, Italian reason)."""

    rows: int
    traced: list[tuple[int, TracedContacts]]
    errors: list[tuple[int, str]]


def read_tracing_file(data: bytes, today: date) -> TracingFile:
    """Every row of a tracing provider's CSV judged; UnreadableFile (Italian) when the file as a whole
    cannot be used (empty, not a CSV, too long, without the needed columns)."""
    header, rows = tracing_rows(data)
    mapping = tracing_mapping(header)
    errors: list[tuple[int, str]] = []
    traced: list[tuple[int, TracedContacts]] = []
    for line, cells in rows:
        try:
            traced.append((line, parse_traced(row_values(cells, mapping), today)))
        except CellError as exc:
            errors.append((line, exc.message))
    return TracingFile(len(rows), traced, errors)


def tracing_rows(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the rows with any text (line, cells) of a tracing provider's CSV."""
    if not data.strip():
        raise UnreadableFile("Il file del rintraccio è vuoto.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        rows = [(reader.line_num, cells) for cells in itertools.islice(reader, MAX_TRACING_ROWS + 1)]
    except csv.Error as exc:
        raise UnreadableFile(f"Il file del rintraccio non è un CSV leggibile: {exc}.") from exc
    if len(rows) > MAX_TRACING_ROWS:
        raise UnreadableFile(
            f"Il file del rintraccio supera {MAX_TRACING_ROWS} righe: dividerlo in più parti."
        )
    return header, [(n, c) for n, c in rows if any(x.strip() for x in c)]


# ---------------------------------------------------------------- an operator's manual entry


@dataclass(frozen=True)
class ManualContact:
    """A contact datum an operator entered for a debtor, with its provenance."""

    datum: ContactDatum
    source: str
    found_on: date
    confidence: int


def manual_contact(fields: Mapping[str, str], today: date) -> ManualContact:
    """An operator's entry as typed in the form (`MANUAL_FIELDS`); DomainError (Italian, with its
    field) when it cannot be used."""
    kind, found_on = fields["kind"], fields["found_on"]
    try:
        datum = normalise_contact(kind, fields["value"])
        confidence = parse_confidence(fields["confidence"], MANUAL_CONFIDENCE)
    except CellError as exc:
        raise DomainError(exc.message, field="value" if exc.reason == kind else exc.reason) from exc
    day = parse_date(found_on) if found_on else today
    if day is None:
        raise DomainError(
            f"Data di reperimento non leggibile: «{found_on}» (attesa gg/mm/aaaa).", field="found_on"
        )
    if day > today:
        raise DomainError(
            f"La data di reperimento non può essere successiva a oggi ({today:%d/%m/%Y}).", field="found_on"
        )
    source = " ".join(fields["source"].split())[:100] or MANUAL_SOURCE
    return ManualContact(datum, source, day, confidence)
