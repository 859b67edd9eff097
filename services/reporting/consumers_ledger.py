"""Consumers of the reporting ledger's events: revocations, refunds, settlements, plans, promises
and contact data. Each decodes its event, then projects it (`handlers_ledger`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from services.contracts import (
    ChargesPaid,
    ChargesRevoked,
    DebtorContactUpdated,
    NoticeIssued,
    PaymentRefunded,
    PaymentRevoked,
    PlanCreated,
    PlanExtended,
    PlanLapsed,
    PlanReamounted,
    PositionSettled,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
)
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage
from services.reporting import handlers_ledger as handlers
from services.reporting.domain import ROME
from services.reporting.repository_charges import ChargePaid
from services.reporting.repository_ledger import Refund, Revocation

T = TypeVar("T")


def uuid_of(raw: str) -> uuid.UUID:
    return parse(uuid.UUID, raw)


def day_of(raw: str) -> date:
    return parse(date.fromisoformat, raw)


def parse(convert: Callable[[str], T], raw: str) -> T:
    """Malformed ids or dates can never succeed on retry: send the message to dead-letter."""
    try:
        return convert(raw)
    except (ValueError, TypeError) as exc:
        raise UndecodableMessage(f"bad value {raw!r}: {exc}") from exc


def moment_of(raw: str) -> datetime:
    value = parse(datetime.fromisoformat, raw)
    if value.tzinfo is None:
        raise UndecodableMessage(f"{raw!r} must be timezone-aware")
    return value


async def on_payment_revoked(uow: UnitOfWork, envelope: Envelope) -> None:
    """The flow that revoked the payment carries no date of its own: the event's day, in Rome."""
    event = PaymentRevoked.from_envelope(envelope)
    fact = Revocation(
        payment_id=uuid_of(event.payment_id),
        position_id=uuid_of(event.position_id),
        debtor_id=uuid_of(event.debtor_id),
        amount_cents=event.amount_cents,
        revoked_on=envelope.occurred_at.astimezone(ROME).date(),
        iuv=event.iuv,
        receipt_ref=event.receipt_ref,
        flow_id=event.flow_id,
    )
    await handlers.revoke_payment(uow, envelope.tenant_id, fact)


async def on_payment_refunded(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PaymentRefunded.from_envelope(envelope)
    refund = Refund(
        refund_id=uuid_of(event.refund_id),
        payment_id=uuid_of(event.payment_id),
        position_id=uuid_of(event.position_id),
        amount_cents=event.amount_cents,
        refunded_on=day_of(event.refunded_on),
        reason=event.reason,
    )
    await handlers.refund_payment(uow, envelope.tenant_id, refund)


async def on_position_settled(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PositionSettled.from_envelope(envelope)
    await handlers.settle_position(
        uow, envelope.tenant_id, uuid_of(event.position_id), day_of(event.settled_on)
    )


async def on_plan_created(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PlanCreated.from_envelope(envelope)
    values = {
        "plan_id": uuid_of(event.plan_id),
        "debtor_id": uuid_of(event.debtor_id),
        "position_ids": [uuid_of(p) for p in event.position_ids],
        "revenue_type": event.revenue_type,
        "amount_cents": event.amount_cents,
        "installments": event.installments,
        "first_due_date": day_of(event.first_due_date),
        "created_by": event.created_by,
    }
    await handlers.create_plan(uow, envelope.tenant_id, values)


async def on_plan_extended(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PlanExtended.from_envelope(envelope)
    await handlers.extend_plan(uow, envelope.tenant_id, uuid_of(event.plan_id), event.installments_after)


async def on_plan_reamounted(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PlanReamounted.from_envelope(envelope)
    plan_id = uuid_of(event.plan_id)
    await handlers.reamount_plan(uow, envelope.tenant_id, plan_id, event.installments_after, event.cut_cents)


async def on_plan_lapsed(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PlanLapsed.from_envelope(envelope)
    await handlers.lapse_plan(
        uow, envelope.tenant_id, uuid_of(event.plan_id), day_of(event.lapsed_on), event.residual_cents
    )


async def on_promise_made(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PromiseMade.from_envelope(envelope)
    await handlers.note_promise(
        uow, envelope.tenant_id, uuid_of(event.debtor_id), "made", event.amount_cents, day_of(event.due_on)
    )


async def on_promise_kept(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PromiseKept.from_envelope(envelope)
    await handlers.note_promise(uow, envelope.tenant_id, uuid_of(event.debtor_id), "kept", 0, None)


async def on_promise_broken(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PromiseBroken.from_envelope(envelope)
    await handlers.note_promise(uow, envelope.tenant_id, uuid_of(event.debtor_id), "broken", 0, None)


async def on_contact_updated(uow: UnitOfWork, envelope: Envelope) -> None:
    event = DebtorContactUpdated.from_envelope(envelope)
    await handlers.note_contact(uow, envelope.tenant_id, uuid_of(event.debtor_id), event.grade, event.active)


async def on_notice_issued(uow: UnitOfWork, envelope: Envelope) -> None:
    event = NoticeIssued.from_envelope(envelope)
    values = {
        "iuv": event.iuv,
        "nav": event.nav,
        "debtor_id": uuid_of(event.debtor_id),
        "amount_cents": event.amount_cents,
        "due_on": day_of(event.due_date) if event.due_date else None,
        "position_id": uuid_of(event.position_id) if event.position_id else None,
        "plan_id": uuid_of(event.plan_id) if event.plan_id else None,
        "installment": event.installment,
        "kind": event.kind,
    }
    await handlers.note_notice(uow, envelope.tenant_id, values)


async def on_charges_paid(uow: UnitOfWork, envelope: Envelope) -> None:
    event = ChargesPaid.from_envelope(envelope)
    paid = ChargePaid(
        payment_id=uuid_of(event.payment_id),
        plan_id=uuid_of(event.plan_id),
        debtor_id=uuid_of(event.debtor_id),
        revenue_type=event.revenue_type,
        amount_cents=event.amount_cents,
        paid_on=day_of(event.paid_on),
        iuv=event.iuv,
        receipt_ref=event.receipt_ref,
        flow_id=event.flow_id,
    )
    await handlers.charges_paid(uow, envelope.tenant_id, paid)


async def on_charges_revoked(uow: UnitOfWork, envelope: Envelope) -> None:
    """As a revoked payment: the event's day, in Rome."""
    event = ChargesRevoked.from_envelope(envelope)
    ids = (uuid_of(event.payment_id), uuid_of(event.plan_id), uuid_of(event.debtor_id))
    on = envelope.occurred_at.astimezone(ROME).date()
    await handlers.charges_revoked(uow, envelope.tenant_id, ids, event.amount_cents, on)


LEDGER_HANDLERS = {
    ChargesPaid.routing_key(): on_charges_paid,
    ChargesRevoked.routing_key(): on_charges_revoked,
    PaymentRevoked.routing_key(): on_payment_revoked,
    PaymentRefunded.routing_key(): on_payment_refunded,
    PositionSettled.routing_key(): on_position_settled,
    PlanCreated.routing_key(): on_plan_created,
    PlanExtended.routing_key(): on_plan_extended,
    PlanLapsed.routing_key(): on_plan_lapsed,
    PlanReamounted.routing_key(): on_plan_reamounted,
    PromiseMade.routing_key(): on_promise_made,
    PromiseKept.routing_key(): on_promise_kept,
    PromiseBroken.routing_key(): on_promise_broken,
    DebtorContactUpdated.routing_key(): on_contact_updated,
    NoticeIssued.routing_key(): on_notice_issued,
}
