"""Event handlers of the payments service."""

from __future__ import annotations

from services.contracts import PositionsRegistered
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.messaging import Consumer
from services.payments import handlers


async def on_positions_registered(uow: UnitOfWork, envelope: Envelope) -> None:
    """Open a balance for every newly registered position."""
    event = PositionsRegistered.from_envelope(envelope)
    await handlers.register_positions(uow, envelope.tenant_id, event.positions)


balances = Consumer(
    name="payments.balances",
    handlers={PositionsRegistered.routing_key(): on_positions_registered},
)
