"""A batch's `PositionsRegistered` and `ContactsRegistered` events, written to the outbox in bulk."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from services.contracts import (
    MAX_CONTACTS_PER_EVENT,
    MAX_POSITIONS_PER_EVENT,
    ContactsRegistered,
    Event,
    PositionsRegistered,
)
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.fact_events import publish_fact_chunks

# The facts of a batch's events are written as JSON by the database and gathered 500 to an event
# here (`Envelope.encode_with`): a million-row batch carries about two million facts, too many to
# decode into Python objects and encode again, and aggregating them in SQL sorted them all to disk.
# The keys are the fields of `contracts.PositionFact` and `contracts.ContactFact` (a test checks).
POSITION_FACT_SQL = {
    "position_id": "p.id::text",
    "debtor_id": "p.debtor_id::text",
    "fiscal_code": "d.fiscal_code",
    "debtor_name": "d.name",
    "revenue_type": "p.revenue_type",
    "year": "p.year",
    "act_number": "p.act_number",
    "amount_cents": "p.amount_cents",
    "debtor_grade": "d.grade",
    "act_on": "coalesce(to_char(p.act_on, 'YYYY-MM-DD'), '')",
}
CONTACT_FACT_SQL = {
    "debtor_id": "c.debtor_id::text",
    "contact_id": "c.id::text",
    "kind": "c.kind",
    "value": "c.value",
    "source": "c.source",
    "found_on": "to_char(c.found_on, 'YYYY-MM-DD')",
    "confidence": "c.confidence::int",
    "active": "c.active",
}


def _facts_query(facts: dict[str, str], source: str) -> str:
    # row_to_json of a row of named columns writes the same JSON as json_build_object at about half
    # its cost (PostgreSQL 15 looks up each argument's type again on every row of json_build_object).
    columns = ", ".join(f"{expr} AS {name}" for name, expr in facts.items())
    return f"SELECT row_to_json(f)::text FROM (SELECT {columns} FROM {source}) f"


_BATCH_FACTS = {
    "positions": _facts_query(
        POSITION_FACT_SQL,
        "ingest.positions p JOIN ingest.debtors d ON d.tenant_id = p.tenant_id AND d.id = p.debtor_id "
        "WHERE p.tenant_id = $1 AND p.batch_id = $2",
    ),
    # Only contacts this batch inserted carry its id: a datum already known keeps its first batch.
    "contacts": _facts_query(
        CONTACT_FACT_SQL, "ingest.contacts c WHERE c.tenant_id = $1 AND c.batch_id = $2"
    ),
}
_BATCH_FACT_COUNTS = {
    "positions": "SELECT count(*) FROM ingest.positions WHERE tenant_id = $1 AND batch_id = $2",
    "contacts": "SELECT count(*) FROM ingest.contacts WHERE tenant_id = $1 AND batch_id = $2",
}
EVENTS_PER_FETCH = 100
CONTRACTS: dict[str, tuple[type[Event], int]] = {
    "positions": (PositionsRegistered, MAX_POSITIONS_PER_EVENT),
    "contacts": (ContactsRegistered, MAX_CONTACTS_PER_EVENT),
}


async def publish_batch_events(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, kind: str, size: int, event: Envelope
) -> int:
    """Write the `PositionsRegistered` ("positions") or `ContactsRegistered` ("contacts") events of
    a batch to the outbox, `size` facts each (in the order the database reads them, sorting two
    million facts cost more than all the rest), in this transaction; returns how many.

    `event` is the envelope of the first event with the batch id in its payload
    (`fact_events.publish_fact_chunks` makes the others and checks the first against the contract).
    """
    contract, most = CONTRACTS[kind]
    if not 0 < size <= most:
        raise ValueError(f"{contract.__name__} carries 1 to {most} facts, not {size}")
    raw = (await (await uow.connection()).get_raw_connection()).driver_connection
    total = await raw.fetchval(_BATCH_FACT_COUNTS[kind], tenant_id, batch_id)  # type: ignore[union-attr]
    return await publish_fact_chunks(
        uow, contract, event, _facts(raw, kind, tenant_id, batch_id, size), total, size
    )


async def _facts(
    raw: Any, kind: str, tenant_id: uuid.UUID, batch_id: uuid.UUID, size: int
) -> AsyncIterator[list[str]]:
    cursor = await raw.cursor(_BATCH_FACTS[kind], tenant_id, batch_id)
    while facts := [r[0] for r in await cursor.fetch(size * EVENTS_PER_FETCH)]:
        yield facts
