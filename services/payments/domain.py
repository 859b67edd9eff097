"""Pure rules of payments: amounts in Italian or plain notation, payment dates, balances (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.kernel.errors import DomainError
from services.kernel.money import parse_euro

EARLIEST_PAYMENT = date(2000, 1, 1)


@dataclass(frozen=True)
class PaymentInput:
    amount_cents: int
    paid_on: date


IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")


def check_idempotency_key(raw: str | None) -> str | None:
    """A client-chosen key (8-100 letters, digits, `._:-`), or None when the client sent none."""
    if raw is None or raw == "":
        return None
    if not IDEMPOTENCY_KEY_RE.match(raw):
        raise DomainError(
            "Chiave di idempotenza non valida: da 8 a 100 caratteri tra lettere, cifre e . _ : -",
            field="idempotency_key",
        )
    return raw


def format_cents(cents: int) -> str:
    euros, rest = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}€ {euros:,}".replace(",", ".") + f",{rest:02d}"


def residual_cents(amount_cents: int, paid_cents: int) -> int:
    return max(amount_cents - paid_cents, 0)


def owed_by(positions: Iterable[Any]) -> int:
    """What the positions (of a plan) still owe together: nothing left, no notice to send."""
    return sum(residual_cents(p.amount_cents, p.paid_cents) for p in positions)


def balance_status(amount_cents: int, paid_cents: int, state: str = "open") -> str:
    """Italian label of a position's balance (a position the office cancelled is owed no more), in
    the words of the operator's card (`contact/templates/debtor.html`)."""
    if state == "cancelled":
        return "Annullata (sgravio)"
    if paid_cents <= 0:
        return "Da pagare"
    return "Pagata" if paid_cents >= amount_cents else "Pagata in parte"


def parse_amount(raw: str) -> int:
    """Parse "1.234,56", "1234.56", "€ 12,30" or "12" to cents; at most two decimals, > 0."""
    return parse_euro(raw, "amount", "Indica l'importo pagato.")


def parse_paid_on(raw: str) -> date:
    """Parse dd/mm/yyyy (also with '-' or '.') or ISO yyyy-mm-dd."""
    text = raw.strip()
    if not text:
        raise DomainError("Indica la data del pagamento.", field="paid_on")
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise DomainError("Data del pagamento non valida (usa gg/mm/aaaa).", field="paid_on")


def check_paid_on(paid_on: date, today: date) -> None:
    if paid_on > today:
        raise DomainError("La data del pagamento non può essere nel futuro.", field="paid_on")
    if paid_on < EARLIEST_PAYMENT:
        raise DomainError("La data del pagamento non può essere anteriore al 2000.", field="paid_on")


def check_amount(amount_cents: int, amount_due_cents: int, paid_cents: int, field: str = "amount") -> None:
    if amount_cents <= 0:
        raise DomainError("L'importo deve essere maggiore di zero.", field=field)
    residual = residual_cents(amount_due_cents, paid_cents)
    if amount_cents > residual:
        raise DomainError(f"L'importo supera il residuo da pagare ({format_cents(residual)}).", field=field)


def validate_payment(
    amount: object, paid_on: str, amount_due_cents: int, paid_cents: int, today: date
) -> PaymentInput:
    """Validate a payment against the position's balance; `amount` is text (web) or cents (API)."""
    field = "amount" if isinstance(amount, str) else "amount_cents"
    cents = parse_amount(amount) if isinstance(amount, str) else _cents(amount)
    day = parse_paid_on(paid_on)
    check_paid_on(day, today)
    check_amount(cents, amount_due_cents, paid_cents, field)
    return PaymentInput(cents, day)


def _cents(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError("L'importo in centesimi deve essere un numero intero.", field="amount_cents")
    return value


def check_reason(raw: object) -> str:
    """Why a payment is recorded by hand (e.g. "bonifico sul conto di tesoreria")."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not 3 <= len(text) <= 500:
        raise DomainError(
            "Indica il motivo della registrazione manuale (da 3 a 500 caratteri), "
            "ad es. «bonifico sul conto di tesoreria».",
            field="reason",
        )
    return text


# Who the daily run acts as (reminders, solleciti, lapses and the notices they issue).
SYSTEM_ACTOR = "sistema"


def recorder_label(recorded_by: str, name: str | None) -> str:
    """Who recorded a payment, as a user reads it: the person's name, or pagoPA with the PSP."""
    if name:
        return name
    if recorded_by.startswith("pagoPA:"):
        return f"pagoPA ({recorded_by.removeprefix('pagoPA:')})"
    return recorded_by
