"""The events of a reconciliation import: the payments it applied (`PaymentsReceived`, chunked as
the database writes them) and, of a reporting flow, the payments already known from their receipts
that it reports (`PaymentsReported`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict

from services.contracts import (
    MOST_PAYMENTS_PER_EVENT,
    PaymentFact,
    PaymentsReceived,
    PaymentsReported,
    ReportedFact,
)
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.fact_events import publish_fact_chunks
from services.kernel.identity import Identity
from services.payments import repository_bulk


async def announce(
    uow: UnitOfWork, ident: Identity, flow_id: str | None, facts: list[PaymentFact], plain: int
) -> None:
    """The applied payments as `PaymentsReceived` events of at most 500 facts, one import one batch:
    those decided in Python first, then the plain ones as the database writes them."""
    total = len(facts) + plain
    if not total:
        return
    first = Envelope(
        PaymentsReceived.TYPE,
        PaymentsReceived.VERSION,
        ident.tenant_id,
        {"batch_id": flow_id or str(uuid.uuid4())},
        uow.correlation_id,
    )

    async def texts() -> AsyncIterator[list[str]]:
        if facts:
            yield [json.dumps(asdict(f), separators=(",", ":"), ensure_ascii=False) for f in facts]
        if plain:
            async for part in repository_bulk.plain_facts(uow, "flow" if flow_id else "receipt", flow_id):
                yield part

    await publish_fact_chunks(uow, PaymentsReceived, first, texts(), total, MOST_PAYMENTS_PER_EVENT)


def reported(ident: Identity, flow_id: str, facts: list[ReportedFact], correlation_id: str) -> list[Envelope]:
    """`PaymentsReported` of a flow, at most `MOST_PAYMENTS_PER_EVENT` facts each."""
    step = MOST_PAYMENTS_PER_EVENT
    parts = [facts[i : i + step] for i in range(0, len(facts), step)]
    return [
        PaymentsReported(flow_id, n, len(parts), flow_id, tuple(part)).envelope(
            ident.tenant_id, correlation_id
        )
        for n, part in enumerate(parts, 1)
    ]
