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
from datetime import date
from decimal import Decimal, InvalidOperation

import phonenumbers
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
FIELD_LABELS = {
    "taxpayer": "codice fiscale / partita IVA",
    "revenue_type": "tipo di entrata",
    "year": "anno di riferimento",
    "act_number": "numero atto",
    "amount": "importo residuo (o importo dovuto)",
}
# Every field a user may assign a column to, with its Italian label (the mapping form offers these).
MAPPABLE_FIELDS = {
    "taxpayer": "Codice fiscale / partita IVA",
    "name": "Nominativo",
    "surname": "Cognome",
    "first_name": "Nome",
    "company": "Ragione sociale",
    "revenue_type": "Tipo di entrata",
    "year": "Anno di riferimento",
    "act_number": "Numero atto",
    "amount": "Importo residuo",
    "amount_due": "Importo dovuto",
    "amount_paid": "Importo versato",
    "phone": "Telefono",
    "email": "E-mail / PEC",
    "address": "Indirizzo",
    "postcode": "CAP",
    "city": "Comune / città",
    "province": "Provincia",
    "act_date": "Data notifica atto",
    "due_date": "Data scadenza",
}
MIN_HEADER_COLUMNS = 5


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
        labels = ", ".join(FIELD_LABELS[f] for f in missing)
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
    # ASCII digits only: str.isdigit() also admits "²" and other digits int() refuses.
    if not (len(value) == 4 and value.isascii() and value.isdigit()):
        raise CellError("year", f"Anno di riferimento non valido: «{text.strip()}».")
    year = int(value)
    if not MIN_YEAR <= year <= current_year:
        raise CellError(
            "year", f"Anno di riferimento {year} fuori dall'intervallo {MIN_YEAR}–{current_year}."
        )
    return year


def normalise_fiscal_code(text: str) -> str:
    return "".join(text.split()).upper()


