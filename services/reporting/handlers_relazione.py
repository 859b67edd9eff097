"""Use cases of the relazione di scarico: a page or the API requests it (a queued row and a
`ReportRequested` in the outbox, one transaction), the reporting worker writes its PDF, XLSX and
CSV from a server-side cursor with progress, stores each under the tenant with its SHA-256 as a new
version, and an authorised download is checked against that digest and recorded."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import ExitStack
from datetime import UTC, date, datetime
from typing import Any, BinaryIO, Protocol, TypeVar

from services.contracts_reporting import ReportRequested
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.storage import ObjectNotFound, ObjectStorage, tenant_key
from services.reporting import domain_aggio, repository_charges
from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_frame as frame
from services.reporting import domain_relazione_totals as tot
from services.reporting import repository as repo
from services.reporting import repository_relazione as store
from services.reporting.domain import ROME
from services.reporting.handlers_relazione_aggio import AggioTerms, aggio_of, aggio_terms
from services.reporting.render_csv import CsvRelazione
from services.reporting.render_pdf import PdfRelazione
from services.reporting.render_xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE
from services.reporting.render_xlsx import XlsxRelazione

log = logging.getLogger(__name__)
T = TypeVar("T")
MEDIA_TYPES = {"pdf": "application/pdf", "xlsx": XLSX_MEDIA_TYPE, "csv": "text/csv; charset=utf-8"}


class Writer(Protocol):
    def begin(self, header: frame.Header) -> None: ...
    def lines(self, lines: list[rel.Line]) -> None: ...
    def end(self, closing: frame.Closing) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


# The XLSX is written by a thread of its own at the same time (render_xlsx.py): first, so each
# partition reaches it before this thread renders the PDF and the CSV.
WRITERS: dict[str, Callable[[BinaryIO], Writer]] = {
    "xlsx": XlsxRelazione,
    "pdf": PdfRelazione,
    "csv": CsvRelazione,
}
PROGRESS_EVERY_SECONDS = 1.0
INTERNAL_ERROR = "La relazione non è stata generata per un errore interno: riprova o contatta l'assistenza."


class StoredReportCorrupted(DomainError):
    status = 500

    def __init__(self) -> None:
        super().__init__(
            "Il documento archiviato non corrisponde all'impronta registrata: contattare l'assistenza."
        )


# --- request and status ----------------------------------------------------------------------------


async def request_report(uow: UnitOfWork, who: Identity, request: frame.Request) -> uuid.UUID:
    """Record the request (queued, next version) and hand it to the worker through the outbox."""
    report_id = uuid.uuid4()
    values = {
        "id": report_id,
        "kind": request.kind,
        "period_from": request.period_from,
        "period_to": request.period_to,
        "status": "queued",
        "ente": who.tenant_name,
        "requested_by": who.user_id,
        "generated_by": who.display_name,
    }
    await store.create_report(uow, who.tenant_id, values)
    event = ReportRequested(report_id=str(report_id))
    await uow.publish([event.envelope(who.tenant_id, uow.correlation_id)])
    return report_id


async def report(uow: UnitOfWork, tenant_id: uuid.UUID, report_id: uuid.UUID) -> store.Report:
    found = await store.get_report(uow, tenant_id, report_id)
    if found is None:
        raise NotFound("Relazione non trovata.")
    return found


async def reports(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[store.Report]:
    """The Comune's relazioni, newest first."""
    return await store.list_reports(uow, tenant_id)


