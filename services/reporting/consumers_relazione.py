"""The reporting worker's relazioni: `ReportRequested` runs the generation (it needs object storage,
so the consumer is built from the service context); the last failed attempt marks it failed."""

from __future__ import annotations

import uuid

from services.contracts_reporting import ReportRequested
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.messaging import Consumer
from services.kernel.storage import ObjectStorage
from services.reporting import handlers_relazione

# The queue is `<prefix>.reporting.relazioni` (riscossa.reporting.relazioni in Kubernetes).
NAME = "reporting.relazioni"


def _report_id(envelope: Envelope) -> uuid.UUID:
    event = ReportRequested.from_envelope(envelope)
    try:
        return uuid.UUID(event.report_id)
    except ValueError as exc:
        raise UndecodableMessage(f"bad report id {event.report_id!r}") from exc


class ReportRunner:
    def __init__(self, storage: ObjectStorage) -> None:
        self.storage = storage

    async def __call__(self, uow: UnitOfWork, envelope: Envelope) -> None:
        await handlers_relazione.run_report(uow, envelope.tenant_id, _report_id(envelope), self.storage)


async def report_failed(uow: UnitOfWork, envelope: Envelope, error: Exception) -> None:
    await handlers_relazione.fail_report(uow, envelope.tenant_id, _report_id(envelope))


def relazioni(storage: ObjectStorage) -> Consumer:
    return Consumer(
        name=NAME,
        handlers={ReportRequested.routing_key(): ReportRunner(storage)},
        on_final_failure=report_failed,
    )