_CF = re.compile(r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$")
_CF_DIGITS = {**{str(n): n for n in range(10)}, **{c: n for n, c in enumerate("LMNPQRSTUV")}}
_CF_MONTHS = {c: n + 1 for n, c in enumerate("ABCDEHLMPRST")}


def is_valid_codice_fiscale(code: str) -> bool:
    """python-stdnum's rules (format, check character, omocodia, birth date) on a normalised code.

    stdnum's own `is_valid` first re-cleans its input, which costs more than the check itself
    at a million rows; the check character still comes from stdnum.
    """
    if not _CF.match(code) or codicefiscale.calc_check_digit(code[:15]) != code[15]:
        return False
    day = (_CF_DIGITS[code[9]] * 10 + _CF_DIGITS[code[10]]) % 40
    two_digits = _CF_DIGITS[code[6]] * 10 + _CF_DIGITS[code[7]]
    try:
        date((1900 if two_digits >= 20 else 2000) + two_digits, _CF_MONTHS[code[8]], day)
    except ValueError:
        return False
    return True


def parse_taxpayer(text: str) -> str:
    """Codice fiscale (16 characters, omocodic allowed) or partita IVA (11 digits), normalised."""
    code = normalise_fiscal_code(text)
    if not code:
        raise CellError("taxpayer", "Codice fiscale o partita IVA mancante.")
    if len(code) == 16 and is_valid_codice_fiscale(code):
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


def row_values(cells: Sequence[str], mapping: ColumnMapping) -> dict[str, str]:
    """The trimmed text of every mapped field of one row (read once, used by every rule)."""
    width = len(cells)
    return {name: cells[i].strip() if i < width else "" for name, i in mapping.columns.items()}


def debtor_name(values: dict[str, str]) -> str:
    name = values.get("name") or values.get("company")
    if not name:
        name = " ".join(p for p in (values.get("surname"), values.get("first_name")) if p)
    return " ".join(name.split())[:300]


def amount_due(values: dict[str, str]) -> int:
    if "amount" in values:
        return parse_amount(values["amount"])
    due = parse_amount(values.get("amount_due", ""))
    paid_text = values.get("amount_paid", "")
    paid = parse_amount(paid_text, allow_zero=True) if paid_text else 0
    if due - paid <= 0:
        raise CellError("nothing_due", "Nessun importo residuo da riscuotere (dovuto già versato).")
    return due - paid


def parse_row(cells: Sequence[str], mapping: ColumnMapping, current_year: int) -> Credit | Rejection:
    return parse_values(row_values(cells, mapping), current_year)


def parse_values(values: dict[str, str], current_year: int) -> Credit | Rejection:
    field_name = "taxpayer"
    try:
        fiscal_code = parse_taxpayer(values.get("taxpayer", ""))
        field_name = "revenue_type"
        revenue_type = normalise_revenue_type(values.get("revenue_type", ""))
        field_name = "year"
        year = parse_year(values.get("year", ""), current_year)
        field_name = "act_number"
        act = parse_act_number(values.get("act_number", ""))
        field_name = "amount"
        amount = amount_due(values)
    except CellError as err:
        return Rejection(field_name, err.reason, err.message)
    return Credit(fiscal_code, debtor_name(values), revenue_type, year, act, amount)


def is_blank(cells: Sequence[str]) -> bool:
    return all(not c.strip() for c in cells)


def is_totals(cells: Sequence[str], mapping: ColumnMapping) -> bool:
    """A summary line ("TOTALE", "Totale generale"), with no taxpayer or with the word in the
    taxpayer's column, is not a credit."""
    taxpayer = mapping.cell(cells, "taxpayer")
    if taxpayer and not normalise_header(taxpayer).startswith("total"):
        return False
    return any(normalise_header(c).startswith("total") for c in cells)


# ---------------------------------------------------------------- contacts and warnings

_PHONE_JUNK = re.compile(r"[\s./()-]")
# ASCII digits: `\d` would let "３３３…" through as an E.164 number.
_MOBILE = re.compile(r"^(?:\+39|0039)?(3[0-9]{8,9})$")
_LANDLINE = re.compile(r"^(?:\+39|0039)?(0[0-9]{5,10})$")  # Italian fixed lines: 6 to 11 digits from 0
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_DATE_IT = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LIMITATION_YEARS = 5
TEXT_FIELDS = ("name", "surname", "first_name", "company", "address", "city", "act_number", "email")
ADDRESS_FIELDS = ("address", "postcode", "city")


def normalise_phone(text: str) -> str | None:
    """E.164 form of an Italian (or international) number, None when it is not a usable number."""
    compact = _PHONE_JUNK.sub("", text)
    if not compact:
        return None
    mobile = _MOBILE.match(compact) or _LANDLINE.match(compact)
    if mobile:
        return "+39" + mobile.group(1)
    if not any(c.isdigit() for c in compact):
        return None
    try:
        number = phonenumbers.parse(compact, "IT")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(text: str) -> str | None:
    email = text.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        return None
    return email


def parse_date(text: str) -> date | None:
    """dd/mm/yyyy (also with - or .) or ISO yyyy-mm-dd; None when absent or not a date."""
    value = text.strip()
    found = _DATE_IT.match(value)
    try:
        if found:
            return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        found = _DATE_ISO.match(value)
        if found:
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None
    return None


def is_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def neutralise(text: str) -> str:
    """Text safe to open in a spreadsheet: a leading formula character is escaped with a quote."""
    return "'" + text if is_formula(text) else text


def limitation_date(today: date) -> date:
    try:
        return today.replace(year=today.year - LIMITATION_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - LIMITATION_YEARS, day=28)


@dataclass(frozen=True, slots=True)
class Contacts:
    phone: str | None
    email: str | None
    address: str


def contacts_of(values: dict[str, str]) -> Contacts:
    parts = [values.get(f, "") for f in ("address", "postcode", "city", "province")]
    address = " ".join(" ".join(p for p in parts if p).split())
    phone = values.get("phone")
    email = values.get("email")
    return Contacts(
        normalise_phone(phone) if phone else None, normalise_email(email) if email else None, address[:300]
    )


def row_warnings(values: dict[str, str], contacts: Contacts, limit: date) -> list[tuple[str, str]]:
    """Accepted-but-flagged findings, (code, Italian message); `limit` is the limitation date."""
    found: list[tuple[str, str]] = []
    if values.get("phone") and contacts.phone is None:
        found.append(("phone", f"Telefono non utilizzabile: «{values['phone']}»."))
    if values.get("email") and contacts.email is None:
        found.append(("email", f"E-mail non valida: «{values['email']}»."))
    if any(values.get(f) == "" for f in ADDRESS_FIELDS):
        found.append(("address", "Indirizzo incompleto (via, CAP o comune mancante)."))
    dates = [values.get(f, "") for f in ("act_date", "due_date")]
    parsed = [parse_date(text) if text else None for text in dates]
    if any(text and day is None for text, day in zip(dates, parsed, strict=True)):
        shown = next(text for text, day in zip(dates, parsed, strict=True) if text and day is None)
        found.append(("date", f"Data non leggibile: «{shown}» (attese gg/mm/aaaa o aaaa-mm-gg)."))
    act_date = parsed[0] or parsed[1]
    if act_date is not None and act_date < limit:
        found.append(
            ("limitation", f"Atto del {act_date:%d/%m/%Y}: oltre il termine di prescrizione di cinque anni.")
        )
    if any(values.get(f, "").startswith(FORMULA_START) for f in TEXT_FIELDS):
        found.append(("formula", "Testo che inizia con = + - @: neutralizzato nelle esportazioni."))
    return found


# ---------------------------------------------------------------- verdicts


@dataclass(slots=True)
class RowVerdict:
    row_number: int
    line_number: int
    verdict: str
    field: str | None = None
    reason_it: str | None = None
    credit: Credit | None = None
    warnings: tuple[tuple[str, str], ...] = ()
    contacts: Contacts | None = None
    cells: tuple[str, ...] = ()


class RowJudge:
    """Judges data rows one at a time, in file order; blank lines and a final totals line are skipped.

    Duplicates and conflicts need every row, so they are settled afterwards (`settle` in memory,
    or in SQL by the repository for big files): an accepted verdict here means "candidate".
    """

    def __init__(self, mapping: ColumnMapping, current_year: int, today: date) -> None:
        self.mapping = mapping
        self.current_year = current_year
        self.today = today
        self.rows = 0
        self.limit = limitation_date(today)
        self._pending: list[tuple[int, list[str]]] = []

    def feed(self, line: int, cells: list[str]) -> Iterator[RowVerdict]:
        for data_line, data_cells in self.admit(line, cells):
            yield self.judge(data_line, data_cells)

    @property
    def pending(self) -> bool:
        """Whether a totals lookalike waits for the rows after it (`admit`)."""
        return bool(self._pending)

    def admit(self, line: int, cells: list[str]) -> Iterator[tuple[int, list[str]]]:
        """The data rows among the lines fed so far, in file order, without judging them."""
        if is_blank(cells):
            return
        if is_totals(cells, self.mapping):
            self._pending.append((line, cells))
            return
        # A "totals" lookalike followed by more data was a data row after all.
        yield from self._pending
        self._pending.clear()
        yield line, cells

    def judge(self, line: int, cells: list[str]) -> RowVerdict:
        """The verdict of the next data row (rows are numbered in the order they are judged)."""
        self.rows += 1
        return self.judge_numbered(self.rows, line, cells)

    def judge_numbered(self, row_number: int, line: int, cells: list[str]) -> RowVerdict:
        values = row_values(cells, self.mapping)
        outcome = parse_values(values, self.current_year)
        contacts = contacts_of(values)
        warnings = tuple(row_warnings(values, contacts, self.limit))
        if isinstance(outcome, Rejection):
            verdict = RowVerdict(
                row_number, line, f"rejected:{outcome.reason}", outcome.field, outcome.message
            )
        else:
            verdict = RowVerdict(row_number, line, "accepted", credit=outcome)
        verdict.warnings, verdict.contacts, verdict.cells = warnings, contacts, tuple(cells)
        return verdict


CONFLICT_REASON = "Stesso contribuente, entrata, anno e atto con importi diversi: posizione sospesa."
DUPLICATE_REASON = "Riga identica a una precedente."
REGISTERED_CONFLICT_REASON = (
    "Credito già registrato da un caricamento precedente con un importo diverso: posizione sospesa, "
    "da verificare con l'Ufficio Tributi."
)


def settle(verdicts: list[RowVerdict]) -> None:
    """Exact repeats become duplicates; same key with different amounts are all conflicts."""
    seen_exact: set[tuple[str, str, int, str, int]] = set()
    by_key: dict[tuple[str, str, int, str], list[RowVerdict]] = {}
    for v in verdicts:
        if v.verdict != "accepted" or v.credit is None:
            continue
        exact = (*v.credit.key, v.credit.amount_cents)
        if exact in seen_exact:
            v.verdict, v.reason_it = "duplicate", DUPLICATE_REASON
            continue
        seen_exact.add(exact)
        by_key.setdefault(v.credit.key, []).append(v)
    for group in by_key.values():
        if len(group) > 1:
            for v in group:
                v.verdict, v.field, v.reason_it = "conflict", "amount", CONFLICT_REASON


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
    rows: Iterable[tuple[int, list[str]]],
    mapping: ColumnMapping,
    header_line: int,
    current_year: int,
    today: date | None = None,
) -> Report:
    """Verdict of every data row after the header, all in memory (small files, previews, tests)."""
    judge = RowJudge(mapping, current_year, today or date(current_year, 12, 31))
    report = Report(header_line)
    for line, cells in rows:
        report.verdicts.extend(judge.feed(line, cells))
    settle(report.verdicts)
    return report


