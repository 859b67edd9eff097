"""Ingest consumer: turns a received raw file into debtors, positions, row verdicts and events."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from services.contracts import (
    MAX_POSITIONS_PER_EVENT,
    BatchAccepted,
    BatchReceived,
    Event,
    PositionFact,
    PositionsRegistered,
)
from services.ingest import repository
from services.ingest.domain import Credit, Report, UnreadableFile
from services.ingest.reader import parse_file
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.messaging import Consumer
from services.kernel.storage import ObjectNotFound, ObjectStorage

log = logging.getLogger(__name__)
ROME = ZoneInfo("Europe/Rome")
PROCESSOR_NAME = "ingest.processor"


def current_year() -> int:
    return datetime.now(ROME).year


class BatchProcessor:
    """Handles `BatchReceived`; needs object storage, so it is built from the service context."""

    def __init__(self, storage: ObjectStorage) -> None:
        self.storage = storage

    async def __call__(self, uow: UnitOfWork, envelope: Envelope) -> None:
        event = BatchReceived.from_envelope(envelope)
        tenant_id = envelope.tenant_id
        try:
            batch_id = uuid.UUID(event.batch_id)
        except ValueError as exc:
            raise UndecodableMessage(f"bad batch id {event.batch_id!r}") from exc
        batch = await repository.get_batch(uow, tenant_id, batch_id, for_update=True)
        if batch is None or batch.status not in ("received", "processing"):
            log.warning("batch not waiting for processing", extra={"fields": {"batch_id": str(batch_id)}})
            return
        try:
            report = await self._parse(tenant_id, batch.raw_key)
        except UnreadableFile as exc:
            # A file that cannot be read will not become readable on retry: record why and stop.
            await repository.mark_failed(uow, tenant_id, batch_id, exc.message)
            return
        await register(uow, tenant_id, batch_id, batch.filename, report)

    async def _parse(self, tenant_id: uuid.UUID, key: str) -> Report:
        with tempfile.TemporaryDirectory(prefix="riscossa-ingest-") as folder:
            path = Path(folder) / "raw"
            try:
                await download(self.storage, tenant_id, key, path)
            except ObjectNotFound as exc:
                raise UnreadableFile("Il file caricato non è più disponibile in archivio.") from exc
            return await asyncio.to_thread(parse_file, path, current_year())


async def download(storage: ObjectStorage, tenant_id: uuid.UUID, key: str, path: Path) -> None:
    handle = await asyncio.to_thread(path.open, "wb")
    try:
        async for chunk in storage.stream(tenant_id, key):
            await asyncio.to_thread(handle.write, chunk)
    finally:
        handle.close()


async def register(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, filename: str, report: Report
) -> None:
    """Write the batch outcome and publish it, all in the handler's transaction."""
    credits = report.accepted_credits
    debtor_ids = await repository.upsert_debtors(uow, tenant_id, credits)
    rows = [_position_row(c, debtor_ids[c.fiscal_code]) for c in credits]
    inserted = await repository.insert_new_positions(uow, tenant_id, batch_id, rows)
    await repository.insert_batch_rows(uow, tenant_id, batch_id, report.verdicts)
    summary = summarise(report)
    await repository.complete_batch(
        uow, tenant_id, batch_id, {**summary, "registered": len(inserted), "header_line": report.header_line}
    )
    facts = [_fact(r, c) for r, c in zip(rows, credits, strict=True) if r["id"] in inserted]
    events: list[Event] = [*position_events(str(batch_id), facts)]
    events.append(BatchAccepted(batch_id=str(batch_id), filename=filename, **summary))
    await uow.publish([e.envelope(tenant_id, uow.correlation_id) for e in events])


def summarise(report: Report) -> dict[str, Any]:
    return {
        "data_rows": report.data_rows,
        "accepted": report.count("accepted"),
        "accepted_total_cents": report.accepted_total_cents,
        "duplicates": report.count("duplicate"),
        "conflicts": report.count("conflict"),
        "rejected": report.rejected,
    }


def position_events(batch_id: str, facts: list[PositionFact]) -> list[PositionsRegistered]:
    size = MAX_POSITIONS_PER_EVENT
    chunks = (len(facts) + size - 1) // size
    return [
        PositionsRegistered(
            batch_id=batch_id, chunk=n + 1, chunks=chunks, positions=tuple(facts[n * size : (n + 1) * size])
        )
        for n in range(chunks)
    ]


def _position_row(credit: Credit, debtor_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "debtor_id": debtor_id,
        "revenue_type": credit.revenue_type,
        "year": credit.year,
        "act_number": credit.act_number,
        "amount_cents": credit.amount_cents,
    }


def _fact(row: dict[str, Any], credit: Credit) -> PositionFact:
    return PositionFact(
        position_id=str(row["id"]),
        debtor_id=str(row["debtor_id"]),
        fiscal_code=credit.fiscal_code,
        debtor_name=credit.name,
        revenue_type=credit.revenue_type,
        year=credit.year,
        act_number=credit.act_number,
        amount_cents=credit.amount_cents,
    )


def processor(storage: ObjectStorage) -> Consumer:
    return Consumer(name=PROCESSOR_NAME, handlers={BatchReceived.routing_key(): BatchProcessor(storage)})
