"""All ingest queries. Every function takes the tenant explicitly and filters by it (RLS also does)."""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.ingest.domain import (
    ADDRESS_GRADE_CONFIDENCE,
    CONFLICT_REASON,
    DUPLICATE_REASON,
    REGISTERED_CONFLICT_REASON,
    ContactDatum,
)
from services.ingest.models import (
    access_log,
    batch_progress,
    batch_rows,
    batches,
    contacts,
    debtors,
    mappings,
    positions,
)
from services.kernel import db
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.storage import StoredObject

# The staging tables are temporary, private to the handler's transaction and hold no tenant column:
# `store_chunk` copies their rows into the tenant's tables, tenant set explicitly.
UNSCOPED = {
    "create_stage": "creates the transaction's own temporary tables, which no other session can see",
}
log = logging.getLogger(__name__)


async def insert_batch(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    batch_id: uuid.UUID,
    filename: str,
    stored: StoredObject,
    uploaded_by: str,
) -> None:
    await uow.execute(
        sa.insert(batches).values(
            id=batch_id,
            tenant_id=tenant_id,
            filename=filename,
            raw_key=stored.key,
            raw_sha256=stored.sha256,
            raw_size=stored.size,
            status="received",
            uploaded_by=uploaded_by,
        )
    )


async def get_batch(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, for_update: bool = False
) -> sa.Row[Any] | None:
    stmt = sa.select(batches).where(batches.c.tenant_id == tenant_id, batches.c.id == batch_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await uow.execute(stmt)).first()


async def list_batches(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 50) -> list[sa.Row[Any]]:
    stmt = (
        sa.select(batches)
        .where(batches.c.tenant_id == tenant_id)
        .order_by(batches.c.created_at.desc())
        .limit(limit)
    )
    return list((await uow.execute(stmt)).all())


async def mark_failed(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, error: str) -> None:
    await uow.execute(
        sa.update(batches)
        .where(batches.c.tenant_id == tenant_id, batches.c.id == batch_id)
        .values(status="failed", error=error, completed_at=sa.func.now())
    )


async def complete_batch(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, summary: dict[str, Any]
) -> None:
    await uow.execute(
        sa.update(batches)
        .where(batches.c.tenant_id == tenant_id, batches.c.id == batch_id)
        .values(status="completed", error=None, completed_at=sa.func.now(), **summary)
    )


async def list_problem_rows(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, limit: int = 500
) -> list[sa.Row[Any]]:
    """Rows that were not registered (rejected, duplicate, conflict), in file order."""
    stmt = (
        sa.select(batch_rows)
        .where(
            batch_rows.c.tenant_id == tenant_id,
            batch_rows.c.batch_id == batch_id,
            batch_rows.c.verdict != "accepted",
        )
        .order_by(batch_rows.c.row_number)
        .limit(limit)
    )
    return list((await uow.execute(stmt)).all())


async def row_verdicts(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> list[str]:
    stmt = (
        sa.select(batch_rows.c.verdict)
        .where(batch_rows.c.tenant_id == tenant_id, batch_rows.c.batch_id == batch_id)
        .order_by(batch_rows.c.row_number)
    )
    return list((await uow.execute(stmt)).scalars())


async def position_totals(uow: UnitOfWork, tenant_id: uuid.UUID) -> tuple[int, int]:
    """Number of registered positions and their total amount, for the tenant."""
    stmt = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(positions.c.amount_cents), 0)).where(
        positions.c.tenant_id == tenant_id
    )
    row: Any = (await uow.execute(stmt)).one()
    return int(row[0]), int(row[1])


# ---------------------------------------------------------------- batches: choices, mapping, layout


async def set_choices(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, encoding: str | None, sheet: str | None
) -> None:
    await uow.execute(
        sa.update(batches)
        .where(batches.c.tenant_id == tenant_id, batches.c.id == batch_id)
        .values(requested_encoding=encoding, requested_sheet=sheet)
    )


async def record_source(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, **values: Any) -> None:
    """What was recognised about the file: format, encoding, separator, sheet."""
    await uow.execute(
        sa.update(batches).where(batches.c.tenant_id == tenant_id, batches.c.id == batch_id).values(**values)
    )


async def mark_needs_mapping(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, layout: dict[str, Any]
) -> None:
    await uow.execute(
        sa.update(batches)
        .where(batches.c.tenant_id == tenant_id, batches.c.id == batch_id)
        .values(status="needs_mapping", layout=layout, header_line=layout["header_line"])
    )


async def confirm_mapping(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, mapping: dict[str, Any]
) -> bool:
    """Give a waiting batch its mapping and send it back to the queue; False if it was not waiting."""
    result = await uow.execute(
        sa.update(batches)
        .where(
            batches.c.tenant_id == tenant_id, batches.c.id == batch_id, batches.c.status == "needs_mapping"
        )
        .values(status="received", mapping=mapping)
    )
    return bool(result.rowcount)