async def open_file(
    uow: UnitOfWork, storage: ObjectStorage, who: Identity, report_id: uuid.UUID, fmt: str
) -> tuple[store.Report, store.StoredFile]:
    """A stored file about to be downloaded: it must still carry the recorded SHA-256 and size;
    the download is recorded in the access log."""
    found = await report(uow, who.tenant_id, report_id)
    if found.status in ("queued", "running"):
        raise Conflict("La relazione non è ancora pronta: si può scaricare quando è completata.")
    stored = found.file(fmt)
    if stored is None:
        raise NotFound("Questo formato non è disponibile per la relazione.")
    try:
        head = await storage.head(who.tenant_id, stored.object_key)
    except ObjectNotFound as exc:
        raise NotFound("Il documento non è più disponibile.") from exc
    if head.sha256 != stored.sha256 or head.size != stored.size:
        log.error("stored report does not match its record", extra={"fields": {"report_id": str(report_id)}})
        raise StoredReportCorrupted()
    await repo.access.record(uow, who.tenant_id, who.user_id, "download_relazione", report_id, fmt)
    return found, stored


# --- the worker ------------------------------------------------------------------------------------


async def run_report(
    uow: UnitOfWork, tenant_id: uuid.UUID, report_id: uuid.UUID, storage: ObjectStorage
) -> None:
    """Generate a queued relazione once; a retry after a failed attempt starts it again (its files
    get the same keys, which no committed row points at yet). A rule refusing it (an aggio contract
    without a rate for a revenue type) ends it failed with that message."""
    row = await store.get_report(uow, tenant_id, report_id)
    if row is None or row.status not in ("queued", "running") or not (row.period_from and row.period_to):
        return
    now = datetime.now(UTC)
    as_of = row.period_to if row.kind == "interim" else now.astimezone(ROME).date()
    scope = rel.Scope(row.kind, row.period_from, row.period_to, as_of)
    total = await store.count_positions(uow, tenant_id, scope)
    await _progress(uow, tenant_id, report_id, {"status": "running", "total_rows": total, "done_rows": 0})
    terms = await aggio_terms(uow, tenant_id, scope)
    stamp = now.astimezone(ROME).strftime("%d/%m/%Y %H:%M")
    batches = await store.batches(uow, tenant_id, scope)
    header = frame.Header(
        str(report_id), row.ente, scope, row.version, stamp, row.generated_by, terms.heading, batches
    )
    try:
        with ExitStack() as files:
            spools = {fmt: files.enter_context(tempfile.TemporaryFile()) for fmt in WRITERS}
            overall, aggio = await _write(uow, tenant_id, report_id, header, spools, terms)
            stored = [await _store(storage, tenant_id, row, fmt, spool) for fmt, spool in spools.items()]
    except DomainError as refused:
        await fail_report(uow, tenant_id, report_id, refused.message)
        return
    await store.insert_files(uow, tenant_id, report_id, stored)
    values = {
        "status": "done",
        "done_rows": overall.positions,
        "generated_at": now,
        "assigned_cents": overall.assigned_cents,
        "cancelled_cents": overall.cancelled_cents,
        "corrected_cents": overall.corrected_cents,
        "collected_cents": overall.collected_cents,
        "residual_cents": overall.residual_cents,
        "aggio_cents": aggio.aggio_cents,
        "aggio_rate_bp": terms.flat_rate_bp,
    }
    await store.update_report(uow, tenant_id, report_id, values)
    log.info(
        "relazione generated", extra={"fields": {"report_id": str(report_id), "rows": overall.positions}}
    )


async def _write(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    report_id: uuid.UUID,
    header: frame.Header,
    spools: Mapping[str, BinaryIO],
    terms: AggioTerms,
) -> tuple[tot.Group, domain_aggio.AggioResult]:
    """Stream the lines into every format (rendering off the event loop), then the closing. The
    contract's aggio is computed first: a contract that refuses the period stops it before any work."""
    scope = header.scope
    ahead = await aggio_of(uow, tenant_id, scope, terms, {}) if terms.monthly else None
    writers: list[Writer] = []
    totals = tot.Totals()
    try:
        for fmt, spool in spools.items():
            writers.append(WRITERS[fmt](spool))
        for writer in writers:
            writer.begin(header)
        done, shown = 0, time.monotonic()
        async for histories in _prefetched(store.histories(uow, tenant_id, scope)):
            done += len(histories)
            await asyncio.to_thread(_render, writers, totals, scope, histories)
            if time.monotonic() - shown >= PROGRESS_EVERY_SECONDS:
                await _progress(uow, tenant_id, report_id, {"done_rows": done})
                shown = time.monotonic()
        aggio = (
            ahead if ahead is not None else await aggio_of(uow, tenant_id, scope, terms, totals.aggio_bases())
        )
        flows = await store.flows(uow, tenant_id, scope)
        closing = frame.Closing(totals, aggio, terms.label, flows, await _charges(uow, tenant_id, scope))
        await asyncio.to_thread(_finish, writers, closing)
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    return totals.overall, aggio


