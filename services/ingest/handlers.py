"""Use cases of batches: one plain function each, run in the unit of work of its entrypoint.

The views (`web*.py`) and the consumer (`consumers.py`) call these; none of them commits (the
entrypoint does). Debtors, contacts and tracing are in `handlers_tracing`; the stages a received
batch goes through are in `pipeline`.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.contracts import BatchReceived
from services.ingest import pipeline, repository
from services.ingest.dates import today
from services.ingest.domain import UnreadableFile
from services.ingest.domain_mapping import ColumnMapping, MappingError, header_signature, mapping_from_choices
from services.ingest.domain_verdicts import RowVerdict, validate
from services.ingest.reader import Limits
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.storage import ObjectStorage, StoredObject

log = logging.getLogger(__name__)
PROCESSING = ("received", "processing")
NOT_WAITING = "Questo caricamento non è in attesa di conferma delle colonne."
NOT_DISCARDABLE = (
    "Si scarta solo un caricamento in attesa di conferma delle colonne: questo è già elaborato, "
    "in elaborazione o scartato."
)
INTERNAL_ERROR = (
    "Elaborazione non riuscita per un errore interno: nessuna riga del file è stata registrata. "
    "Riprova a caricarlo; se l'errore si ripete, contatta l'assistenza."
)
REPORT_PAGE_ROWS = 5000


@dataclass(frozen=True)
class BatchStatus:
    """What the batch page shows: the batch, its first problem rows, its progress while processed."""

    batch: Any
    rows: list[Any]
    progress: Any
    # The first earlier batch of the same file, when it was loaded before.
    earlier: Any = None


@dataclass(frozen=True)
class MappingPreview:
    """The sample rows of a waiting batch judged with a user's choice of columns."""

    mapping: ColumnMapping
    missing: list[str]
    rows: list[RowVerdict]


# ---------------------------------------------------------------- upload and reading


