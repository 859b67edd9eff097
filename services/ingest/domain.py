"""Pure ingest rules: header detection, column mapping, cell validation and the verdict of each row.

Nothing here does I/O: the reader turns a file into `(line_number, cells)` pairs and these
functions decide what every row means. The rules mirror the ones stated for the sample files
(`shared/tools/gen_credits.py`): a credit is taxpayer + revenue type + year + act number + amount
still due; exact repeats are duplicates; same taxpayer/type/year/act with different amounts are
all conflicts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from stdnum.it import codicefiscale, iva

REVENUE_TYPES = ("IMU", "TARI", "CUP", "CDS", "ALTRO")
REVENUE_ALIASES = {
    **{t: t for t in REVENUE_TYPES},
    "CANONEUNICO": "CUP",
    "CANONEUNICOPATRIMONIALE": "CUP",
    "CODICEDELLASTRADA": "CDS",
    "SANZIONICDS": "CDS",
}
MIN_YEAR = 2000
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
}
REQUIRED = ("taxpayer", "revenue_type", "year", "act_number")
FIELD_LABELS = {
    "taxpayer": "codice fiscale / partita IVA",
    "revenue_type": "tipo di entrata",
    "year": "anno di riferimento",
    "act_number": "numero atto",
    "amount": "importo residuo (o importo dovuto)",
}


class UnreadableFile(Exception):
    """The file as a whole cannot be read as a list of credits; `message` is Italian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------- header and mapping


def normalise_header(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds each logical field (first matching column wins)."""

    columns: dict[str, int]

    def cell(self, cells: Sequence[str], name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()

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
        labels = ", ".join(FIELD_LABELS[f] for f in best.missing())
        raise UnreadableFile(f"Intestazione incompleta: mancano le colonne {labels}.")
    raise UnreadableFile(
        "Intestazione non trovata: servono le colonne codice fiscale, tributo, anno, numero atto e importo."
    )


# ---------------------------------------------------------------- cell rules


class CellError(ValueError):
    """One cell breaks a rule: `reason` is the report key, the message is Italian."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


_IT_AMOUNT = re.compile(r"^(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?$")
_PLAIN_AMOUNT = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$")
_MAX_DIGITS = 13


def parse_amount(text: str, allow_zero: bool = False) -> int:
    """Italian ("€ 1.234,56") or plain ("1234.56") euro amount -> cents; positive, ≤ 2 decimals."""
    compact = re.sub(r"\s|€|EUR", "", text.upper())
    if not compact:
        raise CellError("amount", "Importo mancante.")
    if compact.startswith("-") or (compact.startswith("(") and compact.endswith(")")):
        raise CellError("amount", f"Importo negativo: «{text.strip()}».")
    compact = compact.removeprefix("+")
    match = _IT_AMOUNT.match(compact)
    separator = "."
    if match is None:
        match = _PLAIN_AMOUNT.match(compact)
        separator = ","
    if match is None:
        raise CellError("amount", f"Importo non leggibile: «{text.strip()}».")
    whole, decimals = match.group(1).replace(separator, ""), match.group(2) or ""
    if len(decimals) > 2:
        raise CellError("amount", f"Importo con più di due decimali: «{text.strip()}».")
    if len(whole.lstrip("0")) > _MAX_DIGITS:
        raise CellError("amount", f"Importo fuori scala: «{text.strip()}».")
    try:
        cents = int(Decimal(f"{whole}.{decimals or '0'}") * 100)
    except InvalidOperation as exc:  # pragma: no cover - the regexes only let digits through
        raise CellError("amount", f"Importo non leggibile: «{text.strip()}».") from exc
    if cents == 0 and not allow_zero:
        raise CellError("amount", "Importo pari a zero.")
    return cents


def normalise_revenue_type(text: str) -> str:
    key = re.sub(r"[\s.]", "", text.upper())
    revenue_type = REVENUE_ALIASES.get(key)
    if revenue_type is None:
        shown = text.strip() or "vuoto"
        raise CellError(
            "revenue_type",
            f"Tipo di entrata non riconosciuto: «{shown}» (ammessi IMU, TARI, CUP, CDS, ALTRO).",
        )
    return revenue_type


def parse_year(text: str, current_year: int) -> int:
    value = text.strip()
    if value.endswith(".0"):
        value = value[:-2]
    if not value.isdigit() or len(value) != 4:
        raise CellError("year", f"Anno di riferimento non valido: «{text.strip()}».")
    year = int(value)
    if not MIN_YEAR <= year <= current_year:
        raise CellError(
            "year", f"Anno di riferimento {year} fuori dall'intervallo {MIN_YEAR}–{current_year}."
        )
    return year


def normalise_fiscal_code(text: str) -> str:
    return re.sub(r"\s", "", text).upper()


def parse_taxpayer(text: str) -> str:
    """Codice fiscale (16 characters, omocodic allowed) or partita IVA (11 digits), normalised."""
    code = normalise_fiscal_code(text)
    if not code:
        raise CellError("taxpayer", "Codice fiscale o partita IVA mancante.")
    if len(code) == 16 and code.isalnum() and codicefiscale.is_valid(code):
        return code
    if len(code) == 11 and code.isdigit() and iva.is_valid(code):
        return code
    raise CellError("taxpayer", f"Codice fiscale o partita IVA non valido: «{code}».")


def parse_act_number(text: str) -> str:
    act = " ".join(text.split())
    if not act:
        raise CellError("act_number", "Numero atto mancante.")
    if len(act) > 100:
        raise CellError("act_number", "Numero atto troppo lungo.")
    return act


# ---------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class Credit:
    fiscal_code: str
    name: str
    revenue_type: str
    year: int
    act_number: str
    amount_cents: int

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.fiscal_code, self.revenue_type, self.year, self.act_number)