async def _charges(uow: UnitOfWork, tenant_id: uuid.UUID, scope: rel.Scope) -> int:
    """The debtors' c.803 charges paid in an interim's period, or ever until a final's day."""
    since = scope.period_from if scope.interim else date.min
    until = scope.period_to if scope.interim else scope.as_of
    return sum((await repository_charges.collected(uow, tenant_id, since, until)).values())


async def _prefetched(partitions: AsyncIterator[T]) -> AsyncIterator[T]:
    """The cursor's next partition is fetched while this one renders (in a thread): the database
    works on it meanwhile. At most two partitions wait."""
    queue: asyncio.Queue[T | None] = asyncio.Queue(maxsize=2)

    async def fetch() -> None:
        try:
            async for partition in partitions:
                await queue.put(partition)
        finally:
            await queue.put(None)

    fetching = asyncio.create_task(fetch())
    try:
        while (partition := await queue.get()) is not None:
            yield partition
        await fetching  # its error, if the cursor failed
    finally:
        fetching.cancel()


def _render(
    writers: list[Writer], totals: tot.Totals, scope: rel.Scope, histories: list[rel.History]
) -> None:
    lines = [rel.line(h, scope) for h in histories]
    for item in lines:
        totals.add(item)
    for writer in writers:
        writer.lines(lines)


def _finish(writers: list[Writer], closing: frame.Closing) -> None:
    """Every closing first, then every close, the XLSX's last: its thread finishes while the PDF
    does."""
    for writer in writers:
        writer.end(closing)
    for writer in reversed(writers):
        writer.close()


async def _store(
    storage: ObjectStorage, tenant_id: uuid.UUID, row: store.Report, fmt: str, spool: BinaryIO
) -> store.StoredFile:
    # The period in the name: the versions count per kind and period, so two periods' files differ.
    period = f"-{row.period_from:%Y%m%d}-{row.period_to:%Y%m%d}" if row.period_from and row.period_to else ""
    name = f"relazione-{rel.KINDS[row.kind]}{period}-v{row.version}.{fmt}"
    key = tenant_key(tenant_id, "reporting", "relazioni", str(row.id), name)
    spool.seek(0)
    stored = await storage.put(tenant_id, key, spool, MEDIA_TYPES[fmt])
    return store.StoredFile(fmt, stored.key, stored.sha256, stored.size)


async def _progress(
    uow: UnitOfWork, tenant_id: uuid.UUID, report_id: uuid.UUID, values: dict[str, Any]
) -> None:
    """Progress in a transaction of its own, so the page sees it while the worker's is open (which
    must not have written the report row yet: it would hold its lock)."""

    async def write(progress: UnitOfWork) -> None:
        await store.update_report(progress, tenant_id, report_id, values)

    await uow.db.run(tenant_id, write, uow.correlation_id, aside=True)


async def fail_report(
    uow: UnitOfWork, tenant_id: uuid.UUID, report_id: uuid.UUID, message: str = INTERNAL_ERROR
) -> None:
    """The last attempt failed: the page stops waiting and says so."""
    values = {"status": "failed", "error": message, "generated_at": datetime.now(UTC)}
    await store.update_report(uow, tenant_id, report_id, values)