async def save_mapping(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    signature: str,
    header: list[str],
    columns: dict[str, int],
    saved_by: str,
) -> None:
    stmt = pg_insert(mappings).values(
        tenant_id=tenant_id, signature=signature, header=header, columns=columns, saved_by=saved_by
    )
    await uow.execute(
        stmt.on_conflict_do_update(
            index_elements=[mappings.c.tenant_id, mappings.c.signature],
            set_={"header": header, "columns": columns, "saved_by": saved_by, "saved_at": sa.func.now()},
        )
    )


async def saved_mappings(
    uow: UnitOfWork, tenant_id: uuid.UUID, signatures: Sequence[str]
) -> dict[str, dict[str, int]]:
    stmt = sa.select(mappings.c.signature, mappings.c.columns).where(
        mappings.c.tenant_id == tenant_id, mappings.c.signature.in_(list(set(signatures)) or [""])
    )
    return {r.signature: dict(r.columns) for r in await uow.execute(stmt)}


# ---------------------------------------------------------------- staging with COPY, settling in SQL

# Time-ordered (version 7 layout) UUIDs for bulk inserts: a million random UUIDs scatter the
# primary-key B-tree and cost a quarter of the insert time; these land on its right edge. The
# random bits come from random() (gen_random_uuid's strong randomness cost twice as much, and ids
# are no secret: every read is tenant-scoped); the primary key guards uniqueness.
UUID7 = (
    "encode(int8send((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint << 16) | 28672 "
    "| (random() * 4095)::bigint) || int8send((random() * 4611686018427387903)::bigint "
    "| (-9223372036854775808)::bigint), 'hex')::uuid"
)
STAGE_COLUMNS = (
    "row_number",
    "line_number",
    "verdict",
    "field",
    "reason_it",
    "warnings",
    "warnings_it",
    "fiscal_code",
    "name",
    "revenue_type",
    "year",
    "act_number",
    "amount_cents",
    "phone",
    "email",
    "address",
    "cells",
)
_CREATE_STAGE = """
    CREATE TEMP TABLE ingest_chunk (
        row_number integer, line_number integer, verdict text, field text, reason_it text,
        warnings text[], warnings_it text, fiscal_code text, name text, revenue_type text,
        year integer, act_number text, amount_cents bigint, phone text, email text, address text,
        cells text[]
    ) ON COMMIT DROP
"""
# Each chunk goes from the temporary `ingest_chunk` into batch_rows while the next one is judged.
# An accepted row keeps no cells (the file has them); the keys and cells of accepted rows wait in the
# temporary `ingest_held` (no WAL) in case the batch later holds the row back (`_HOLD_BACK`).
HELD_COLUMNS = ("row_number", "fiscal_code", "revenue_type", "year", "act_number", "amount_cents", "cells")
_CREATE_HELD = """
    CREATE TEMP TABLE ingest_held (
        row_number integer PRIMARY KEY, fiscal_code text, revenue_type text, year integer,
        act_number text, amount_cents bigint, cells text[]
    ) ON COMMIT DROP
"""
_STORE_CHUNK = f"""
    INSERT INTO ingest.batch_rows (tenant_id, batch_id, {", ".join(STAGE_COLUMNS)})
    SELECT :tenant_id, :batch_id, {", ".join(STAGE_COLUMNS[:-1])},
           CASE WHEN verdict = 'accepted' THEN NULL ELSE cells END
    FROM ingest_chunk
"""
_HOLD_CELLS = f"""
    INSERT INTO ingest_held SELECT {", ".join(HELD_COLUMNS)} FROM ingest_chunk WHERE verdict = 'accepted'
"""
# An accepted row held back later gets its verdict and its cells (for the error report). The rows to
# hold back are found among the batch's accepted rows kept (with statistics) in `ingest_held`, and
# leave it: the planner has no statistics for the batch's rows in batch_rows, and a join of two
# unknown sets can become a nested loop over both.
_HOLD_BACK = """
    WITH x AS ({held}),
    held AS (
        UPDATE ingest.batch_rows r
        SET verdict = x.verdict, field = x.field, reason_it = x.reason_it, cells = x.cells
        FROM x WHERE r.tenant_id = :tenant_id AND r.batch_id = :batch_id AND r.row_number = x.row_number
        RETURNING r.row_number
    )
    DELETE FROM ingest_held h USING held WHERE h.row_number = held.row_number
"""
# Exact repeats of an accepted row are duplicates; a key with more than one amount is a conflict
# for every first occurrence of each amount (the same rule as `domain.settle`).
_SETTLE = _HOLD_BACK.format(
    held="""
    SELECT row_number, cells, CASE WHEN nth > 1 THEN 'duplicate' ELSE 'conflict' END AS verdict,
           CASE WHEN nth > 1 THEN NULL ELSE 'amount' END AS field,
           CASE WHEN nth > 1 THEN CAST(:duplicate_reason AS text) ELSE CAST(:conflict_reason AS text) END
               AS reason_it
    FROM (
        SELECT row_number, cells,
               row_number() OVER (PARTITION BY fiscal_code, revenue_type, year, act_number, amount_cents
                                  ORDER BY row_number) AS nth,
               min(amount_cents) OVER k AS lo, max(amount_cents) OVER k AS hi
        FROM ingest_held
        WINDOW k AS (PARTITION BY fiscal_code, revenue_type, year, act_number)
    ) w
    WHERE nth > 1 OR lo <> hi
"""
)
# A credit registered by an earlier batch that comes back with another amount is not silently kept
# at the old amount: the row is held back as a conflict (before duplicates and conflicts within the
# batch, which are then judged among the rows still accepted).
_REGISTERED_CONFLICTS = _HOLD_BACK.format(
    held="""
    SELECT h.row_number, h.cells, 'conflict' AS verdict, 'amount' AS field, CAST(:reason AS text) AS reason_it
    FROM ingest_held h
    JOIN ingest.debtors d ON d.tenant_id = :tenant_id AND d.fiscal_code = h.fiscal_code
    JOIN ingest.positions p ON p.tenant_id = :tenant_id AND p.debtor_id = d.id
         AND p.revenue_type = h.revenue_type AND p.year = h.year AND p.act_number = h.act_number
    WHERE p.amount_cents <> h.amount_cents
"""
)
# A new debtor is graded from its rows here (the same rule as `_GRADE` on the contacts these rows
# become), which spares a million-row UPDATE; debtors known before are regraded by `clean_batch`.
# The name is the one on the debtor's first row: one sort by (fiscal code, row) serves the window
# and DISTINCT ON (an ordered array_agg per debtor cost a third of this statement).
# The ids of the debtors this batch creates go to a temporary table (see NEW_DEBTOR).
_REGISTER_DEBTORS = f"""
    WITH created AS (
    INSERT INTO ingest.debtors (id, tenant_id, fiscal_code, name, grade, graded_at)
    SELECT {UUID7}, :tenant_id, fiscal_code, name,
           CASE WHEN has_phone THEN 'phone' WHEN has_address THEN 'address' ELSE 'none' END, now()
    FROM (
        SELECT DISTINCT ON (fiscal_code) fiscal_code, name,
               bool_or(phone IS NOT NULL) OVER d AS has_phone,
               bool_or(address <> '' AND NOT 'address' = ANY(warnings)) OVER d AS has_address
        FROM ingest.batch_rows
        WHERE tenant_id = :tenant_id AND batch_id = :batch_id AND verdict = 'accepted'
        WINDOW d AS (PARTITION BY fiscal_code)
        ORDER BY fiscal_code, row_number
    ) first_rows
    ORDER BY fiscal_code
    ON CONFLICT ON CONSTRAINT debtors_tenant_fiscal_code DO NOTHING
    RETURNING id
    )
    INSERT INTO ingest_new_debtors SELECT id FROM created
"""
# Debtors this batch created have no positions or contacts yet, and the accepted rows of a batch
# have distinct credit keys: their rows need no ON CONFLICT, whose speculative insertion cost more
# than half again as much per row. A debtor known before keeps it: it may have the credit or datum.
NEW_DEBTOR = "EXISTS (SELECT 1 FROM ingest_new_debtors n WHERE n.id = d.id)"
KNOWN_DEBTOR = "NOT EXISTS (SELECT 1 FROM ingest_new_debtors n WHERE n.id = d.id)"
_REGISTER_POSITIONS = f"""
    INSERT INTO ingest.positions
        (id, tenant_id, debtor_id, batch_id, revenue_type, year, act_number, amount_cents)
    SELECT {UUID7}, :tenant_id, d.id, :batch_id, r.revenue_type, r.year, r.act_number, r.amount_cents
    FROM ingest.batch_rows r
    JOIN ingest.debtors d ON d.tenant_id = r.tenant_id AND d.fiscal_code = r.fiscal_code
    WHERE r.tenant_id = :tenant_id AND r.batch_id = :batch_id AND r.verdict = 'accepted' AND {{debtors}}
    ORDER BY d.id, r.revenue_type, r.year, r.act_number
"""
_REGISTER_NEW_POSITIONS = _REGISTER_POSITIONS.format(debtors=NEW_DEBTOR)
_REGISTER_KNOWN_POSITIONS = (
    _REGISTER_POSITIONS.format(debtors=KNOWN_DEBTOR)
    + " ON CONFLICT ON CONSTRAINT positions_credit_key DO NOTHING"
)
_SUMMARY = """
    SELECT count(*) AS data_rows,
           count(*) FILTER (WHERE verdict = 'accepted') AS accepted,
           coalesce(sum(amount_cents) FILTER (WHERE verdict = 'accepted'), 0) AS accepted_total_cents,
           count(*) FILTER (WHERE verdict = 'duplicate') AS duplicates,
           count(*) FILTER (WHERE verdict = 'conflict') AS conflicts,
           count(*) FILTER (WHERE cardinality(warnings) > 0) AS warnings,
           count(DISTINCT fiscal_code) FILTER (WHERE verdict = 'accepted') AS debtors
    FROM ingest.batch_rows WHERE tenant_id = :tenant_id AND batch_id = :batch_id
"""
_REJECTED = """
    SELECT substr(verdict, 10) AS reason, count(*) AS n FROM ingest.batch_rows
    WHERE tenant_id = :tenant_id AND batch_id = :batch_id AND verdict LIKE 'rejected:%'
    GROUP BY verdict ORDER BY verdict
"""


