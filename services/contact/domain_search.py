"""What an operator types to find a taxpayer who phones in or writes: a fiscal code (or a company's
VAT number), a phone number as the caller id shows it, an act number, or the start of the surname
or name, or the code of a pagoPA notice the taxpayer holds (its NAV or IUV, as printed: digits in
groups). Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.kernel.errors import DomainError
from services.kernel.formats import e164, notice_code

MIN_LENGTH, MAX_LENGTH = 3, 80
# A codice fiscale (16 characters, letters and digits) or a partita IVA (11 digits).
_FISCAL = re.compile(
    r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]|[0-9]{11}"
)
_PHONE_CHARS = re.compile(r"[0-9+ ./()-]+")


@dataclass(frozen=True)
class Query:
    """The ways the typed text may name a debtor: each one found is searched (any matches)."""

    text: str
    fiscal_code: str | None = None
    phone: str | None = None
    notice: str | None = None


def read_query(raw: str | None) -> Query:
    """The search as typed; refused at the field when too short to name anyone."""
    text = " ".join((raw or "").split())[:MAX_LENGTH]
    if len(text) < MIN_LENGTH:
        raise DomainError(
            "Scrivi almeno 3 caratteri: codice fiscale, telefono, e-mail, numero dell'atto, codice "
            "dell'avviso o nome.",
            field="q",
        )
    compact = text.replace(" ", "").upper()
    fiscal = compact if _FISCAL.fullmatch(compact) else None
    phone = e164(text) if _PHONE_CHARS.fullmatch(text) else None
    return Query(text, fiscal, phone, notice_code(text))


def like_prefix(text: str) -> str:
    """`text` as the start of an ILIKE pattern, its wildcards taken literally (escape `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
