"""Use cases of refunds: the page of a position's payments and refunds, and recording a refund, which
makes the amount owed again (on the position and, when the payment paid installments of an active
plan, on those installments: see `domain_lapse`) and publishes `PaymentRefunded` through the outbox,
in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.contracts import PaymentRefunded
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.identity import Identity
from services.payments import domain, handlers_plan_payments, repository, repository_refunds
from services.payments.domain_answers import owed_cents
from services.payments.domain_interest import debt_given_back
from services.payments.domain_refunds import money_not_owed, refundable_cents, validate_refund

REVOKED = "REVOKED"


@dataclass(frozen=True)
class PaymentLine:
    payment: Any
    refunded_cents: int
    refundable_cents: int

    @property
    def revoked(self) -> bool:
        return bool(self.payment.state == REVOKED)


@dataclass(frozen=True)
class RefundsView:
    position: Any
    residual_cents: int
    payments: list[PaymentLine]
    refunds: list[Any]


async def refunds_view(uow: UnitOfWork, ident: Identity, position_id: uuid.UUID) -> RefundsView:
    """A position's payments, what each may still be refunded, and its refunds; the view is
    recorded in the access log."""
    position = await repository.get_position(uow, ident.tenant_id, position_id)
    if position is None:
        raise NotFound()
    history = await repository.payments_of(uow, ident.tenant_id, position_id)
    refunded = await repository_refunds.refunded_of(uow, ident.tenant_id, [p.id for p in history])
    lines = [
        PaymentLine(
            p,
            refunded.get(p.id, 0),
            0 if p.state == REVOKED else refundable_cents(p.amount_cents, refunded.get(p.id, 0)),
        )
        for p in history
    ]
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_refunds", position_id)
    residual = owed_cents(position.amount_cents, position.paid_cents, position.state)
    done = await repository_refunds.refunds_of_position(uow, ident.tenant_id, position_id)
    return RefundsView(position, residual, lines, done)


# The longest list of positions holding money not owed one page shows.
NOT_OWED_LIMIT = 500


@dataclass(frozen=True)
class NotOwed:
    """A position holding `cents` of the debtor's money that it is not owed."""

    position: Any
    cents: int


async def money_not_owed_list(uow: UnitOfWork, ident: Identity) -> tuple[list[NotOwed], list[Any]]:
    """The Comune's positions holding money not owed, the largest first, and the pagoPA receipts
    left for review whose money no debt owes (`repository_refunds.receipts_not_owed`); a list
    that names someone is recorded in the access log."""
    rows = await repository_refunds.holding_more_than_owed(uow, ident.tenant_id, NOT_OWED_LIMIT)
    found = [NotOwed(r, money_not_owed(r.amount_cents, r.paid_cents, r.state, r.in_plan)) for r in rows]
    found = [f for f in found if f.cents > 0]
    receipts = await repository_refunds.receipts_not_owed(uow, ident.tenant_id, NOT_OWED_LIMIT)
    if found:
        await repository.access.record(uow, ident.tenant_id, ident.user_id, "list_money_not_owed", None)
    return found, receipts


@dataclass(frozen=True)
class RefundPreview:
    """What a refund typed in the form would do, shown for confirmation before it is recorded."""

    view: RefundsView
    payment: Any
    amount_cents: int
    refunded_on: date
    reason: str
    residual_after_cents: int


async def _checked(
    uow: UnitOfWork, ident: Identity, payment_id: uuid.UUID, values: dict[str, str], today: date
) -> tuple[Any, int, Any]:
    """The payment (locked), what earlier refunds took of it, and the refund validated."""
    payment = await repository_refunds.lock_payment(uow, ident.tenant_id, payment_id)
    if payment is None:
        raise NotFound("Pagamento non trovato.")
    if payment.state == REVOKED:
        raise DomainError("Il pagamento è stato revocato: non c'è nulla da rimborsare.", field="amount")
    already = (await repository_refunds.refunded_of(uow, ident.tenant_id, [payment.id])).get(payment.id, 0)
    refund = validate_refund(
        values.get("amount", ""),
        values.get("refunded_on", ""),
        values.get("reason", ""),
        payment.paid_on,
        refundable_cents(payment.amount_cents, already),
        today,
    )
    return payment, already, refund


async def preview_refund(
    uow: UnitOfWork, ident: Identity, payment_id: uuid.UUID, values: dict[str, str], today: date
) -> RefundPreview:
    """The refund checked as `record_refund` checks it, and the position's residual after it;
    nothing is written (the view is recorded in the access log)."""
    payment, already, refund = await _checked(uow, ident, payment_id, values, today)
    view = await refunds_view(uow, ident, payment.position_id)
    debt = debt_given_back(payment.amount_cents, payment.interest_cents, already, refund.amount_cents)
    p = view.position
    after = owed_cents(p.amount_cents, p.paid_cents - debt, p.state)
    return RefundPreview(view, payment, refund.amount_cents, refund.refunded_on, refund.reason, after)


async def record_refund(
    uow: UnitOfWork, ident: Identity, payment_id: uuid.UUID, values: dict[str, str], today: date
) -> dict[str, Any]:
    """Refund (part of) a received, not revoked payment: at most what earlier refunds left of it."""
    key = domain.check_idempotency_key(values.get("idempotency_key") or None)
    payment, already, refund = await _checked(uow, ident, payment_id, values, today)
    who = (ident.user_id, ident.display_name or None)
    refund_id = await repository_refunds.insert_refund(
        uow, ident.tenant_id, payment, refund.amount_cents, refund.refunded_on, refund.reason, who, key
    )
    if refund_id is None:
        raise Conflict("Questo rimborso è già stato registrato.")
    # The debt first, the plan's interest last (`domain_interest`): only the debt's part was on it.
    debt = debt_given_back(payment.amount_cents, payment.interest_cents, already, refund.amount_cents)
    await repository_refunds.take_from_paid(uow, ident.tenant_id, payment.position_id, debt)
    rest = refundable_cents(payment.amount_cents, already + refund.amount_cents)
    went = (refund.amount_cents, rest)
    reopened = await handlers_plan_payments.money_back(uow, ident.tenant_id, payment, went, today)
    event = PaymentRefunded(
        refund_id=str(refund_id),
        payment_id=str(payment.id),
        position_id=str(payment.position_id),
        debtor_id=str(payment.debtor_id),
        amount_cents=refund.amount_cents,
        refunded_on=refund.refunded_on.isoformat(),
        reason=refund.reason,
        recorded_by=ident.user_id,
    )
    await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
    return {
        "refund_id": str(refund_id),
        "payment_id": str(payment.id),
        "position_id": str(payment.position_id),
        "amount_cents": refund.amount_cents,
        "refunded_on": refund.refunded_on.isoformat(),
        "reopened": reopened,
    }


async def position_of(uow: UnitOfWork, ident: Identity, payment_id: uuid.UUID) -> uuid.UUID:
    """The position a payment was made on (to show its page again after a refused refund)."""
    payment = await repository_refunds.lock_payment(uow, ident.tenant_id, payment_id)
    if payment is None:
        raise NotFound("Pagamento non trovato.")
    position_id: uuid.UUID = payment.position_id
    return position_id