# Batches of one Comune settle one at a time, each holding this lock until its transaction ends;
# reading, judging and storing their rows still run side by side. Two batches settling together
# could not see each other's credits: a credit both bring with different amounts, for a debtor the
# first creates, would be skipped by the second as already registered instead of held back as a
# conflict (its check for registered credits ran before the first committed).
_SETTLE_KEY = "hashtextextended('ingest.settle ' || CAST(CAST(:tenant_id AS uuid) AS text), 0)"
SETTLE_LOCK = f"SELECT pg_advisory_xact_lock({_SETTLE_KEY})"
_TRY_SETTLE_LOCK = f"SELECT pg_try_advisory_xact_lock({_SETTLE_KEY})"


async def settle_lock(uow: UnitOfWork, tenant_id: uuid.UUID, wait: bool = True) -> bool:
    """Take the Comune's `SETTLE_LOCK` (before `settle_stage`), waiting for the batch that holds
    it; with `wait=False`, only if no batch holds it (False if one does)."""
    lock = SETTLE_LOCK if wait else _TRY_SETTLE_LOCK
    return (await uow.execute(sa.text(lock), {"tenant_id": tenant_id})).scalar_one() is not False


async def create_stage(uow: UnitOfWork) -> None:
    await uow.execute(sa.text(_CREATE_STAGE))
    await uow.execute(sa.text(_CREATE_HELD))
    await uow.execute(sa.text("CREATE TEMP TABLE ingest_new_debtors (id uuid PRIMARY KEY) ON COMMIT DROP"))


