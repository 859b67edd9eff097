"""`riscossa replay reporting`: rebuild the reporting projections of a Comune from the events they
were built from, so that a fixed projection recomputes history.

The projections consumer keeps every event it projects in `reporting.event_log`, in the same
transaction as the projection. A replay empties the Comune's projected tables (positions, payments,
refunds, plans, debtors, outcomes, batches, totals) and runs the same projection functions over the
log in its order, then re-applies the Ufficio tributi's decisions on positions (its answers are the
office's own record, kept in `case_answers`, not projected events). It holds the projections
consumer's per-Comune lock for its transaction, so live events wait and then apply on top.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping

from services.kernel.db import Database, UnitOfWork
from services.kernel.envelope import Envelope
from services.reporting import repository_ledger as ledger

log = logging.getLogger(__name__)
Projection = Callable[[UnitOfWork, Envelope], Awaitable[None]]
Decisions = Callable[[UnitOfWork, uuid.UUID], Awaitable[None]]


async def replay_tenant(
    db: Database,
    tenant_id: uuid.UUID,
    consumer: str,
    projections: Mapping[str, Projection],
    decisions: Decisions | None = None,
) -> int:
    """Rebuild one Comune's projections from its event log in one transaction; the events replayed."""

    async def work(uow: UnitOfWork) -> int:
        await ledger.lock_projections(uow, tenant_id, consumer)
        await ledger.clear_projections(uow, tenant_id)
        count = 0
        async for event in ledger.logged_events(uow, tenant_id):
            envelope = Envelope.decode(event.body)
            await projections[envelope.routing_key](uow, envelope)
            count += 1
        if decisions is not None:
            await decisions(uow, tenant_id)
        return count

    count = await db.run(tenant_id, work, correlation_id=f"replay-{tenant_id}")
    log.info("reporting replayed", extra={"fields": {"tenant_id": str(tenant_id), "events": count}})
    return count
