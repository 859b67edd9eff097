"""The Comune's pagoPA settings: what its notices print of it as creditor, the c.803 charges, the
reminder lead time and its intermediary's GPD endpoint. Pure checks, each bad field with its own
Italian message.

The fiscal code is the Comune's 11-digit one, checked as python-stdnum checks a partita IVA (the
numeric fiscal code of a public body has the same check digit); the IBAN must be a valid Italian one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError
from stdnum.it import iva

from services.kernel.errors import DomainError

MOST_REMINDER_DAYS = 60
POSTAL_ACCOUNT_DIGITS = 12  # the field of the Poste DataMatrix codeline
_SEGREGATION = re.compile(r"^[0-9]{2}$")
_CBILL = re.compile(r"^[A-Z0-9]{5}$")
_DIGITS = re.compile(r"^[0-9]+$")
_KEY = re.compile(r"^[\x21-\x7e]{8,500}$")
_TRUE = {"1", "on", "true", "si", "sì"}
_FALSE = {"", "0", "off", "false", "no"}


@dataclass(frozen=True)
class CreditorSettings:
    """What the Comune saved; `gpd_api_key` None keeps the key already stored."""

    name: str
    fiscal_code: str
    segregation_code: str
    cbill: str
    iban: str
    postal_account: str | None
    applies_charges: bool
    reminder_days: int
    gpd_endpoint: str | None
    gpd_api_key: str | None

    def values(self) -> dict[str, object]:
        """The columns to store; the API key only when a new one was given (it is write-only)."""
        kept = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if self.gpd_api_key is None:
            del kept["gpd_api_key"]
        return kept


class InvalidSettings(DomainError):
    """Every bad field with its Italian message; nothing is saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        listed = " ".join(errors.values())
        super().__init__(f"Impostazioni non salvate: {listed}", field=next(iter(errors)))
        self.errors = errors


def _text(raw: Mapping[str, object], name: str) -> str:
    value = raw.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        return "\x00"  # not text: refused by every check below
    return value.strip()


def _name(value: str) -> str:
    if not 3 <= len(value) <= 100:
        raise ValueError("Indica la denominazione del Comune (da 3 a 100 caratteri).")
    return value


def _fiscal_code(value: str) -> str:
    if not iva.is_valid(value):
        raise ValueError("Il codice fiscale del Comune ha 11 cifre con la cifra di controllo corretta.")
    return iva.compact(value)


def _segregation(value: str) -> str:
    if not _SEGREGATION.match(value):
        raise ValueError("Il codice di segregazione ha 2 cifre.")
    return value


def _cbill(value: str) -> str:
    value = value.upper()
    if not _CBILL.match(value):
        raise ValueError("Il codice CBILL ha 5 caratteri, lettere o cifre.")
    return value


def _iban(value: str) -> str:
    try:
        compact: str = stdnum_iban.validate(value, check_country=True)
    except ValidationError:
        compact = ""
    if not compact.startswith("IT"):
        raise ValueError("Indica un IBAN italiano valido (IT e 25 caratteri).")
    return compact


def _postal_account(value: str) -> str | None:
    value = value.replace(" ", "")
    if not value:
        return None
    if not _DIGITS.match(value) or len(value) > POSTAL_ACCOUNT_DIGITS or int(value) == 0:
        raise ValueError(
            f"Il conto corrente postale è fatto di sole cifre (al massimo {POSTAL_ACCOUNT_DIGITS})."
        )
    return value


def _flag(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    if raw is None:
        return False
    raise ValueError("Indica sì o no.")


def _reminder_days(raw: object) -> int:
    if isinstance(raw, str) and _DIGITS.match(raw.strip()) and len(raw.strip()) <= 3:
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MOST_REMINDER_DAYS:
        raise ValueError(f"I giorni di preavviso sono un numero intero da 0 a {MOST_REMINDER_DAYS}.")
    return raw


def _endpoint(value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or len(value) > 500 or any(c.isspace() for c in value):
        raise ValueError("L'indirizzo del servizio GPD deve essere un URL https:// completo.")
    return value


def _api_key(value: str) -> str | None:
    if not value:
        return None
    if not _KEY.match(value):
        raise ValueError("La chiave API ha da 8 a 500 caratteri, senza spazi.")
    return value


_TEXT_FIELDS = {
    "name": _name,
    "fiscal_code": _fiscal_code,
    "segregation_code": _segregation,
    "cbill": _cbill,
    "iban": _iban,
    "postal_account": _postal_account,
    "gpd_endpoint": _endpoint,
    "gpd_api_key": _api_key,
}


def read_settings(raw: Mapping[str, object], has_stored_key: bool) -> CreditorSettings:
    """The settings from a form or a JSON body; `InvalidSettings` names every bad field."""
    errors: dict[str, str] = {}
    read: dict[str, object] = {}
    for name, check in _TEXT_FIELDS.items():
        try:
            read[name] = check(_text(raw, name))
        except ValueError as problem:
            errors[name] = str(problem)
    for name, parse in (("applies_charges", _flag), ("reminder_days", _reminder_days)):
        try:
            read[name] = parse(raw.get(name))
        except ValueError as problem:
            errors[name] = str(problem)
    key_missing = "gpd_api_key" not in errors and not read.get("gpd_api_key") and not has_stored_key
    if read.get("gpd_endpoint") and key_missing:
        errors["gpd_api_key"] = "Indica la chiave API del servizio GPD del tuo intermediario."
    if errors:
        raise InvalidSettings(errors)
    return CreditorSettings(**read)  # type: ignore[arg-type]


def masked(key: str | None) -> str:
    """A stored API key as the page shows it: never the key itself."""
    if not key:
        return ""
    return "••••••••" + (key[-4:] if len(key) >= 16 else "")