async def store_chunk(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, data: bytes) -> None:
    """Store a chunk of verdicts (CSV in `STAGE_COLUMNS` order, `columnar.stage_csv`) as rows of
    the batch: COPY into the transaction's temporary table (a table under RLS takes no COPY), then
    into batch_rows with the tenant set explicitly."""
    raw = await (await uow.connection()).get_raw_connection()
    await raw.driver_connection.copy_to_table(  # type: ignore[union-attr]
        "ingest_chunk", source=io.BytesIO(data), columns=STAGE_COLUMNS, format="csv"
    )
    await uow.execute(sa.text(_STORE_CHUNK), {"tenant_id": tenant_id, "batch_id": batch_id})
    await uow.execute(sa.text(_HOLD_CELLS))
    await uow.execute(sa.text("TRUNCATE ingest_chunk"))


# A batch of at least this many rows, and at least a quarter as big as the positions table, joins
# its rows to debtors, positions and contacts by hashing: the planner has no statistics for rows this
# transaction wrote (the service's role may not ANALYZE its tables) and would probe an index once per
# row (a third of the time of those joins). Against a much larger table the probes stay cheaper.
HASH_JOINS_FROM_ROWS = 20_000
_POSITIONS_SIZE = (
    "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'ingest.positions'::regclass"
)


async def settle_stage(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, rows: int
) -> tuple[dict[str, Any], int]:
    """Give the stored rows their final verdicts (conflicts with registered credits, duplicates and
    conflicts within the batch); register debtors and positions. The caller holds the Comune's
    `SETTLE_LOCK`.

    Returns the batch's counts and how many of its debtors were already known before it.
    """
    params = {"tenant_id": tenant_id, "batch_id": batch_id}
    reasons = {"duplicate_reason": DUPLICATE_REASON, "conflict_reason": CONFLICT_REASON}
    clock = Clock()
    # Sorting a million rows for the window functions should not spill to disk.
    await uow.execute(sa.text("SET LOCAL work_mem = '256MB'"))
    if (
        rows >= HASH_JOINS_FROM_ROWS
        and rows * 4 >= (await uow.execute(sa.text(_POSITIONS_SIZE))).scalar_one()
    ):
        await uow.execute(sa.text("SET LOCAL enable_nestloop = off"))  # contacts and events too
    await uow.execute(sa.text("ANALYZE ingest_held"))  # a temporary table has no statistics else
    any_position = sa.text("SELECT EXISTS (SELECT 1 FROM ingest.positions WHERE tenant_id = :tenant_id)")
    if (await uow.execute(any_position, params)).scalar_one():
        conflicts = {**params, "reason": REGISTERED_CONFLICT_REASON}
        await uow.execute(sa.text(_REGISTERED_CONFLICTS), conflicts)
    clock.lap("registered_conflicts")
    await uow.execute(sa.text(_SETTLE), {**params, **reasons})
    clock.lap("batch_rows")
    new_debtors = (await uow.execute(sa.text(_REGISTER_DEBTORS), params)).rowcount
    await uow.execute(sa.text("ANALYZE ingest_new_debtors"))  # a temporary table has no statistics else
    clock.lap("debtors")
    summary = {k: int(v) for k, v in (await uow.execute(sa.text(_SUMMARY), params)).mappings().one().items()}
    rejected = {r.reason: int(r.n) for r in await uow.execute(sa.text(_REJECTED), params)}
    known_debtors = summary.pop("debtors") - new_debtors
    clock.lap("summary")
    registered = (await uow.execute(sa.text(_REGISTER_NEW_POSITIONS), params)).rowcount
    if known_debtors:
        registered += (await uow.execute(sa.text(_REGISTER_KNOWN_POSITIONS), params)).rowcount
    clock.lap("positions")
    log.info("batch settled", extra={"fields": clock.laps})
    return {**summary, "rejected": rejected, "registered": registered}, known_debtors


