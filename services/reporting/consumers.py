"""Projections fed by the other services' events; each handler is idempotent on the event's own id."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from services.contracts import BatchAccepted, OutcomeRecorded, PaymentReceived, PositionsRegistered
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.messaging import Consumer
from services.reporting import repository as repo

T = TypeVar("T")


async def on_positions_registered(uow: UnitOfWork, envelope: Envelope) -> None:
    """New positions add to the assigned amount; positions already known are ignored."""
    event = PositionsRegistered.from_envelope(envelope)
    tenant = envelope.tenant_id
    inserted = set(await repo.insert_positions(uow, tenant, event.batch_id, event.positions))
    if not inserted:
        return
    assigned = sum(f.amount_cents for f in event.positions if uuid.UUID(f.position_id) in inserted)
    await repo.catch_up_collected(uow, tenant, sorted(inserted))
    await repo.bump_totals(uow, tenant, assigned_cents=assigned, positions=len(inserted))


async def on_payment_received(uow: UnitOfWork, envelope: Envelope) -> None:
    """A payment counts once, keyed by its payment id, even if redelivered in a new envelope."""
    event = PaymentReceived.from_envelope(envelope)
    tenant = envelope.tenant_id
    payment_id, position_id = _uuid(event.payment_id), _uuid(event.position_id)
    paid_on = _parse(date.fromisoformat, event.paid_on)
    if not await repo.insert_payment(uow, tenant, payment_id, position_id, event.amount_cents, paid_on):
        return
    await repo.credit_position(uow, tenant, position_id, event.amount_cents)
    await repo.bump_totals(uow, tenant, collected_cents=event.amount_cents, payments=1)


async def on_outcome_recorded(uow: UnitOfWork, envelope: Envelope) -> None:
    event = OutcomeRecorded.from_envelope(envelope)
    tenant = envelope.tenant_id
    recorded_at = _parse(datetime.fromisoformat, event.recorded_at)
    if recorded_at.tzinfo is None:
        raise UndecodableMessage("recorded_at must be timezone-aware")
    inserted = await repo.insert_outcome(
        uow, tenant, _uuid(event.contact_id), _uuid(event.debtor_id), event.outcome, recorded_at
    )
    if inserted:
        await repo.bump_totals(uow, tenant, outcomes=1)
        await repo.refresh_debtors_contacted(uow, tenant)


async def on_batch_accepted(uow: UnitOfWork, envelope: Envelope) -> None:
    event = BatchAccepted.from_envelope(envelope)
    values = {
        "batch_id": _uuid(event.batch_id),
        "filename": event.filename,
        "data_rows": event.data_rows,
        "accepted": event.accepted,
        "accepted_total_cents": event.accepted_total_cents,
        "rejected": dict(event.rejected),
    }
    await repo.insert_batch(uow, envelope.tenant_id, values)


def _uuid(raw: str) -> uuid.UUID:
    return _parse(uuid.UUID, raw)


def _parse(parse: Callable[[str], T], raw: str) -> T:
    """Malformed ids or dates can never succeed on retry: send the message to dead-letter."""
    try:
        return parse(raw)
    except (ValueError, TypeError) as exc:
        raise UndecodableMessage(f"bad value {raw!r}: {exc}") from exc


PROJECTIONS = Consumer(
    name="reporting.projections",
    handlers={
        PositionsRegistered.routing_key(): on_positions_registered,
        PaymentReceived.routing_key(): on_payment_received,
        OutcomeRecorded.routing_key(): on_outcome_recorded,
        BatchAccepted.routing_key(): on_batch_accepted,
    },
    # A payment and its position may arrive concurrently; each handler must see the other's rows.
    serialize_per_tenant=True,
)
