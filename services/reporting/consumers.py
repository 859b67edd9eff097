"""Consumers of the reporting service: decode the other services' events, then project them
(`handlers`), each idempotent on the event's own id."""

from __future__ import annotations

from datetime import date, datetime

from services.contracts import (
    AlreadyPaidClaimed,
    AlreadyPaidEvidenceAttached,
    BatchAccepted,
    CaseOpened,
    DebtorDeceased,
    DisputeOpened,
    HardshipFlagged,
    OutcomeRecorded,
    PaymentReceived,
    PaymentsReceived,
    PaymentsReported,
    PositionsRegistered,
)
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.messaging import Consumer, EventHandler
from services.reporting import handlers, handlers_cases
from services.reporting import repository_ledger as ledger
from services.reporting.consumers_ledger import LEDGER_HANDLERS, parse, uuid_of
from services.reporting.domain import Outcome, Payment


async def on_positions_registered(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PositionsRegistered.from_envelope(envelope)
    await handlers.register_positions(
        uow, envelope.tenant_id, event.batch_id, event.positions, envelope.occurred_at
    )


async def on_payment_received(uow: UnitOfWork, envelope: Envelope) -> None:
    event = PaymentReceived.from_envelope(envelope)
    payment_id, position_id = _uuid(event.payment_id), _uuid(event.position_id)
    paid_on = _parse(date.fromisoformat, event.paid_on)
    payment = Payment(
        payment_id,
        position_id,
        event.amount_cents,
        paid_on,
        _uuid(event.debtor_id),
        event.source,
        event.iuv,
        event.receipt_ref,
        event.flow_id,
        envelope.occurred_at,
        event.interest_cents,
    )
    await handlers.register_payment(uow, envelope.tenant_id, payment)


async def on_payments_received(uow: UnitOfWork, envelope: Envelope) -> None:
    """The payments of a reconciliation import, each counted as a single payment would be."""
    event = PaymentsReceived.from_envelope(envelope)
    for fact in event.payments:
        paid_on = _parse(date.fromisoformat, fact.paid_on)
        payment = Payment(
            _uuid(fact.payment_id),
            _uuid(fact.position_id),
            fact.amount_cents,
            paid_on,
            _uuid(fact.debtor_id),
            fact.source,
            fact.iuv,
            fact.receipt_ref,
            fact.flow_id,
            envelope.occurred_at,
            fact.interest_cents,
        )
        await handlers.register_payment(uow, envelope.tenant_id, payment)


async def on_outcome_recorded(uow: UnitOfWork, envelope: Envelope) -> None:
    event = OutcomeRecorded.from_envelope(envelope)
    recorded_at = _parse(datetime.fromisoformat, event.recorded_at)
    if recorded_at.tzinfo is None:
        raise UndecodableMessage("recorded_at must be timezone-aware")
    outcome = Outcome(_uuid(event.contact_id), _uuid(event.debtor_id), event.outcome, recorded_at)
    await handlers.register_outcome(uow, envelope.tenant_id, outcome)


async def on_batch_accepted(uow: UnitOfWork, envelope: Envelope) -> None:
    event = BatchAccepted.from_envelope(envelope)
    values = {
        "batch_id": _uuid(event.batch_id),
        "filename": event.filename,
        "data_rows": event.data_rows,
        "accepted": event.accepted,
        "accepted_total_cents": event.accepted_total_cents,
        "rejected": dict(event.rejected),
        "accepted_at": envelope.occurred_at,
    }
    await handlers.register_batch(uow, envelope.tenant_id, values)


# The cases the contact service opens for the Ufficio tributi, by event.
CASE_KINDS: dict[str, tuple[type[CaseOpened], str]] = {
    DisputeOpened.routing_key(): (DisputeOpened, "dispute"),
    AlreadyPaidClaimed.routing_key(): (AlreadyPaidClaimed, "already_paid"),
    HardshipFlagged.routing_key(): (HardshipFlagged, "hardship"),
    DebtorDeceased.routing_key(): (DebtorDeceased, "deceased"),
}


async def on_case_opened(uow: UnitOfWork, envelope: Envelope) -> None:
    """A call that needs the office's decision joins its worklist."""
    contract, kind = CASE_KINDS[envelope.routing_key]
    event = contract.from_envelope(envelope)
    opened_at = _parse(datetime.fromisoformat, event.opened_at)
    if opened_at.tzinfo is None:
        raise UndecodableMessage("opened_at must be timezone-aware")
    values = {
        "id": _uuid(event.contact_id),
        "debtor_id": _uuid(event.debtor_id),
        "kind": kind,
        "note": event.note,
        "operator": event.operator,
        "opened_at": opened_at,
    }
    await handlers_cases.open_case(uow, envelope.tenant_id, values)


async def on_evidence_attached(uow: UnitOfWork, envelope: Envelope) -> None:
    """A receipt sent with a claim of payment: the office downloads it from the worklist."""
    event = AlreadyPaidEvidenceAttached.from_envelope(envelope)
    values = {
        "id": _uuid(event.attachment_id),
        "case_id": _uuid(event.contact_id),
        "file_name": event.file_name,
        "media_type": event.media_type,
        "size_bytes": event.size_bytes,
        "sha256": event.sha256,
        "object_key": event.object_key,
        "uploaded_at": _parse(datetime.fromisoformat, event.uploaded_at),
    }
    await handlers_cases.add_evidence(uow, envelope.tenant_id, values)


async def on_payments_reported(uow: UnitOfWork, envelope: Envelope) -> None:
    """A reporting flow reported payments known from their receipts: each now names its flow."""
    event = PaymentsReported.from_envelope(envelope)
    ids = [_uuid(f.payment_id) for f in event.payments]
    await handlers.register_flow(uow, envelope.tenant_id, event.flow_id, ids)


_uuid, _parse = uuid_of, parse

PROJECTION_NAME = "reporting.projections"
# What the projections consumer does with each event; `riscossa replay reporting` runs the same
# functions over the event log.
PROJECTION_HANDLERS: dict[str, EventHandler] = {
    PositionsRegistered.routing_key(): on_positions_registered,
    PaymentReceived.routing_key(): on_payment_received,
    PaymentsReceived.routing_key(): on_payments_received,
    PaymentsReported.routing_key(): on_payments_reported,
    OutcomeRecorded.routing_key(): on_outcome_recorded,
    BatchAccepted.routing_key(): on_batch_accepted,
    **LEDGER_HANDLERS,
}


def logged(handler: EventHandler) -> EventHandler:
    """Keep the event in the log, in the projection's transaction, then project it."""

    async def log_then_project(uow: UnitOfWork, envelope: Envelope) -> None:
        await ledger.log_event(
            uow,
            envelope.tenant_id,
            PROJECTION_NAME,
            envelope.message_id,
            envelope.routing_key,
            envelope.encode(),
        )
        await handler(uow, envelope)

    return log_then_project


PROJECTIONS = Consumer(
    name=PROJECTION_NAME,
    handlers={key: logged(handler) for key, handler in PROJECTION_HANDLERS.items()},
    # A payment and its position may arrive concurrently; each handler must see the other's rows.
    serialize_per_tenant=True,
)


CASES = Consumer(
    name="reporting.cases",
    handlers={
        **dict.fromkeys(CASE_KINDS, on_case_opened),
        AlreadyPaidEvidenceAttached.routing_key(): on_evidence_attached,
    },
)