class Clock:
    """Phase timings for the log: `lap` records the time since the previous lap under `name`
    (added to what it has with `add`)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str, add: bool = False) -> None:
        now = time.perf_counter()
        key = f"{name}_s"
        self.laps[key] = round(now - self.last + (self.laps.get(key, 0.0) if add else 0.0), 2)
        self.last = now


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
    fact = ", ".join(f"'{name}', {expr}" for name, expr in facts.items())
    return f"SELECT json_build_object({fact})::text FROM {source}"


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


async def publish_batch_events(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, kind: str, size: int, event: Envelope
) -> int:
    """Write the `PositionsRegistered` ("positions") or `ContactsRegistered` ("contacts") events of
    a batch to the outbox, `size` facts each (in the order the database reads them, sorting two
    million facts cost more than all the rest), in this transaction; returns how many.

    `event` is the envelope of the first event with the batch id in its payload: each event is a
    copy with its own message id, its chunk number, the number of chunks and its facts.
    """
    raw = (await (await uow.connection()).get_raw_connection()).driver_connection
    total = await raw.fetchval(_BATCH_FACT_COUNTS[kind], tenant_id, batch_id)  # type: ignore[union-attr]
    chunks = -(-total // size)
    cursor = await raw.cursor(_BATCH_FACTS[kind], tenant_id, batch_id)  # type: ignore[union-attr]
    chunk = 0
    while facts := [r[0] for r in await cursor.fetch(size * EVENTS_PER_FETCH)]:
        messages = []
        for start in range(0, len(facts), size):
            chunk += 1
            envelope = replace(
                event, message_id=uuid.uuid4(), payload={**event.payload, "chunk": chunk, "chunks": chunks}
            )
            body = envelope.encode_with({kind: "[" + ",".join(facts[start : start + size]) + "]"})
            messages.append((envelope, body))
        await uow.publish_encoded(messages)
    return chunk


async def list_rows(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    batch_id: uuid.UUID,
    verdict: str | None = None,
    after: int = 0,
    limit: int = 500,
) -> list[sa.Row[Any]]:
    """Rows of a batch in file order; `verdict` may be a verdict, "rejected" or "warning"."""
    stmt = sa.select(batch_rows).where(
        batch_rows.c.tenant_id == tenant_id,
        batch_rows.c.batch_id == batch_id,
        batch_rows.c.row_number > after,
    )
    if verdict == "rejected":
        stmt = stmt.where(batch_rows.c.verdict.startswith("rejected:"))
    elif verdict == "warning":
        stmt = stmt.where(sa.func.cardinality(batch_rows.c.warnings) > 0)
    elif verdict == "problem":
        stmt = stmt.where(
            batch_rows.c.verdict.in_(("conflict",)) | batch_rows.c.verdict.startswith("rejected:")
        )
    elif verdict:
        stmt = stmt.where(batch_rows.c.verdict == verdict)
    return list((await uow.execute(stmt.order_by(batch_rows.c.row_number).limit(limit))).all())


# ---------------------------------------------------------------- cleaning: contacts and grades

# Contacts found in the Comune's own file; an incomplete address is kept with low confidence.
# The same datum on several rows of a debtor is recorded once, with its best confidence; only known
# debtors (see NEW_DEBTOR) may have it already.
_BATCH_CONTACTS = f"""
    INSERT INTO ingest.contacts
        (id, tenant_id, debtor_id, kind, value, source, found_on, entered_by, confidence, batch_id)
    SELECT {UUID7}, :tenant_id, debtor_id, kind, value, 'comune', CAST(:found_on AS date), :entered_by,
           confidence, :batch_id
    FROM (
        SELECT DISTINCT ON (d.id, x.kind, x.value) d.id AS debtor_id, x.kind, x.value, x.confidence
        FROM ingest.batch_rows r
        JOIN ingest.debtors d ON d.tenant_id = r.tenant_id AND d.fiscal_code = r.fiscal_code
        CROSS JOIN LATERAL (VALUES
            ('phone', r.phone, 60),
            (CASE WHEN split_part(r.email, '@', 2) ~ '(^|[.])(pec|legalmail)[.]' THEN 'pec' ELSE 'email' END,
             r.email, 60),
            ('address', NULLIF(r.address, ''), CASE WHEN 'address' = ANY(r.warnings) THEN 30 ELSE 60 END)
        ) AS x(kind, value, confidence)
        WHERE r.tenant_id = :tenant_id AND r.batch_id = :batch_id AND r.verdict = 'accepted'
          AND x.value IS NOT NULL AND {{debtors}}
        ORDER BY d.id, x.kind, x.value, x.confidence DESC
    ) data
    ORDER BY debtor_id, kind, value
