"""The ingest pipeline of one batch: read the raw file, judge its rows, stage them, settle, publish.

The file is read as a stream in a worker thread; each chunk of verdicts goes by COPY into a
temporary table and on into the batch's rows while the next chunk is judged; duplicates, conflicts,
debtors and positions are then settled in SQL, so memory stays flat whatever the number of rows.
All of it runs inside one savepoint of the handler's transaction: a file found unreadable half-way
leaves nothing behind but the batch marked as failed (`handlers.process_batch`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import time
import uuid
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from services.contracts import (
    MAX_CONTACTS_PER_EVENT,
    MAX_POSITIONS_PER_EVENT,
    BatchAccepted,
    ContactsRegistered,
    PositionsRegistered,
)
from services.ingest import (
    columnar,
    repository,
    repository_cleaning,
    repository_events,
    repository_settle,
    t290,
)
from services.ingest.dates import today
from services.ingest.domain import UnreadableFile
from services.ingest.domain_mapping import (
    MIN_HEADER_COLUMNS,
    ColumnMapping,
    ambiguous_fields,
    header_candidate,
    header_signature,
    propose_mapping,
)
from services.ingest.domain_verdicts import RowJudge, is_blank
from services.ingest.labels import REQUIRED_FIELD_LABELS
from services.ingest.reader import Limits, Source, open_source
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.logs import Clock
from services.kernel.metrics import INGEST_ROWS
from services.kernel.storage import ObjectNotFound, ObjectStorage

log = logging.getLogger(__name__)
STAGE_CHUNK = 10_000
PROGRESS_EVERY_ROWS = 50_000
SAMPLE_ROWS = 10


@dataclass(frozen=True)
class Plan:
    header_line: int
    mapping: ColumnMapping
    header: list[str]


class NeedsMapping(Exception):
    def __init__(self, layout: dict[str, Any]) -> None:
        super().__init__("needs mapping")
        self.layout = layout


async def process(uow: UnitOfWork, batch: Any, path: Path, storage: ObjectStorage, limits: Limits) -> None:
    """Read the batch's raw file (downloaded to `path`), judge, stage and settle its rows, then
    complete the batch and publish its events, in the caller's transaction; raises UnreadableFile or
    NeedsMapping when the file cannot be registered as it is."""
    tenant_id = batch.tenant_id
    try:
        await download(storage, tenant_id, batch.raw_key, path)
    except ObjectNotFound as exc:
        raise UnreadableFile("Il file caricato non è più disponibile in archivio.") from exc
    source = await asyncio.to_thread(
        open_source, path, batch.requested_encoding, batch.requested_sheet, limits, batch.filename
    )
    head = await asyncio.to_thread(source.head)
    await repository.record_source(
        uow,
        tenant_id,
        batch.id,
        format=source.kind,
        encoding=source.encoding_label or None,
        delimiter=source.delimiter,
        sheet=source.sheet or (source.sheets[0] if source.sheets else None),
    )
    plan = await choose_plan(uow, batch, source, head)
    started = time.perf_counter()
    async with (await uow.connection()).begin_nested():
        summary = await stage_and_settle(uow, tenant_id, batch.id, source, plan, batch.uploaded_by)
    settled = time.perf_counter()
    await finish(uow, tenant_id, batch, summary, plan)
    INGEST_ROWS.labels("accepted").inc(summary["accepted"])
    INGEST_ROWS.labels("not_accepted").inc(summary["data_rows"] - summary["accepted"])
    timings = {
        "stage_and_settle_s": round(settled - started, 2),
        "events_s": round(time.perf_counter() - settled, 2),
    }
    log.info(
        "batch processed",
        extra={"fields": {"batch_id": str(batch.id), "rows": summary["data_rows"], **timings}},
    )


async def download(storage: ObjectStorage, tenant_id: uuid.UUID, key: str, path: Path) -> None:
    handle = await asyncio.to_thread(path.open, "wb")
    try:
        async for chunk in storage.stream(tenant_id, key):
            await asyncio.to_thread(handle.write, chunk)
    finally:
        handle.close()


# ---------------------------------------------------------------- which mapping


async def choose_plan(uow: UnitOfWork, batch: Any, source: Source, head: list[tuple[int, list[str]]]) -> Plan:
    """The user's confirmed mapping, else the tenant's saved one for this header, else the proposal."""
    if source.fixed_mapping is not None:
        return Plan(1, source.fixed_mapping, list(t290.CELL_LABELS))
    if batch.mapping:
        header = list((batch.layout or {}).get("header", []))
        return Plan(int(batch.mapping["header_line"]), ColumnMapping(dict(batch.mapping["columns"])), header)
    signatures = {line: header_signature(cells) for line, cells in head}
    saved = await repository.saved_mappings(uow, batch.tenant_id, list(signatures.values()))
    for line, cells in head:
        if signatures[line] in saved:
            return Plan(line, ColumnMapping(saved[signatures[line]]), cells)
    return propose_plan(source, head)


def propose_plan(source: Source, head: list[tuple[int, list[str]]]) -> Plan:
    # No known column name anywhere: the first wide line is offered to the user as the header.
    candidate = header_candidate(head) or next(
        ((n, cells) for n, cells in head if sum(1 for c in cells if c.strip()) >= MIN_HEADER_COLUMNS), None
    )
    if candidate is None:
        raise UnreadableFile(
            "Intestazione non trovata: servono le colonne codice fiscale, tributo, anno, numero atto e importo."
        )
    line, header = candidate
    mapping = propose_mapping(header)
    if sum(1 for c in header if c.strip()) < MIN_HEADER_COLUMNS:
        labels = ", ".join(REQUIRED_FIELD_LABELS[f] for f in mapping.missing())
        raise UnreadableFile(f"Intestazione incompleta: mancano le colonne {labels}.")
    ambiguous = ambiguous_fields(header)
    if mapping.missing() or ambiguous:
        raise NeedsMapping(layout(source, line, header, mapping, ambiguous))
    return Plan(line, mapping, header)


def layout(
    source: Source, line: int, header: list[str], mapping: ColumnMapping, ambiguous: list[str]
) -> dict[str, Any]:
    """What the mapping page needs: the header, the proposal and a sample of the rows below it."""
    rows = (cells for n, cells in source.rows() if n > line and not is_blank(cells))
    sample = [[c[:200] for c in cells[:100]] for cells in itertools.islice(rows, SAMPLE_ROWS)]
    return {
        "header_line": line,
        "header": [h[:200] for h in header[:100]],
        "proposal": mapping.columns,
        "missing": mapping.missing(),
        "ambiguous": ambiguous,
        "sample": sample,
    }


# ---------------------------------------------------------------- rows into the database


def verdict_chunks(
    source: Source, plan: Plan, current_year: int, day: date
) -> Generator[tuple[int, bytes], None, None]:
    """The data rows below the header judged `STAGE_CHUNK` at a time, as (rows, CSV of their stage
    records) (runs in a thread)."""
    judge = RowJudge(plan.mapping, current_year, day)
    if source.kind == "csv":
        yield from _split_chunks(judge, source, plan)
        return
    numbered = itertools.count(1)
    chunk: list[tuple[int, int, list[str]]] = []
    for line, cells in source.rows():
        if line <= plan.header_line:
            continue
        for data_line, data_cells in judge.admit(line, cells):
            chunk.append((next(numbered), data_line, data_cells))
        if len(chunk) >= STAGE_CHUNK:
            yield len(chunk), stage_chunk(judge, chunk)
            chunk = []
    if chunk:
        yield len(chunk), stage_chunk(judge, chunk)


def _split_chunks(judge: RowJudge, source: Source, plan: Plan) -> Generator[tuple[int, bytes], None, None]:
    """`verdict_chunks` of a delimited file, `STAGE_CHUNK` lines at a time: the rows on one line
    without quotes are split into cells by polars (`columnar.split_block`) unless the block needs
    the one-row path (rows of different widths, a totals line or lookalike)."""
    delimiter = source.delimiter or ";"
    staged = 0
    block: list[tuple[int, str | list[str]]] = []
    for line, item in source.csv_items():
        if line <= plan.header_line:
            continue
        block.append((line, item))
        if len(block) >= STAGE_CHUNK:
            if chunk := _block_chunk(judge, block, delimiter, staged + 1):
                staged += chunk[0]
                yield chunk
            block = []
    if block and (chunk := _block_chunk(judge, block, delimiter, staged + 1)):
        yield chunk


def _block_chunk(
    judge: RowJudge, block: list[tuple[int, str | list[str]]], delimiter: str, first_row: int
) -> tuple[int, bytes] | None:
    """(rows, CSV of their stage records) of the data rows of `block`, numbered from `first_row`."""
    raw = None if judge.pending else columnar.split_block(block, delimiter, judge.mapping)
    if raw is not None:
        if raw.height == 0:
            return None
        return raw.height, stage_data(columnar.stage_frame_split(judge, first_row, raw), block)
    admitted = (
        data
        for line, item in block
        for data in judge.admit(line, item.split(delimiter) if isinstance(item, str) else item)
    )
    chunk = [(n, line, cells) for n, (line, cells) in enumerate(admitted, start=first_row)]
    return (len(chunk), stage_chunk(judge, chunk)) if chunk else None


def stage_chunk(judge: RowJudge, chunk: list[tuple[int, int, list[str]]]) -> bytes:
    return stage_data(columnar.stage_frame(judge, chunk), [(line, cells) for _, line, cells in chunk])


def stage_data(frame: pl.DataFrame, rows: Sequence[tuple[int, str | list[str]]]) -> bytes:
    """The CSV of stage records for COPY, refusing a NUL (found among `rows`, the rows staged)."""
    data = columnar.stage_csv(frame)
    if b"\x00" in data:  # PostgreSQL text cannot hold it: the file is not a text file there
        line = next(line for line, cells in rows if any("\x00" in c for c in cells))
        raise UnreadableFile(
            f"Riga {line}: il file contiene un carattere nullo (NUL), che non può stare in un file di testo."
        )
    return data


async def stage_and_settle(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, source: Source, plan: Plan, uploaded_by: str
) -> dict[str, Any]:
    """Every row judged and staged, then settled into verdicts, debtors, positions and contacts."""
    await repository_settle.create_stage(uow)
    await report_progress(uow, tenant_id, batch_id, 0, "reading")  # not what an earlier attempt left
    day = today()
    chunks = verdict_chunks(source, plan, day.year, day)
    rows = 0
    # The next chunk is parsed in a thread while the current one is stored; always the same thread,
    # whose memory the next chunk reuses (every new thread of the default pool grew the process).
    loop = asyncio.get_running_loop()
    judging = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ingest-judge")
    pending = loop.run_in_executor(judging, next, chunks, None)
    clock = Clock()  # time spent waiting for judged chunks, and storing them
    try:
        while (chunk := await pending) is not None:
            clock.lap("judge_wait", add=True)
            pending = loop.run_in_executor(judging, next, chunks, None)
            count, data = chunk
            await repository_settle.store_chunk(uow, tenant_id, batch_id, data)
            clock.lap("store", add=True)
            rows += count
            if rows % PROGRESS_EVERY_ROWS < count:
                await report_progress(uow, tenant_id, batch_id, rows, "reading")
    finally:
        if not pending.done():
            await asyncio.wait([pending])
        chunks.close()
        judging.shutdown()
    if rows == 0:
        raise UnreadableFile("Il file contiene solo l'intestazione: nessuna riga di credito da caricare.")
    staged = time.perf_counter()
    log.info("batch stored", extra={"fields": clock.laps})
    if not await repository_settle.settle_lock(uow, tenant_id, wait=False):
        await report_progress(uow, tenant_id, batch_id, rows, "waiting")  # for another batch to settle
        await repository_settle.settle_lock(uow, tenant_id)
    await report_progress(uow, tenant_id, batch_id, rows, "registering")
    summary, known_debtors = await repository_settle.settle_stage(uow, tenant_id, batch_id, rows)
    await repository_cleaning.clean_batch(uow, tenant_id, batch_id, today(), uploaded_by, known_debtors)
    log.info(
        "batch staged", extra={"fields": {"rows": rows, "settle_s": round(time.perf_counter() - staged, 2)}}
    )
    return summary


async def report_progress(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, rows: int, phase: str
) -> None:
    """Progress in a second transaction of its own (`Database.run`), so that the batch page sees it
    before the batch commits; on a connection outside the pool (`aside`): the batch may hold its
    Comune's settle lock, which other batches wait for holding pooled connections. The batch's own
    transaction is the consumer wrapper's."""

    async def write(progress: UnitOfWork) -> None:
        await repository.set_progress(progress, tenant_id, batch_id, rows, phase)

    await uow.db.run(tenant_id, write, uow.correlation_id, aside=True)


async def finish(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch: Any, summary: dict[str, Any], plan: Plan
) -> None:
    """Complete the batch and publish its positions and contacts in chunks and its outcome, in this
    transaction."""
    shape = {**(batch.layout or {}), "header_line": plan.header_line, "header": plan.header[:200]}
    values = {**summary, "header_line": plan.header_line, "layout": shape}
    await repository.complete_batch(uow, tenant_id, batch.id, values)
    for kind, event, size in (
        ("positions", PositionsRegistered, MAX_POSITIONS_PER_EVENT),
        ("contacts", ContactsRegistered, MAX_CONTACTS_PER_EVENT),
    ):
        first = Envelope(
            event.TYPE, event.VERSION, tenant_id, {"batch_id": str(batch.id)}, uow.correlation_id
        )
        await repository_events.publish_batch_events(uow, tenant_id, batch.id, kind, size, first)
    counts = {
        k: summary[k] for k in ("data_rows", "accepted", "accepted_total_cents", "duplicates", "conflicts")
    }
    accepted = BatchAccepted(
        batch_id=str(batch.id), filename=batch.filename, rejected=summary["rejected"], **counts
    )
    await uow.publish([accepted.envelope(tenant_id, uow.correlation_id)])
