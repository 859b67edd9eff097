"""A Comune's positions and plans in the model of pagoPA's GPD (Gestione Posizioni Debitorie).

Names, types and limits follow `PaymentPositionModel`, `PaymentOptionModel` and `TransferModel` of
the external v1 OpenAPI of `pagopa/pagopa-debt-position` (`openapi/openapi_external_v1.json`):
amounts in euro cents (integer, at least 1), dates as `date-time`, texts of at most 140 characters.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")
MAX_TEXT = 140  # companyName, description, remittanceInformation (paForNode.xsd)
LEGAL_PERSON = re.compile(r"\d{11}")  # a company's or body's fiscal code (partita IVA form)
# Transfer `category`: the pagoPA taxonomy code ("9/<code>/") of the collection service. The codes
# below are the ones pagoPA's own GPD examples use for local revenues; a Comune that registered other
# services with its intermediary needs its own codes (see the README, "pagoPA GPD").
CATEGORIES = {
    "IMU": "9/0101101IM/",
    "TARI": "9/0101101IM/",
    "CUP": "9/0101108TS/",
    "CDS": "9/0101108TS/",
    "ALTRO": "9/0101108TS/",
}

# position: a position alone; plan: a plan's single payment and installments; charges: the notice of
# a plan's c.803 collection charges, a debt of its own.
Kind = Literal["position", "plan", "charges"]


@dataclass(frozen=True)
class Creditor:
    fiscal_code: str
    name: str
    iban: str


@dataclass(frozen=True)
class Option:
    """A payable option: a position's own, or a plan's (installment None: the plan's single payment)."""

    nav: str
    iuv: str
    amount_cents: int
    due_date: date
    installment: int | None = None


@dataclass(frozen=True)
class Debt:
    """What becomes one GPD debt position: a position alone or a plan, with its payable options."""

    kind: Kind
    id: uuid.UUID
    fiscal_code: str
    full_name: str
    revenue_type: str
    reason: str
    options: tuple[Option, ...]


def iupd(creditor_fiscal_code: str, debt_id: uuid.UUID) -> str:
    """The position's unique id at the creditor: its fiscal code and a UUID, as GPD suggests. The same
    position or plan always gets the same IUPD, so pagoPA refuses to create it twice (409)."""
    return f"{creditor_fiscal_code}-{debt_id}"


def debtor_type(fiscal_code: str) -> Literal["F", "G"]:
    """F for a natural person (16-character fiscal code), G for a legal person (11 digits)."""
    return "G" if LEGAL_PERSON.fullmatch(fiscal_code.strip()) else "F"


def due_date_time(due: date) -> str:
    """The last second of the due day in Italy, in UTC (`date-time`, as GPD compares it with UTC)."""
    end = datetime.combine(due, time(23, 59, 59), tzinfo=ROME)
    return end.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def clip(value: str) -> str:
    """A text of at most 140 characters, on one line."""
    return " ".join(value.split())[:MAX_TEXT]


def category(revenue_type: str) -> str:
    return CATEGORIES.get(revenue_type, CATEGORIES["ALTRO"])


def description(debt: Debt, option: Option) -> str:
    """What the payer reads for one option: the reason, and for a plan which payment it is."""
    if debt.kind != "plan":
        return clip(debt.reason)
    if option.installment is None:
        return clip(f"Pagamento in unica soluzione - {debt.reason}")
    count = sum(1 for o in debt.options if o.installment is not None)
    return clip(f"Rata {option.installment} di {count} - {debt.reason}")


def transfer_model(creditor: Creditor, debt: Debt, option: Option) -> dict[str, Any]:
    """The single transfer of an option: all of it to the Comune's IBAN."""
    return {
        "idTransfer": "1",
        "amount": option.amount_cents,
        "organizationFiscalCode": creditor.fiscal_code,
        "remittanceInformation": description(debt, option),
        "category": category(debt.revenue_type),
        "iban": creditor.iban.replace(" ", ""),
        "companyName": clip(creditor.name),
    }


def option_model(creditor: Creditor, debt: Debt, option: Option) -> dict[str, Any]:
    """A `PaymentOptionModel`: an installment is a partial payment, a single payment is not."""
    if option.amount_cents < 1:
        raise ValueError("a GPD payment option is at least 1 cent")
    return {
        "nav": option.nav,
        "iuv": option.iuv,
        "amount": option.amount_cents,
        "description": description(debt, option),
        "isPartialPayment": option.installment is not None,
        "dueDate": due_date_time(option.due_date),
        "transfer": [transfer_model(creditor, debt, option)],
    }


def position_model(creditor: Creditor, debt: Debt) -> dict[str, Any]:
    """A `PaymentPositionModel` with its options: the single payment first, then the installments."""
    options = sorted(debt.options, key=lambda o: (o.installment is not None, o.installment or 0, o.nav))
    return {
        "iupd": iupd(creditor.fiscal_code, debt.id),
        "type": debtor_type(debt.fiscal_code),
        "fiscalCode": debt.fiscal_code.strip().upper(),
        "fullName": debt.full_name,
        "companyName": clip(creditor.name),
        "switchToExpired": False,
        "paymentOption": [option_model(creditor, debt, o) for o in options],
    }


def export(creditor: Creditor, debts: list[Debt]) -> dict[str, Any]:
    """The Comune's export for its pagoPA intermediary: one `PaymentPositionModel` per position or
    plan that has payable options."""
    return {
        "organizationFiscalCode": creditor.fiscal_code,
        "companyName": clip(creditor.name),
        "paymentPositions": [position_model(creditor, d) for d in debts if d.options],
    }