"""
_NEW_DEBTOR_CONTACTS = _BATCH_CONTACTS.format(debtors=NEW_DEBTOR)
_KNOWN_DEBTOR_CONTACTS = (
    _BATCH_CONTACTS.format(debtors=KNOWN_DEBTOR) + " ON CONFLICT ON CONSTRAINT contacts_datum DO NOTHING"
)
_GRADE = """
    CASE WHEN EXISTS (SELECT 1 FROM ingest.contacts c WHERE c.tenant_id = d.tenant_id AND c.debtor_id = d.id
                      AND c.active AND c.kind = 'phone') THEN 'phone'
         WHEN EXISTS (SELECT 1 FROM ingest.contacts c WHERE c.tenant_id = d.tenant_id AND c.debtor_id = d.id
                      AND c.active AND c.kind = 'address' AND c.confidence >= :min_address) THEN 'address'
         ELSE 'none' END
"""
# Grading a known debtor takes two statements: its row is locked first (in id order, the same for
# every writer), then graded by a statement whose snapshot is taken after that lock was granted. A
# single UPDATE that waited for another transaction's lock on the row (a tracing import, an operator,
# another batch, each adding contacts and then grading) would grade it from the contacts of its own
# earlier snapshot, without those the other one had just committed.
_KNOWN_BATCH_DEBTORS = f"""
    d.tenant_id = :tenant_id AND {KNOWN_DEBTOR} AND d.fiscal_code IN (
        SELECT fiscal_code FROM ingest.batch_rows
        WHERE tenant_id = :tenant_id AND batch_id = :batch_id AND verdict = 'accepted')
"""
_LOCK_BATCH_DEBTORS = (
    f"SELECT d.id FROM ingest.debtors d WHERE {_KNOWN_BATCH_DEBTORS} ORDER BY d.id FOR NO KEY UPDATE"
)
_GRADE_BATCH = f"UPDATE ingest.debtors d SET grade = {_GRADE}, graded_at = now() WHERE {_KNOWN_BATCH_DEBTORS}"
_SOME_DEBTORS = "d.tenant_id = :tenant_id AND d.id = ANY(CAST(:debtor_ids AS uuid[]))"
_LOCK_SOME_DEBTORS = (
    f"SELECT d.id FROM ingest.debtors d WHERE {_SOME_DEBTORS} ORDER BY d.id FOR NO KEY UPDATE"
)
_GRADE_SOME = f"""
    UPDATE ingest.debtors d SET grade = {_GRADE}, graded_at = now() WHERE {_SOME_DEBTORS}
    RETURNING d.id, d.grade
"""


async def clean_batch(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    batch_id: uuid.UUID,
    found_on: Any,
    entered_by: str,
    known_debtors: int,
) -> None:
    """Record the contacts of the batch's debtors with their provenance, then grade those debtors."""
    params = {"tenant_id": tenant_id, "batch_id": batch_id}
    clock = Clock()
    values = {**params, "found_on": found_on, "entered_by": entered_by}
    await uow.execute(sa.text(_NEW_DEBTOR_CONTACTS), values)
    if known_debtors:
        await uow.execute(sa.text(_KNOWN_DEBTOR_CONTACTS), values)
    clock.lap("contacts")
    # New debtors were graded when inserted; only those created by earlier transactions
    # (created_at before this transaction's start) may need it.
    if known_debtors:
        await uow.execute(sa.text(_LOCK_BATCH_DEBTORS), params)
        await uow.execute(sa.text(_GRADE_BATCH), {**params, "min_address": ADDRESS_GRADE_CONFIDENCE})
    clock.lap("regrade")
    log.info("batch cleaned", extra={"fields": clock.laps})


