"""Shared helpers for the reporting tests: build events and deliver them through the inbox."""

from __future__ import annotations

import uuid

from services.contracts import Event, PaymentReceived, PositionFact, PositionsRegistered
from services.kernel.bus import IncomingMessage
from services.kernel.envelope import Envelope
from services.kernel.messaging import inbox_handler
from services.platform import Platform
from services.reporting.consumers import PROJECTIONS


def fact(amount_cents: int, revenue_type: str = "IMU", year: int = 2021, **kw: str) -> PositionFact:
    return PositionFact(
        position_id=kw.get("position_id", str(uuid.uuid4())),
        debtor_id=kw.get("debtor_id", str(uuid.uuid4())),
        fiscal_code=kw.get("fiscal_code", "RSSMRA80A01H501U"),
        debtor_name=kw.get("debtor_name", "Mario Rossi"),
        revenue_type=revenue_type,
        year=year,
        act_number=kw.get("act_number", f"ACC-{uuid.uuid4().hex[:6]}"),
        amount_cents=amount_cents,
        act_on=kw.get("act_on", ""),
    )


def registered(*facts: PositionFact) -> PositionsRegistered:
    return PositionsRegistered(batch_id=str(uuid.uuid4()), chunk=1, chunks=1, positions=facts)


def paid(position: PositionFact, amount_cents: int, payment_id: str | None = None) -> PaymentReceived:
    return PaymentReceived(
        payment_id=payment_id or str(uuid.uuid4()),
        position_id=position.position_id,
        debtor_id=position.debtor_id,
        amount_cents=amount_cents,
        paid_on="2025-03-14",
        recorded_by="operatore",
    )


async def deliver_envelope(platform: Platform, env: Envelope) -> None:
    handler = inbox_handler(platform.databases["reporting"], PROJECTIONS)
    await handler(IncomingMessage(env.routing_key, env.encode(), str(env.message_id)))


async def deliver(platform: Platform, tenant_id: uuid.UUID, *events: Event) -> list[Envelope]:
    """Deliver each event in a fresh envelope (a new message id), as a republish would."""
    envelopes = [e.envelope(tenant_id, "test") for e in events]
    for env in envelopes:
        await deliver_envelope(platform, env)
    return envelopes