@dataclass(frozen=True)
class Rejection:
    field: str
    reason: str
    message: str


def debtor_name(cells: Sequence[str], mapping: ColumnMapping) -> str:
    name = mapping.cell(cells, "name") or mapping.cell(cells, "company")
    if not name:
        name = " ".join(p for p in (mapping.cell(cells, "surname"), mapping.cell(cells, "first_name")) if p)
    return " ".join(name.split())[:300]


def amount_due(cells: Sequence[str], mapping: ColumnMapping) -> int:
    if "amount" in mapping.columns:
        return parse_amount(mapping.cell(cells, "amount"))
    due = parse_amount(mapping.cell(cells, "amount_due"))
    paid_text = mapping.cell(cells, "amount_paid")
    paid = parse_amount(paid_text, allow_zero=True) if paid_text else 0
    if due - paid <= 0:
        raise CellError("nothing_due", "Nessun importo residuo da riscuotere (dovuto già versato).")
    return due - paid


def parse_row(cells: Sequence[str], mapping: ColumnMapping, current_year: int) -> Credit | Rejection:
    field_name = "taxpayer"
    try:
        fiscal_code = parse_taxpayer(mapping.cell(cells, "taxpayer"))
        field_name = "revenue_type"
        revenue_type = normalise_revenue_type(mapping.cell(cells, "revenue_type"))
        field_name = "year"
        year = parse_year(mapping.cell(cells, "year"), current_year)
        field_name = "act_number"
        act = parse_act_number(mapping.cell(cells, "act_number"))
        field_name = "amount"
        amount = amount_due(cells, mapping)
    except CellError as err:
        return Rejection(field_name, err.reason, err.message)
    return Credit(fiscal_code, debtor_name(cells, mapping), revenue_type, year, act, amount)


def is_blank(cells: Sequence[str]) -> bool:
    return all(not c.strip() for c in cells)


def is_totals(cells: Sequence[str], mapping: ColumnMapping) -> bool:
    """A summary line ("TOTALE", "Totale generale") without a taxpayer is not a credit."""
    if mapping.cell(cells, "taxpayer"):
        return False
    return any(normalise_header(c).startswith("total") for c in cells)


@dataclass(slots=True)
class RowVerdict:
    row_number: int
    line_number: int
    verdict: str
    field: str | None = None
    reason_it: str | None = None
    credit: Credit | None = None


@dataclass
class Report:
    header_line: int
    verdicts: list[RowVerdict] = field(default_factory=list)

    @property
    def data_rows(self) -> int:
        return len(self.verdicts)

    @property
    def accepted_credits(self) -> list[Credit]:
        return [v.credit for v in self.verdicts if v.verdict == "accepted" and v.credit is not None]

    def count(self, verdict: str) -> int:
        return sum(1 for v in self.verdicts if v.verdict == verdict)

    @property
    def accepted_total_cents(self) -> int:
        return sum(c.amount_cents for c in self.accepted_credits)

    @property
    def rejected(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for v in self.verdicts:
            if v.verdict.startswith("rejected:"):
                reason = v.verdict.split(":", 1)[1]
                counts[reason] = counts.get(reason, 0) + 1
        return counts


def validate(
    rows: Iterable[tuple[int, list[str]]], mapping: ColumnMapping, header_line: int, current_year: int
) -> Report:
    """Verdict of every data row after the header; conflicts are settled once all rows are seen."""
    report = Report(header_line)
    seen_exact: set[tuple[str, str, int, str, int]] = set()
    by_key: dict[tuple[str, str, int, str], list[RowVerdict]] = {}
    pending_totals: list[tuple[int, list[str]]] = []
    for line, cells in rows:
        if is_blank(cells):
            continue
        if is_totals(cells, mapping):
            pending_totals.append((line, cells))
            continue
        # A "totals" lookalike followed by more data was a data row after all.
        for t_line, t_cells in pending_totals:
            _judge(report, t_line, t_cells, mapping, current_year, seen_exact, by_key)
        pending_totals.clear()
        _judge(report, line, cells, mapping, current_year, seen_exact, by_key)
    for group in by_key.values():
        if len({v.credit.amount_cents for v in group if v.credit}) > 1:
            for v in group:
                v.verdict, v.field = "conflict", "amount"
                v.reason_it = (
                    "Stesso contribuente, entrata, anno e atto con importi diversi: posizione sospesa."
                )
    return report


def _judge(
    report: Report,
    line: int,
    cells: list[str],
    mapping: ColumnMapping,
    current_year: int,
    seen_exact: set[tuple[str, str, int, str, int]],
    by_key: dict[tuple[str, str, int, str], list[RowVerdict]],
) -> None:
    row_number = report.data_rows + 1
    outcome = parse_row(cells, mapping, current_year)
    if isinstance(outcome, Rejection):
        verdict = RowVerdict(row_number, line, f"rejected:{outcome.reason}", outcome.field, outcome.message)
    elif (*outcome.key, outcome.amount_cents) in seen_exact:
        verdict = RowVerdict(row_number, line, "duplicate", None, "Riga identica a una precedente.", outcome)
    else:
        seen_exact.add((*outcome.key, outcome.amount_cents))
        verdict = RowVerdict(row_number, line, "accepted", credit=outcome)
        by_key.setdefault(outcome.key, []).append(verdict)
    report.verdicts.append(verdict)