async def regrade_some(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Grade these debtors again from their active contacts; their new grades."""
    params = {"tenant_id": tenant_id, "debtor_ids": list(debtor_ids)}
    await uow.execute(sa.text(_LOCK_SOME_DEBTORS), params)
    graded = await uow.execute(sa.text(_GRADE_SOME), {**params, "min_address": ADDRESS_GRADE_CONFIDENCE})
    return {r.id: str(r.grade) for r in graded}


async def get_debtor(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> sa.Row[Any] | None:
    stmt = sa.select(debtors).where(debtors.c.tenant_id == tenant_id, debtors.c.id == debtor_id)
    return (await uow.execute(stmt)).first()


async def add_contact(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    datum: ContactDatum,
    source: str,
    found_on: Any,
    entered_by: str,
    confidence: int,
) -> sa.Row[Any] | None:
    """Insert a contact datum; None when the debtor already has it (active or marked wrong)."""
    stmt = (
        pg_insert(contacts)
        .values(
            tenant_id=tenant_id,
            debtor_id=debtor_id,
            kind=datum.kind,
            value=datum.value,
            source=source,
            found_on=found_on,
            entered_by=entered_by,
            confidence=confidence,
        )
        .on_conflict_do_nothing(constraint="contacts_datum")
        .returning(contacts)
    )
    return (await uow.execute(stmt)).first()


@dataclass(frozen=True)
class NewContact:
    """A contact datum to add to a debtor, with its provenance (`add_contacts`)."""

    debtor_id: uuid.UUID
    datum: ContactDatum
    source: str
    found_on: date
    confidence: int


# Only for debtors of the tenant (the contacts table has no foreign key: migration 0006).
_ADD_CONTACTS = f"""
    INSERT INTO ingest.contacts (tenant_id, debtor_id, kind, value, source, found_on, entered_by, confidence)
    SELECT :tenant_id, d.id, u.kind, u.value, u.source, u.found_on, :entered_by, u.confidence
    FROM unnest(CAST(:debtor_ids AS uuid[]), CAST(:kinds AS text[]), CAST(:values AS text[]),
                CAST(:sources AS text[]), CAST(:found_ons AS date[]), CAST(:confidences AS smallint[]))
         AS u(debtor_id, kind, value, source, found_on, confidence)
    JOIN ingest.debtors d ON d.tenant_id = :tenant_id AND d.id = u.debtor_id
    ORDER BY d.id, u.kind, u.value
    ON CONFLICT ON CONSTRAINT contacts_datum DO NOTHING
    RETURNING {", ".join(c.name for c in contacts.c)}
"""
CONTACTS_PER_STATEMENT = 10_000


def _by_debtor(contacts: list[NewContact], size: int) -> Iterator[list[NewContact]]:
    """`contacts` (sorted by debtor) in parts of about `size`, a debtor's contacts all in one part:
    within a statement the database orders them by kind and value in its own collation."""
    part: list[NewContact] = []
    for contact in contacts:
        if len(part) >= size and contact.debtor_id != part[-1].debtor_id:
            yield part
            part = []
        part.append(contact)
    if part:
        yield part


async def add_contacts(
    uow: UnitOfWork, tenant_id: uuid.UUID, entered_by: str, new: Sequence[NewContact]
) -> list[sa.Row[Any]]:
    """Insert many contact data at once (a tracing file); returns those inserted, in the order
    given: a datum the debtor already has (active or marked wrong), or given twice, is skipped
    (the first one given is kept).

    They are inserted in (debtor, kind, value) order, the order in which a batch inserts its
    contacts, so that two transactions adding the same data wait for each other in one direction
    (uuid order is byte order in PostgreSQL too)."""
    order = {(c.debtor_id, c.datum.kind, c.datum.value): n for n, c in reversed(list(enumerate(new)))}
    firsts = sorted((new[n] for n in order.values()), key=lambda c: c.debtor_id.bytes)
    inserted: list[sa.Row[Any]] = []
    for part in _by_debtor(firsts, CONTACTS_PER_STATEMENT):
        params = {
            "tenant_id": tenant_id,
            "entered_by": entered_by,
            "debtor_ids": [c.debtor_id for c in part],
            "kinds": [c.datum.kind for c in part],
            "values": [c.datum.value for c in part],
            "sources": [c.source for c in part],
            "found_ons": [c.found_on for c in part],
            "confidences": [c.confidence for c in part],
        }
        inserted.extend(await uow.execute(sa.text(_ADD_CONTACTS).columns(*contacts.c), params))
    return sorted(inserted, key=lambda r: order[(r.debtor_id, r.kind, r.value)])


async def debtors_by_fiscal_code(
    uow: UnitOfWork, tenant_id: uuid.UUID, codes: Sequence[str]
) -> dict[str, sa.Row[Any]]:
    stmt = sa.select(debtors).where(
        debtors.c.tenant_id == tenant_id, debtors.c.fiscal_code == sa.func.any(sa.bindparam("codes"))
    )
    return {r.fiscal_code: r for r in await uow.execute(stmt, {"codes": list(set(codes))})}


async def deactivate_contact(
    uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID, by: str
) -> sa.Row[Any] | None:
    stmt = (
        sa.update(contacts)
        .where(contacts.c.tenant_id == tenant_id, contacts.c.id == contact_id, contacts.c.active)
        .values(active=False, wrong=True, deactivated_by=by, deactivated_at=sa.func.now())
        .returning(contacts)
    )
    return (await uow.execute(stmt)).first()


async def debtor_contacts(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[sa.Row[Any]]:
    stmt = (
        sa.select(contacts)
        .where(contacts.c.tenant_id == tenant_id, contacts.c.debtor_id == debtor_id)
        .order_by(contacts.c.active.desc(), contacts.c.kind, contacts.c.created_at)
    )
    return list((await uow.execute(stmt)).all())


async def active_phones_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The active phone numbers of these debtors, most trusted first (debtors without: absent)."""
    stmt = (
        sa.select(contacts.c.debtor_id, contacts.c.value)
        .where(
            contacts.c.tenant_id == tenant_id,
            contacts.c.debtor_id == sa.func.any(sa.bindparam("debtor_ids")),
            contacts.c.active,
            contacts.c.kind == "phone",
        )
        .order_by(contacts.c.debtor_id, contacts.c.confidence.desc(), contacts.c.created_at)
    )
    phones: dict[uuid.UUID, list[str]] = {}
    for row in await uow.execute(stmt, {"debtor_ids": list(debtor_ids)}):
        phones.setdefault(row.debtor_id, []).append(row.value)
    return phones


async def debtor_positions(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[sa.Row[Any]]:
    stmt = (
        sa.select(positions)
        .where(positions.c.tenant_id == tenant_id, positions.c.debtor_id == debtor_id)
        .order_by(positions.c.year, positions.c.revenue_type, positions.c.act_number)
    )
    return list((await uow.execute(stmt)).all())


async def tracing_queue(
    uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 200, offset: int = 0
) -> list[sa.Row[Any]]:
    """Debtors without a usable phone, those with the most money due first."""
    due = (
        sa.select(sa.func.coalesce(sa.func.sum(positions.c.amount_cents), 0))
        .where(positions.c.tenant_id == tenant_id, positions.c.debtor_id == debtors.c.id)
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            debtors.c.id, debtors.c.fiscal_code, debtors.c.name, debtors.c.grade, due.label("due_cents")
        )
        .where(debtors.c.tenant_id == tenant_id, debtors.c.grade != "phone")
        .order_by(due.desc(), debtors.c.fiscal_code)
        .limit(limit)
        .offset(offset)
    )
    return list((await uow.execute(stmt)).all())


async def grade_counts(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, int]:
    stmt = (
        sa.select(debtors.c.grade, sa.func.count())
        .where(debtors.c.tenant_id == tenant_id)
        .group_by(debtors.c.grade)
    )
    result: Any = await uow.execute(stmt)
    return {str(key): int(count) for key, count in result}


async def contact_counts(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    """Contacts by source and kind, active or marked wrong: what was found and by whom."""
    stmt = (
        sa.select(
            contacts.c.source,
            contacts.c.kind,
            sa.func.count().filter(contacts.c.active).label("active"),
            sa.func.count().filter(contacts.c.wrong).label("wrong"),
        )
        .where(contacts.c.tenant_id == tenant_id)
        .group_by(contacts.c.source, contacts.c.kind)
        .order_by(contacts.c.source, contacts.c.kind)
    )
    return list((await uow.execute(stmt)).all())


async def traced_contacts(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 5000) -> list[sa.Row[Any]]:
    stmt = (
        sa.select(contacts, debtors.c.fiscal_code, debtors.c.name)
        .join(debtors, debtors.c.id == contacts.c.debtor_id)
        .where(contacts.c.tenant_id == tenant_id, contacts.c.source != "comune")
        .order_by(contacts.c.created_at, debtors.c.fiscal_code, contacts.c.kind)
        .limit(limit)
    )
    return list((await uow.execute(stmt)).all())


async def warning_counts(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, int]:
    """How many rows of the tenant's batches carried each warning (what the cleaning flagged)."""
    code = sa.func.unnest(batch_rows.c.warnings).label("code")
    inner = sa.select(code).where(batch_rows.c.tenant_id == tenant_id).subquery()
    stmt = sa.select(inner.c.code, sa.func.count()).group_by(inner.c.code)
    result: Any = await uow.execute(stmt)
    return {str(key): int(count) for key, count in result}


async def normalised_phone_count(uow: UnitOfWork, tenant_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).where(
        contacts.c.tenant_id == tenant_id, contacts.c.source == "comune", contacts.c.kind == "phone"
    )
    return int((await uow.execute(stmt)).scalar_one())


async def set_progress(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, rows: int, phase: str
) -> None:
    stmt = pg_insert(batch_progress).values(tenant_id=tenant_id, batch_id=batch_id, rows=rows, phase=phase)
    await uow.execute(
        stmt.on_conflict_do_update(
            index_elements=[batch_progress.c.batch_id],
            set_={"rows": rows, "phase": phase, "updated_at": sa.func.now()},
            where=batch_progress.c.tenant_id == tenant_id,
        )
    )


async def get_progress(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> sa.Row[Any] | None:
    stmt = sa.select(batch_progress).where(
        batch_progress.c.tenant_id == tenant_id, batch_progress.c.batch_id == batch_id
    )
    return (await uow.execute(stmt)).first()


# ---------------------------------------------------------------- access to personal data


access = db.AccessLog(access_log)
