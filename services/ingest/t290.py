"""The "tracciato 290": fixed-width minuta di ruolo, every record 290 characters (domain.md §6).

The official Agenzia Entrate-Riscossione layout was not available; the offsets below follow the
field list and widths seen in public code (record type in chars 1-2; N0 file header, N1 minuta
header, N2 partita = debtor, N3 co-obligor, N4 tax line, N5 minuta totals, N9 trailer). Each N4
becomes one credit row, in the same cells as a delimited file mapped with `MAPPING`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from services.ingest.domain import UnreadableFile
from services.ingest.domain_mapping import ColumnMapping
from services.kernel.money import format_euro

RECORD_LENGTH = 290
RECORD_TYPES = ("N0", "N1", "N2", "N3", "N4", "N5", "N9")
# name -> (start, length), 0-based.
N2_FIELDS = {
    "partita": (2, 9),
    "fiscal_code": (11, 16),
    "street": (27, 30),
    "number": (57, 5),
    "letter": (62, 2),
    "postcode": (70, 5),
    "belfiore": (75, 4),
    "city": (79, 21),
    "kind": (170, 1),
    "surname": (171, 24),
    "first_name": (195, 20),
    "company": (171, 76),
}
N4_FIELDS = {
    "partita": (2, 9),
    "year": (11, 4),
    "tax_code": (15, 4),
    "taxable": (19, 13),
    "tax_cents": (32, 13),
    "interest_from": (45, 8),
    "title": (53, 12),
    "act_date": (65, 8),
}
N5_FIELDS = {"n2": (2, 7), "n3": (9, 7), "n4": (16, 7), "total_cents": (23, 15)}
N5_LABELS = {
    "n2": "record N2 (partite)",
    "n3": "record N3 (coobbligati)",
    "n4": "record N4 (righe di tributo)",
}
NUMERIC = frozenset(("partita", "taxable", "tax_cents", "n2", "n3", "n4", "total_cents"))
# Codici tributo F24 of the usual local revenues (the text names are accepted as well).
TAX_CODES = {
    **dict.fromkeys(("3912", "3913", "3914", "3916", "3918", "3923", "3924", "3925", "3930"), "IMU"),
    **dict.fromkeys(("3944", "3945", "3946", "3950", "3951", "3952"), "TARI"),
}
CELLS = ("taxpayer", "name", "revenue_type", "year", "act_number", "amount", "address", "postcode", "city")
CELL_LABELS = (
    "Codice fiscale",
    "Nominativo",
    "Tributo",
    "Anno",
    "Numero atto",
    "Importo",
    "Indirizzo",
    "CAP",
    "Comune",
    "Data atto",
)
MAPPING = ColumnMapping({**{name: i for i, name in enumerate(CELLS)}, "act_date": len(CELLS)})


def looks_like_290(first_line: bytes) -> bool:
    return len(first_line.rstrip(b"\r\n")) == RECORD_LENGTH and first_line.startswith(b"N0")


def field(record: str, layout: dict[str, tuple[int, int]], name: str) -> str:
    start, length = layout[name]
    return record[start : start + length].strip()


@dataclass
class _Totals:
    n2: int = 0
    n3: int = 0
    n4: int = 0
    cents: int = 0


def rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """One `(line, cells)` per N4 record; the structure is checked as the file streams by."""
    debtor: dict[str, str] | None = None
    totals = _Totals()
    for number, raw in enumerate(lines, start=1):
        record = raw.rstrip("\r\n")
        if not record.strip():
            continue
        kind = _check(record, number)
        if kind in ("N2", "N3"):
            totals.n2 += kind == "N2"
            totals.n3 += kind == "N3"
            if kind == "N2":
                debtor = {name: field(record, N2_FIELDS, name) for name in N2_FIELDS}
        elif kind == "N4":
            if debtor is None or field(record, N4_FIELDS, "partita") != debtor["partita"]:
                raise UnreadableFile(
                    f"Tracciato 290: il record N4 alla riga {number} non segue la sua partita N2."
                )
            totals.n4 += 1
            cells = _credit_cells(debtor, record)
            cents = field(record, N4_FIELDS, "tax_cents")
            totals.cents += int(cents) if cents.isdigit() else 0
            yield number, cells
        elif kind == "N5":
            _check_totals(record, number, totals)
            totals = _Totals()


def _check(record: str, number: int) -> str:
    if len(record) != RECORD_LENGTH:
        raise UnreadableFile(
            f"Tracciato 290: la riga {number} è lunga {len(record)} caratteri invece di {RECORD_LENGTH}."
        )
    kind = record[:2]
    if kind not in RECORD_TYPES:
        raise UnreadableFile(f"Tracciato 290: tipo di record «{kind}» sconosciuto alla riga {number}.")
    return kind


def _check_totals(record: str, number: int, totals: _Totals) -> None:
    declared = {name: field(record, N5_FIELDS, name) for name in N5_FIELDS}
    counted = {"n2": totals.n2, "n3": totals.n3, "n4": totals.n4, "total_cents": totals.cents}
    for name, value in counted.items():
        if not declared[name].isdigit() or int(declared[name]) != value:
            said = "vuoto" if not declared[name].strip() else declared[name].strip()
            if name == "total_cents":
                shown = format_euro(int(said)) if said.isdigit() else f"«{said}»"
                found = f"importo totale: dichiarato {shown}, calcolato {format_euro(value)}"
            else:
                found = f"{N5_LABELS[name]}: dichiarati {int(said) if said.isdigit() else '«' + said + '»'}, contati {value}"
            raise UnreadableFile(
                f"Tracciato 290: i totali del record N5 alla riga {number} non corrispondono ai record "
                f"della minuta ({found})."
            )


def _credit_cells(debtor: dict[str, str], record: str) -> list[str]:
    if debtor["kind"] == "G":
        name = debtor["company"]
    else:
        name = f"{debtor['surname']} {debtor['first_name']}".strip()
    code = field(record, N4_FIELDS, "tax_code")
    cents = field(record, N4_FIELDS, "tax_cents")
    amount = f"{int(cents) // 100}.{int(cents) % 100:02d}" if cents.isdigit() else cents
    act_date = field(record, N4_FIELDS, "act_date")
    street = " ".join(p for p in (debtor["street"], debtor["number"], debtor["letter"]) if p)
    return [
        debtor["fiscal_code"],
        name,
        TAX_CODES.get(code, code),
        field(record, N4_FIELDS, "year"),
        field(record, N4_FIELDS, "title"),
        amount,
        street,
        debtor["postcode"],
        debtor["city"],
        f"{act_date[:4]}-{act_date[4:6]}-{act_date[6:]}" if len(act_date) == 8 else act_date,
    ]


def record(kind: str, values: dict[str, str], layout: dict[str, tuple[int, int]] | None = None) -> str:
    """One fixed-width record (used to write test files and examples)."""
    chars = list(kind + " " * (RECORD_LENGTH - 2))
    for name, value in values.items():
        start, length = (layout or {})[name]
        text = value.rjust(length, "0") if name in NUMERIC else value
        chars[start : start + length] = list(text[:length].ljust(length))
    return "".join(chars)