# ---------------------------------------------------------------- tracing and cleaning

CONTACT_KINDS = {"phone": "Telefono", "email": "E-mail", "pec": "PEC", "address": "Indirizzo"}
GRADES = {
    "phone": "Raggiungibile per telefono",
    "address": "Solo indirizzo",
    "none": "Nessun recapito utilizzabile",
}
# A complete address from the Comune's own file counts; an incomplete one does not grade a debtor.
ADDRESS_GRADE_CONFIDENCE = 50
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


@dataclass(frozen=True, slots=True)
class ContactDatum:
    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class TracedContacts:
    fiscal_code: str
    contacts: tuple[ContactDatum, ...]
    source: str
    found_on: date
    confidence: int


def email_kind(email: str) -> str:
    domain = email.rsplit("@", 1)[-1]
    return (
        "pec"
        if domain.startswith("pec.") or ".pec." in domain or domain.startswith("legalmail.")
        else "email"
    )


def normalise_contact(kind: str, text: str) -> ContactDatum:
    """One contact datum in its canonical form; CellError (Italian) when it is not usable."""
    value = " ".join(text.split())
    if kind == "phone":
        phone = normalise_phone(value)
        if phone is None:
            raise CellError("phone", f"Telefono non utilizzabile: «{value}».")
        return ContactDatum("phone", phone)
    if kind in ("email", "pec"):
        email = normalise_email(value)
        if email is None:
            raise CellError(kind, f"Indirizzo {CONTACT_KINDS[kind]} non valido: «{value}».")
        return ContactDatum(kind, email)
    if kind == "address":
        if len(value) < 5 or not any(c.isalpha() for c in value):
            raise CellError("address", f"Indirizzo non utilizzabile: «{value}».")
        return ContactDatum("address", value[:300])
    raise CellError("kind", f"Tipo di recapito sconosciuto: «{kind}».")


def parse_confidence(text: str, default: int) -> int:
    value = text.strip().rstrip("%")
    if not value:
        return default
    if not value.isdigit() or not 0 <= int(value) <= 100:
        raise CellError("confidence", f"Affidabilità non valida: «{text.strip()}» (da 0 a 100).")
    return int(value)


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
