"""Every event a test run wrote to an outbox must decode to its contract class.

Some event bodies are assembled by SQL for speed (a batch's `PositionsRegistered` and
`ContactsRegistered`): this is where the contract's own checks (field types, at most 500 facts)
run on them. `tests/conftest.py` applies it to the whole test database at the end of the run.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts import ALL_EVENTS, Event
from services.kernel.envelope import Envelope, UndecodableMessage

CONTRACTS: dict[str, type[Event]] = {event.routing_key(): event for event in ALL_EVENTS}


def violation(routing_key: str, body: bytes) -> str | None:
    """Why this outbox row does not hold its contract, or None when it does."""
    contract = CONTRACTS.get(routing_key)
    if contract is None:
        return f"no contract for {routing_key}"
    try:
        envelope = Envelope.decode(bytes(body))
        if envelope.routing_key != routing_key:
            return f"envelope says {envelope.routing_key}"
        contract.from_envelope(envelope)
    except (UndecodableMessage, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


async def outbox_violations(conn: AsyncConnection) -> list[tuple[str, str, str]]:
    """(schema, message id, why) for every outbox row of every schema that breaks its contract."""
    schemas = await conn.execute(
        sa.text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'")
    )
    found: list[tuple[str, str, str]] = []
    for (schema,) in schemas.all():
        rows: Any = await conn.stream(
            sa.text(f'SELECT message_id, routing_key, body FROM "{schema}".outbox ORDER BY id')
        )
        async for message_id, routing_key, body in rows:
            why = violation(routing_key, body)
            if why is not None:
                found.append((schema, str(message_id), why))
    return found
