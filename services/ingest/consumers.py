"""Ingest consumer: decodes `BatchReceived` and hands the batch to its use case (`handlers`).

The kernel's consumer wrapper owns the transaction (inbox, commit, retries, dead-letter queue);
what a batch goes through is in `pipeline`.
"""

from __future__ import annotations

import uuid

from services.contracts import BatchReceived, ContactDatumInvalidated
from services.ingest import handlers, handlers_tracing
from services.ingest.reader import DEFAULT_LIMITS, Limits
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.messaging import Consumer
from services.kernel.storage import ObjectStorage

PROCESSOR_NAME = "ingest.processor"


class BatchProcessor:
    """Handles `BatchReceived`; needs object storage, so it is built from the service context."""

    def __init__(self, storage: ObjectStorage, limits: Limits = DEFAULT_LIMITS) -> None:
        self.storage = storage
        self.limits = limits

    async def __call__(self, uow: UnitOfWork, envelope: Envelope) -> None:
        event = BatchReceived.from_envelope(envelope)
        try:
            batch_id = uuid.UUID(event.batch_id)
        except ValueError as exc:
            raise UndecodableMessage(f"bad batch id {event.batch_id!r}") from exc
        await handlers.process_batch(uow, envelope.tenant_id, batch_id, self.storage, self.limits)


async def batch_failed(uow: UnitOfWork, envelope: Envelope, error: Exception) -> None:
    """The last attempt failed: the batch is marked failed (`handlers.fail_batch`)."""
    try:
        batch_id = uuid.UUID(BatchReceived.from_envelope(envelope).batch_id)
    except ValueError:
        return
    await handlers.fail_batch(uow, envelope.tenant_id, batch_id, error)


def processor(storage: ObjectStorage, limits: Limits = DEFAULT_LIMITS) -> Consumer:
    return Consumer(
        name=PROCESSOR_NAME,
        handlers={BatchReceived.routing_key(): BatchProcessor(storage, limits)},
        on_final_failure=batch_failed,
        # A batch is a whole file: a worker works on two at most (one read and judged while the
        # other waits for its Comune or settles in PostgreSQL), so that batches queued behind them
        # go to the other workers and a worker's memory stays that of two files.
        prefetch=2,
    )


async def on_contact_datum_invalidated(uow: UnitOfWork, envelope: Envelope) -> None:
    """A phone found wrong in a call: deactivated here too, its debtor regraded and traced."""
    event = ContactDatumInvalidated.from_envelope(envelope)
    try:
        contact_id = uuid.UUID(event.contact_id)
    except ValueError as exc:
        raise UndecodableMessage(f"bad contact id {event.contact_id!r}") from exc
    await handlers_tracing.invalidate_by_call(uow, envelope.tenant_id, contact_id, event.operator)


calls = Consumer(
    name="ingest.calls",
    handlers={ContactDatumInvalidated.routing_key(): on_contact_datum_invalidated},
)
