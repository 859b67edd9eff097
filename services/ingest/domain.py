"""Pure ingest rules: what a cell of a credit list may hold, and the credit a row makes.

Nothing here does I/O: the reader turns a file into `(line_number, cells)` pairs and the rule
modules decide what every row means: this one the cells, `domain_mapping` the header and the
columns, `domain_contacts` the contacts and warnings, `domain_verdicts` the verdict of each row,
`domain_tracing` the tracing providers' files and an operator's manual entry. The rules mirror the
ones stated for the sample files (`shared/tools/gen_credits.py`): a credit is taxpayer + revenue
type + year + act number + amount still due; exact repeats are duplicates; same
taxpayer/type/year/act with different amounts are all conflicts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from stdnum.it import codicefiscale, iva

from services.contracts import REVENUE_TYPES

REVENUE_ALIASES = {
    **{t: t for t in REVENUE_TYPES},
    "CANONEUNICO": "CUP",
    "CANONEUNICOPATRIMONIALE": "CUP",
    "CODICEDELLASTRADA": "CDS",
    "SANZIONICDS": "CDS",
}
MIN_YEAR = 2000

# The Italian reasons of a rejected cell, `{}` standing for the cell's text (or the year and the
# range); the column rules (`columnar_rejections`) write the same messages.
TAXPAYER_MISSING = "Codice fiscale o partita IVA mancante."
TAXPAYER_INVALID = "Codice fiscale o partita IVA non valido: «{}»."
REVENUE_TYPE_UNKNOWN = "Tipo di entrata non riconosciuto: «{}» (ammessi IMU, TARI, CUP, CDS, ALTRO)."
REVENUE_TYPE_MISSING = "Tipo di entrata mancante (ammessi IMU, TARI, CUP, CDS, ALTRO)."
YEAR_INVALID = "Anno di riferimento non valido: «{}»."
YEAR_OUT_OF_RANGE = "Anno di riferimento {} fuori dall'intervallo {}–{}."
ACT_MISSING = "Numero atto mancante."
ACT_TOO_LONG = "Numero atto troppo lungo."
ACT_MAX_LENGTH = 100
AMOUNT_MISSING = "Importo mancante."
AMOUNT_NEGATIVE = "Importo negativo: «{}»."
AMOUNT_UNREADABLE = "Importo non leggibile: «{}»."
AMOUNT_DECIMALS = "Importo con più di due decimali: «{}»."
AMOUNT_OUT_OF_SCALE = "Importo fuori scala: «{}»."
AMOUNT_ZERO = "Importo pari a zero."
NOTHING_DUE = "Nessun importo residuo da riscuotere (dovuto già versato)."


class UnreadableFile(Exception):
    """The file as a whole cannot be read as a list of credits; `message` is Italian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalise_header(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


# ---------------------------------------------------------------- cell rules


class CellError(ValueError):
    """One cell breaks a rule: `reason` is the report key, the message is Italian."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


_IT_AMOUNT = re.compile(r"^(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?$")
_PLAIN_AMOUNT = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$")
MAX_DIGITS = 13


def parse_amount(text: str, allow_zero: bool = False) -> int:
    """Italian ("€ 1.234,56") or plain ("1234.56") euro amount -> cents; positive, ≤ 2 decimals."""
    compact = re.sub(r"\s|€|EUR", "", text.upper())
    if not compact:
        raise CellError("amount", AMOUNT_MISSING)
    if compact.startswith("-") or (compact.startswith("(") and compact.endswith(")")):
        raise CellError("amount", AMOUNT_NEGATIVE.format(text.strip()))
    compact = compact.removeprefix("+")
    match = _IT_AMOUNT.match(compact)
    separator = "."
    if match is None:
        match = _PLAIN_AMOUNT.match(compact)
        separator = ","
    if match is None:
        raise CellError("amount", AMOUNT_UNREADABLE.format(text.strip()))
    whole, decimals = match.group(1).replace(separator, ""), match.group(2) or ""
    if len(decimals) > 2:
        raise CellError("amount", AMOUNT_DECIMALS.format(text.strip()))
    if len(whole.lstrip("0")) > MAX_DIGITS:
        raise CellError("amount", AMOUNT_OUT_OF_SCALE.format(text.strip()))
    try:
        cents = int(Decimal(f"{whole}.{decimals or '0'}") * 100)
    except InvalidOperation as exc:  # pragma: no cover - the regexes only let digits through
        raise CellError("amount", AMOUNT_UNREADABLE.format(text.strip())) from exc
    if cents == 0 and not allow_zero:
        raise CellError("amount", AMOUNT_ZERO)
    return cents


def normalise_revenue_type(text: str) -> str:
    key = re.sub(r"[\s.]", "", text.upper())
    revenue_type = REVENUE_ALIASES.get(key)
    if revenue_type is None:
        shown = text.strip()
        raise CellError("revenue_type", REVENUE_TYPE_UNKNOWN.format(shown) if shown else REVENUE_TYPE_MISSING)
    return revenue_type


def parse_year(text: str, current_year: int) -> int:
    value = text.strip()
    if value.endswith(".0"):
        value = value[:-2]
    # ASCII digits only: str.isdigit() also admits "²" and other digits int() refuses.
    if not (len(value) == 4 and value.isascii() and value.isdigit()):
        raise CellError("year", YEAR_INVALID.format(text.strip()))
    year = int(value)
    if not MIN_YEAR <= year <= current_year:
        raise CellError("year", YEAR_OUT_OF_RANGE.format(year, MIN_YEAR, current_year))
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
        raise CellError("taxpayer", TAXPAYER_MISSING)
    if len(code) == 16 and is_valid_codice_fiscale(code):
        return code
    if len(code) == 11 and code.isdigit() and iva.is_valid(code):
        return code
    raise CellError("taxpayer", TAXPAYER_INVALID.format(code))


def parse_act_number(text: str) -> str:
    act = " ".join(text.split())
    if not act:
        raise CellError("act_number", ACT_MISSING)
    if len(act) > ACT_MAX_LENGTH:
        raise CellError("act_number", ACT_TOO_LONG)
    return act


# ---------------------------------------------------------------- dates

_DATE_IT = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


# A date cell the rules cannot use (a warning, not a rejection): not a date at all, or the shape of
# one for a day the calendar does not have (31/02).
DATE_UNREADABLE = "Data non leggibile: «{}» (attese gg/mm/aaaa o aaaa-mm-gg)."
DATE_IMPOSSIBLE = "Data inesistente: «{}» (quel giorno non esiste nel calendario)."


def date_shaped(text: str) -> bool:
    """Whether `text` has the shape `parse_date` reads (dd/mm/yyyy or yyyy-mm-dd), a real day or not."""
    value = text.strip()
    return bool(_DATE_IT.match(value) or _DATE_ISO.match(value))


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


def act_day(values: dict[str, str]) -> date | None:
    """The day of a row's act: its notification date, else its due date (None when neither reads);
    the credit's limitation runs from it (`kernel.limitation`)."""
    for name in ("act_date", "due_date"):
        text = values.get(name, "")
        day = parse_date(text) if text else None
        if day is not None:
            return day
    return None


# ---------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class Credit:
    """An accepted row's credit; `key` (the fields of `CREDIT_KEY`) identifies it within a Comune."""

    fiscal_code: str
    name: str
    revenue_type: str
    year: int
    act_number: str
    amount_cents: int
    act_on: date | None = None  # `act_day`, not part of the key

    @property
    def key(self) -> tuple[str, str, int, str]:
        fiscal_code, revenue_type, year, act_number = (getattr(self, name) for name in CREDIT_KEY)
        return (fiscal_code, revenue_type, year, act_number)


# The fields that identify a credit (`Credit.key`): the settling SQL partitions by them too.
CREDIT_KEY = ("fiscal_code", "revenue_type", "year", "act_number")


@dataclass(frozen=True)
class Rejection:
    field: str
    reason: str
    message: str
