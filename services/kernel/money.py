"""Euro amounts as people type them, to integer cents (no float anywhere)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from services.kernel.errors import DomainError

_THOUSANDS_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_THOUSANDS_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
_PLAIN = re.compile(r"^\d+$")
_CURRENCY = ("€", "EUR", "eur", "Euro", "euro")
# Above any credit a Comune holds (a thousand billion euro), and within PostgreSQL's bigint.
MOST_CENTS = 10**14 - 1


def parse_euro(raw: str, field: str = "amount", missing: str = "Indica l'importo.") -> int:
    """Parse "1.234,56", "1234.56", "€ 12,30" or "12" to cents; at most two decimals, > 0."""
    text = raw.strip()
    for symbol in _CURRENCY:
        text = text.replace(symbol, "")
    text = re.sub(r"[\s\u00a0\u202f']", "", text)
    if not text:
        raise DomainError(missing, field=field)
    if text.startswith("-"):
        raise DomainError("L'importo non può essere negativo.", field=field)
    text = text.removeprefix("+")
    whole, decimals = _split(text, field)
    if not _PLAIN.match(whole) or (decimals and not _PLAIN.match(decimals)):
        raise DomainError(f"Importo non valido: «{raw.strip()}».", field=field)
    if len(decimals) > 2:
        raise DomainError("L'importo può avere al massimo due decimali.", field=field)
    try:
        cents = int(Decimal(f"{whole}.{decimals or '0'}") * 100)
    except InvalidOperation:
        raise DomainError(f"Importo non valido: «{raw.strip()}».", field=field) from None
    if cents <= 0:
        raise DomainError("L'importo deve essere maggiore di zero.", field=field)
    if cents > MOST_CENTS:
        raise DomainError(f"Importo troppo alto: «{raw.strip()}».", field=field)
    return cents


def _split(text: str, field: str) -> tuple[str, str]:
    """Split into integer digits and decimals; the last of ',' and '.' is the decimal mark."""
    if "," in text and "." in text:
        mark = "," if text.rfind(",") > text.rfind(".") else "."
        whole, _, decimals = text.rpartition(mark)
        grouping = _THOUSANDS_DOT if mark == "," else _THOUSANDS_COMMA
        if not grouping.match(whole):
            raise DomainError(f"Importo non valido: «{text}».", field=field)
        return re.sub(r"[.,]", "", whole), decimals
    if text.count(",") > 1:
        raise DomainError(f"Importo non valido: «{text}».", field=field)
    if "," in text:
        whole, _, decimals = text.partition(",")
        return whole, decimals
    # Italian notation: "1.234" and "1.234.567" are thousands, "12.5" and "1234.56" are decimals.
    if _THOUSANDS_DOT.match(text):
        return text.replace(".", ""), ""
    if text.count(".") > 1:
        raise DomainError(f"Importo non valido: «{text}».", field=field)
    whole, _, decimals = text.partition(".")
    return whole, decimals


def format_euro(cents: int | None) -> str:
    """Cents as Italians read euro: «€ 1.234,56» (negative: «-€ 1,00»)."""
    value = int(cents or 0)
    sign = "-" if value < 0 else ""
    euros, rest = divmod(abs(value), 100)
    return f"{sign}€ {euros:,}".replace(",", ".") + f",{rest:02d}"


def format_decimal(value: Decimal | int) -> str:
    """A number as Italians write it, a comma before the decimals («4,0»)."""
    return str(value).replace(".", ",")
