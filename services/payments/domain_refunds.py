"""Refunds of payments (no I/O): the Comune gives back part or all of a payment it received, e.g. a
payment made twice. What was refunded no longer counts as paid: the position owes it again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from services.kernel.errors import DomainError
from services.kernel.money import format_euro, parse_euro


@dataclass(frozen=True)
class RefundInput:
    amount_cents: int
    refunded_on: date
    reason: str


def refundable_cents(amount_cents: int, refunded_cents: int) -> int:
    """What is left of a payment to refund after earlier refunds."""
    return max(amount_cents - refunded_cents, 0)


def money_not_owed(amount_cents: int, paid_cents: int, state: str, in_plan: bool) -> int:
    """What a position holds of the debtor's money that is not owed (to refund, or to book on
    another debt): all it kept when the office cancelled it (sgravio), what it kept beyond its
    amount otherwise (a correction after payment, a payment made twice). A position that is or was
    in a plan is judged only when cancelled: its installments' interest is paid on top of its
    amount, so more paid than its amount is no excess there."""
    if state == "cancelled":
        return max(paid_cents, 0)
    return 0 if in_plan else max(paid_cents - amount_cents, 0)


def parse_day(raw: str) -> date:
    """dd/mm/yyyy (also with '-' or '.') or ISO yyyy-mm-dd."""
    text = raw.strip()
    if not text:
        raise DomainError("Indica la data del rimborso.", field="refunded_on")
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise DomainError("Data del rimborso non valida (usa gg/mm/aaaa).", field="refunded_on")


def validate_refund(
    amount: str,
    refunded_on: str,
    reason: str,
    paid_on: date,
    refundable: int,
    today: date,
) -> RefundInput:
    """A refund of a received, not revoked payment: at most what is left of it, dated between the
    payment and today, with its reason."""
    if refundable <= 0:
        raise DomainError("Questo pagamento è già stato rimborsato per intero.", field="amount")
    cents = parse_euro(amount, "amount", "Indica l'importo rimborsato.")
    if cents > refundable:
        raise DomainError(
            f"L'importo supera quanto resta da rimborsare di questo pagamento ({format_euro(refundable)}).",
            field="amount",
        )
    day = parse_day(refunded_on)
    if day > today:
        raise DomainError("La data del rimborso non può essere nel futuro.", field="refunded_on")
    if day < paid_on:
        raise DomainError("La data del rimborso non può precedere quella del pagamento.", field="refunded_on")
    text = reason.strip()
    if not 3 <= len(text) <= 500:
        raise DomainError(
            "Indica il motivo del rimborso (da 3 a 500 caratteri), ad es. «pagamento effettuato due volte».",
            field="reason",
        )
    return RefundInput(cents, day, text)


def paid_installments(
    plan_id: uuid.UUID,
    plan_created_at: datetime,
    recorded_at: datetime,
    notice: tuple[uuid.UUID | None, int | None] | None,
) -> bool:
    """Whether a payment went into the plan's installments: one made on a pagoPA notice of the plan
    (`notice` is its plan and installment), or one made otherwise while the plan was in force,
    recorded by hand or on a notice of the position alone (one issued before the plan stays
    payable): `handlers_plan_payments` spreads it over the installments in due order, or settles
    the plan when it leaves nothing owed. A payment recorded before the plan was made is not in the
    plan (the plan spreads what was left after it), nor one on a notice of another plan: its refund
    is owed on the position only."""
    if notice is not None and notice[0] is not None:
        return notice[0] == plan_id
    return recorded_at >= plan_created_at
