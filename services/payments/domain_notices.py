"""pagoPA notice numbers and QR payloads (SACI "Generazione dell'Identificativo Univoco di
Versamento"; "Avviso di pagamento", allegato 2: codice QR).

Notice numbers use aux digit 3: `3` + segregation code (2 digits) + a 13-digit base + 2 check
digits, `int("3" + segregation + base) % 93`. The IUV is the notice number without the aux digit.
"""

from __future__ import annotations

import re

from services.kernel.errors import DomainError
from services.kernel.formats import format_notice

AUX_DIGIT = "3"
BASE_DIGITS = 13
_SEGREGATION = re.compile(r"^[0-9]{2}$")
_NAV = re.compile(r"^3[0-9]{17}$")
_CREDITOR = re.compile(r"^[0-9]{11}$")
# The code as printed on paper (groups of four digits), as every page shows it.
printed = format_notice


def check_digits(segregation: str, base: str) -> str:
    return f"{int(AUX_DIGIT + segregation + base) % 93:02d}"


def notice_number(segregation: str, base: int) -> str:
    """The 18-digit notice number (NAV) of the `base`-th notice of a Comune's segregation code."""
    if not _SEGREGATION.match(segregation):
        raise DomainError("Il codice di segregazione ha due cifre.", field="segregation_code")
    if not 0 <= base < 10**BASE_DIGITS:
        raise DomainError("Numerazione degli avvisi esaurita per questo codice di segregazione.")
    digits = f"{base:0{BASE_DIGITS}d}"
    return AUX_DIGIT + segregation + digits + check_digits(segregation, digits)


def is_valid_notice_number(nav: str) -> bool:
    return bool(_NAV.match(nav)) and check_digits(nav[1:3], nav[3:16]) == nav[16:]


def iuv(nav: str) -> str:
    """The IUV: the notice number without its aux digit (17 digits)."""
    return nav[1:]


def qr_payload(nav: str, creditor_fiscal_code: str, amount_cents: int) -> str:
    """`PAGOPA|002|<NAV>|<creditor fiscal code>|<cents>`."""
    if not is_valid_notice_number(nav):
        raise ValueError(f"not a notice number: {nav!r}")
    if not _CREDITOR.match(creditor_fiscal_code):
        raise DomainError("Il codice fiscale dell'ente creditore ha 11 cifre.", field="creditor_fiscal_code")
    if amount_cents <= 0:
        raise ValueError("a notice is for a positive amount")
    return f"PAGOPA|002|{nav}|{creditor_fiscal_code}|{amount_cents}"
