"""Pure rules of a file's header: which line it is, which column holds each field, a user's choice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from services.ingest.domain import UnreadableFile, normalise_header
from services.ingest.labels import MAPPABLE_FIELDS, REQUIRED_FIELD_LABELS

HEADER_SEARCH_LINES = 30

# Normalised header text (lower case, letters and digits only) -> logical field.
SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        (
            "codicefiscale",
            "codfiscale",
            "codfisc",
            "cf",
            "cfpiva",
            "cfpartitaiva",
            "codicefiscalepartitaiva",
            "codicefiscaleopartitaiva",
            "partitaiva",
            "piva",
            "cfpi",
        ),
        "taxpayer",
    ),
    **dict.fromkeys(("nominativo", "denominazione", "contribuente", "cognomenome", "debitore"), "name"),
    **dict.fromkeys(("ragionesociale", "ragsociale"), "company"),
    "cognome": "surname",
    "nome": "first_name",
    **dict.fromkeys(("tributo", "entrata", "tipoentrata", "tipotributo", "tipologiaentrata"), "revenue_type"),
    **dict.fromkeys(
        ("anno", "annoimposta", "annodiimposta", "annorif", "annoriferimento", "annocompetenza"), "year"
    ),
    **dict.fromkeys(
        (
            "numeroatto",
            "numatto",
            "natto",
            "nratto",
            "navviso",
            "numeroavviso",
            "numavviso",
            "nravviso",
            "atto",
            "avviso",
        ),
        "act_number",
    ),
    **dict.fromkeys(
        (
            "importo",
            "residuo",
            "importoresiduo",
            "importoresiduoeur",
            "importoresiduoeuro",
            "residuodapagare",
            "importoinsoluto",
            "importodapagare",
        ),
        "amount",
    ),
    **dict.fromkeys(("importodovuto", "dovuto", "totaledovuto"), "amount_due"),
    **dict.fromkeys(("importoversato", "versato", "totaleversato", "importopagato", "pagato"), "amount_paid"),
    **dict.fromkeys(
        ("telefono", "tel", "recapitotelefonico", "cellulare", "cell", "numeroditelefono"), "phone"
    ),
    **dict.fromkeys(("email", "mail", "pec", "indirizzoemail", "emailpec", "posta"), "email"),
    **dict.fromkeys(("indirizzo", "indirizzodiresidenza", "via", "residenza", "recapito"), "address"),
    "cap": "postcode",
    **dict.fromkeys(("comune", "citta", "localita", "comunediresidenza", "cittadiresidenza"), "city"),
    **dict.fromkeys(("prov", "provincia"), "province"),
    **dict.fromkeys(("datanotifica", "dataatto", "datanotificaatto", "dataemissione"), "act_date"),
    **dict.fromkeys(("scadenza", "datascadenza"), "due_date"),
}
REQUIRED = ("taxpayer", "revenue_type", "year", "act_number")
MIN_HEADER_COLUMNS = 5


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds each logical field (first matching column wins)."""

    columns: dict[str, int]

    def cell(self, cells: Sequence[str], name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(cells):
            return ""
        return trimmed(cells[index])

    @property
    def has_amount(self) -> bool:
        return "amount" in self.columns or "amount_due" in self.columns

    def missing(self) -> list[str]:
        missing = [f for f in REQUIRED if f not in self.columns]
        return missing if self.has_amount else [*missing, "amount"]


def propose_mapping(header: Sequence[str]) -> ColumnMapping:
    columns: dict[str, int] = {}
    for index, text in enumerate(header):
        name = SYNONYMS.get(normalise_header(text))
        if name is not None and name not in columns:
            columns[name] = index
    return ColumnMapping(columns)


def ambiguous_fields(header: Sequence[str]) -> list[str]:
    """Required fields (and the amount) that more than one column could hold."""
    seen: dict[str, int] = {}
    for text in header:
        name = SYNONYMS.get(normalise_header(text))
        if name is not None:
            seen[name] = seen.get(name, 0) + 1
    keys = (*REQUIRED, "amount", "amount_due", "amount_paid")
    return [f for f in keys if seen.get(f, 0) > 1]


def header_signature(header: Sequence[str]) -> str:
    """The same header (ignoring case, spacing and punctuation) gives the same signature."""
    return "|".join(normalise_header(h) for h in header).rstrip("|")


def mapping_from_choices(choices: dict[int, str], width: int) -> ColumnMapping:
    """A user's choice (column index -> field) as a mapping; refuses a field chosen twice."""
    columns: dict[str, int] = {}
    for index, name in sorted(choices.items()):
        if not name:
            continue
        if name not in MAPPABLE_FIELDS or not 0 <= index < width:
            raise MappingError(f"Campo sconosciuto: «{name}».")
        if name in columns:
            raise MappingError(f"Il campo «{MAPPABLE_FIELDS[name]}» è associato a più colonne.")
        columns[name] = index
    mapping = ColumnMapping(columns)
    missing = mapping.missing()
    if missing:
        labels = ", ".join(REQUIRED_FIELD_LABELS[f] for f in missing)
        raise MappingError(f"Associa una colonna a ogni campo obbligatorio: mancano {labels}.")
    return mapping


class MappingError(ValueError):
    """A column mapping chosen by a user is not usable; the message is Italian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def header_candidate(rows: Sequence[tuple[int, list[str]]]) -> tuple[int, list[str]] | None:
    """The likeliest header among the first lines: most recognised columns, then most cells."""
    best: tuple[int, int, int, list[str]] | None = None
    for line, cells in rows:
        filled = sum(1 for c in cells if c.strip())
        if filled < 2:
            continue
        score = len(propose_mapping(cells).columns)
        if best is None or (score, filled) > (best[0], best[1]):
            best = (score, filled, line, cells)
    return None if best is None or best[0] == 0 else (best[2], best[3])


def find_header(
    rows: Iterator[tuple[int, list[str]]], limit: int = HEADER_SEARCH_LINES
) -> tuple[int, ColumnMapping]:
    """Consume title lines until the header; returns its line number and the mapping."""
    best: ColumnMapping | None = None
    for count, (line, cells) in enumerate(rows):
        mapping = propose_mapping(cells)
        if not mapping.missing():
            return line, mapping
        if best is None or len(mapping.columns) > len(best.columns):
            best = mapping
        if count + 1 >= limit:
            break
    if best is not None and len(best.columns) >= 2:
        labels = ", ".join(REQUIRED_FIELD_LABELS[f] for f in best.missing())
        raise UnreadableFile(f"Intestazione incompleta: mancano le colonne {labels}.")
    raise UnreadableFile(
        "Intestazione non trovata: servono le colonne codice fiscale, tributo, anno, numero atto e importo."
    )


# A spreadsheet's text marker: the apostrophe our own reports put before a value a spreadsheet would
# run (`kernel.cells.neutralise`), or one a clerk typed to keep «0123» as written. A value read is
# trimmed of it (`trimmed`; `columnar._trimmed` in the column rules), so a report fixed and loaded
# again reads as the clerk sees it: «'-1773,50» is a negative amount, «'+39 345…» a phone.
TEXT_MARKER = "'"


def trimmed(cell: str) -> str:
    """A cell's text without the spaces around it and a spreadsheet's text marker before it."""
    return cell.strip().removeprefix(TEXT_MARKER).strip()


def row_values(cells: Sequence[str], mapping: ColumnMapping) -> dict[str, str]:
    """The trimmed text of every mapped field of one row (read once, used by every rule)."""
    width = len(cells)
    return {name: trimmed(cells[i]) if i < width else "" for name, i in mapping.columns.items()}
