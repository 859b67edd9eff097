"""Event handlers of the contact service."""

from __future__ import annotations

from services.contact import repository
from services.contracts import PositionsRegistered
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.messaging import Consumer


async def on_positions_registered(uow: UnitOfWork, envelope: Envelope) -> None:
    """Put the registered positions' debtors in the work queue."""
    event = PositionsRegistered.from_envelope(envelope)
    await repository.register_positions(uow, envelope.tenant_id, event.positions)


queue_builder = Consumer(
    name="contact.queue_builder",
    handlers={PositionsRegistered.routing_key(): on_positions_registered},
)
