"""The Poste Italiane DataMatrix of a pagoPA notice payable by postal bulletin (bollettino postale PA).

The layout (256 characters) follows `generatePosteDataMatrix` and `generateCodeline` of
`pagopa/pagopa-print-payment-notice-generator` and io-app's `decodePosteDataMatrix` (NAV at [15:33],
amount at [49:59], creditor fiscal code at [66:77]); Poste's own manual was not read
(`../shared/domain.md` §1.3):

    "codfase=NBPA;"                         13
    "18" + NAV (18, zero-padded left)       20  the codeline
    "12" + postal account (12, zero-padded) 14
    "10" + amount in cents (10)             12
    "3" + document type "896"                4
    "1P1"                                    3
    creditor fiscal code (11)               11
    payee fiscal code (16, space-padded)    16
    payee name (40, upper case)             40
    reason (110)                           110
    filler (12 spaces)                      12
    "A"                                      1

Free text keeps only the characters Poste's printers accept (letters, digits, space and & ' - . : _ ,),
accents dropped; anything else becomes a space.
"""

from __future__ import annotations

import re
import unicodedata

from services.payments.domain_notices import is_valid_notice_number

LENGTH = 256
DOCUMENT_TYPE = "896"
_ACCOUNT = re.compile(r"^[0-9]{1,12}$")
_CREDITOR = re.compile(r"^[0-9]{11}$")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9 &'\-.:_,]")


def clean(text: str) -> str:
    """Free text as the DataMatrix may carry it: no accents, only the accepted characters."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_ALLOWED.sub(" ", plain)


def _field(text: str, width: int) -> str:
    return clean(text)[:width].ljust(width)


def codeline(nav: str, postal_account: str, amount_cents: int) -> str:
    """The bulletin's codeline: notice number, postal account, amount, document type 896."""
    return f"18{nav:0>18}12{postal_account:0>12}10{amount_cents:010d}3{DOCUMENT_TYPE}"


def poste_payload(
    nav: str,
    postal_account: str,
    amount_cents: int,
    creditor_fiscal_code: str,
    payee_fiscal_code: str,
    payee_name: str,
    reason: str,
) -> str:
    """The 256 characters of the notice's Poste DataMatrix."""
    if not is_valid_notice_number(nav):
        raise ValueError(f"not a notice number: {nav!r}")
    if not _ACCOUNT.match(postal_account):
        raise ValueError("a postal account is 1 to 12 digits")
    if not 0 < amount_cents < 10**10:
        raise ValueError("the amount must be positive and fit 10 digits")
    if not _CREDITOR.match(creditor_fiscal_code):
        raise ValueError("the creditor fiscal code has 11 digits")
    payload = "".join(
        (
            "codfase=NBPA;",
            codeline(nav, postal_account, amount_cents),
            "1P1",
            creditor_fiscal_code,
            _field(payee_fiscal_code.upper(), 16),
            _field(payee_name.upper(), 40),
            _field(reason, 110),
            " " * 12,
            "A",
        )
    )
    assert len(payload) == LENGTH
    return payload