async def _queue_processing(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> None:
    await uow.publish([BatchReceived(batch_id=str(batch_id)).envelope(tenant_id, uow.correlation_id)])


async def receive_batch(
    uow: UnitOfWork,
    ident: Identity,
    batch_id: uuid.UUID,
    filename: str,
    stored: StoredObject,
    encoding: str | None,
    sheet: str | None,
) -> None:
    """Record an uploaded file (already in storage) as a batch and queue its processing."""
    await repository.insert_batch(uow, ident.tenant_id, batch_id, filename, stored, ident.display_name)
    await repository.set_choices(uow, ident.tenant_id, batch_id, encoding, sheet)
    await _queue_processing(uow, ident.tenant_id, batch_id)


async def list_batches(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Any]:
    """The Comune's latest batches."""
    return await repository.list_batches(uow, tenant_id)


async def get_batch(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> Any:
    """One batch of the Comune; NotFound otherwise."""
    batch = await repository.get_batch(uow, tenant_id, batch_id)
    if batch is None:
        raise NotFound("Caricamento non trovato.")
    return batch


async def batch_status(uow: UnitOfWork, ident: Identity, batch_id: uuid.UUID) -> BatchStatus:
    """A batch with its problem rows (their reading recorded) and, while processed, its progress."""
    batch = await get_batch(uow, ident.tenant_id, batch_id)
    rows = await repository.list_problem_rows(uow, ident.tenant_id, batch_id)
    # Rejected rows, or the sample rows of a file waiting for its columns, are personal data.
    if rows or batch.status == "needs_mapping":
        await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_batch_rows", batch_id)
    progress = None
    if batch.status in PROCESSING:
        progress = await repository.get_progress(uow, ident.tenant_id, batch.id)
    return BatchStatus(batch, rows, progress, await repository.same_file_before(uow, ident.tenant_id, batch))


async def batch_rows(
    uow: UnitOfWork, ident: Identity, batch_id: uuid.UUID, verdict: str | None, after: int, limit: int
) -> list[Any]:
    """A page of a batch's rows with their verdicts (`repository.list_rows`), their reading recorded."""
    await get_batch(uow, ident.tenant_id, batch_id)
    rows = await repository.list_rows(uow, ident.tenant_id, batch_id, verdict, after, limit)
    detail = f"verdict={verdict or ''} after={after} rows={len(rows)}"
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "api_rows", batch_id, detail)
    return rows


async def problem_rows(
    uow: UnitOfWork, ident: Identity, batch_id: uuid.UUID, action: str, which: str = "problem"
) -> tuple[Any, list[Any]]:
    """A batch and all the rows it did not register (`which` "problem"), or registered with
    warnings ("warning"), for its report (downloaded: `action`)."""
    batch = await get_batch(uow, ident.tenant_id, batch_id)
    rows: list[Any] = []
    after = 0
    while page_rows := await repository.list_rows(
        uow, ident.tenant_id, batch_id, which, after=after, limit=REPORT_PAGE_ROWS
    ):
        rows.extend(page_rows)
        after = page_rows[-1].row_number
    await repository.access.record(
        uow, ident.tenant_id, ident.user_id, action, batch_id, f"{len(rows)} righe"
    )
    return batch, rows


# ---------------------------------------------------------------- column mapping


async def waiting_batch(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> Any:
    """A batch waiting for its columns to be confirmed; Conflict when it is not."""
    batch = await get_batch(uow, tenant_id, batch_id)
    if batch.status != "needs_mapping" or not batch.layout:
        raise Conflict(NOT_WAITING)
    return batch


async def preview_mapping(
    uow: UnitOfWork, ident: Identity, batch: Any, choices: dict[int, str]
) -> MappingPreview:
    """The sample rows of a waiting batch judged with a user's choice (column -> field), recorded."""
    columns = {name: i for i, name in sorted(choices.items()) if name}
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_mapping_preview", batch.id)
    mapping = ColumnMapping(columns)
    missing = mapping.missing()
    rows: list[RowVerdict] = []
    if not missing:
        sample = [(n + 1, list(cells)) for n, cells in enumerate(batch.layout["sample"])]
        rows = validate(sample, mapping, 0, today().year).verdicts
    return MappingPreview(mapping, missing, rows)


async def apply_mapping(uow: UnitOfWork, ident: Identity, batch: Any, choices: dict[int, str]) -> None:
    """Check a user's mapping, save it for the Comune's header and send the batch back to the queue."""
    header = list(batch.layout["header"])
    try:
        mapping = mapping_from_choices(choices, len(header))
    except MappingError as exc:
        raise DomainError(exc.message, field="mapping") from exc
    chosen = {"header_line": batch.layout["header_line"], "columns": mapping.columns}
    if not await repository.confirm_mapping(uow, ident.tenant_id, batch.id, chosen):
        raise Conflict(NOT_WAITING)
    signature = header_signature(header)
    await repository.save_mapping(
        uow, ident.tenant_id, signature, header, mapping.columns, ident.display_name
    )
    await _queue_processing(uow, ident.tenant_id, batch.id)


async def discard_batch(uow: UnitOfWork, ident: Identity, batch_id: uuid.UUID) -> Any:
    """Discard a batch waiting for its columns (a file loaded by mistake): nothing of it is
    registered; recorded in the access log. The batch, whose raw file the caller removes."""
    batch = await get_batch(uow, ident.tenant_id, batch_id)
    who = ident.display_name or ident.user_id
    if not await repository.mark_discarded(uow, ident.tenant_id, batch.id, who):
        raise Conflict(NOT_DISCARDABLE)
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "discard_batch", batch.id)
    return batch


# ---------------------------------------------------------------- processing (the consumer's)


async def process_batch(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, storage: ObjectStorage, limits: Limits
) -> None:
    """Turn a received batch into row verdicts, debtors, positions, contacts and events; a file that
    cannot be registered as it is leaves the batch failed or waiting for its columns."""
    batch = await repository.get_batch(uow, tenant_id, batch_id, for_update=True)
    if batch is None or not (batch.status in PROCESSING or _dead_lettered(batch)):
        log.warning("batch not waiting for processing", extra={"fields": {"batch_id": str(batch_id)}})
        return
    with tempfile.TemporaryDirectory(prefix="riscossa-ingest-") as folder:
        path = Path(folder) / "raw"
        try:
            await pipeline.process(uow, batch, path, storage, limits)
        except UnreadableFile as exc:
            # A file that cannot be read will not become readable on retry: record why and stop.
            await repository.mark_failed(uow, tenant_id, batch_id, exc.message)
        except pipeline.NeedsMapping as waiting:
            await repository.mark_needs_mapping(uow, tenant_id, batch_id, waiting.layout)


def _dead_lettered(batch: Any) -> bool:
    """A batch `fail_batch` marked failed when its message went to the dead-letter queue: replayed
    from there (`riscossa dlq replay`), it is processed again. Its message was never taken by the
    inbox (every attempt rolled back), so only a replay delivers it again."""
    return bool(batch.status == "failed" and batch.error == INTERNAL_ERROR)


async def fail_batch(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, error: Exception) -> None:
    """After the last failed attempt (the message goes to the dead-letter queue), a batch still
    waiting is marked failed, so that its page does not say "in elaborazione" for ever."""
    batch = await repository.get_batch(uow, tenant_id, batch_id, for_update=True)
    if batch is not None and batch.status in PROCESSING:
        log.error("batch failed", extra={"fields": {"batch_id": str(batch_id), "error": repr(error)[:500]}})
        await repository.mark_failed(uow, tenant_id, batch_id, INTERNAL_ERROR)
