"""Staging and settling a batch in bulk: COPY into temporary tables, verdicts and registration in SQL.

A million-row batch is settled here in a few statements; `domain_verdicts.settle` is the same rule
in memory. Every function takes the tenant explicitly (RLS also applies).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import sqlalchemy as sa

from services.ingest.domain import CREDIT_KEY
from services.ingest.domain_contacts import GRADE_ADDRESS, GRADE_NONE, GRADE_PHONE
from services.ingest.domain_verdicts import CONFLICT_REASON, DUPLICATE_REASON, REGISTERED_CONFLICT_REASON
from services.ingest.repository_rules import address_grades_sql, pec_grades_sql
from services.kernel.db import UnitOfWork
from services.kernel.logs import Clock

# The staging tables are temporary, private to the handler's transaction and hold no tenant column:
# `store_chunk` copies their rows into the tenant's tables, tenant set explicitly.
UNSCOPED = {
    "create_stage": "creates the transaction's own temporary tables, which no other session can see",
}
log = logging.getLogger(__name__)


# Time-ordered (version 7 layout) UUIDs for bulk inserts: a million random UUIDs scatter the
# primary-key B-tree and cost a quarter of the insert time; these land on its right edge. The
# random bits come from random() (gen_random_uuid's strong randomness cost twice as much, and ids
# are no secret: every read is tenant-scoped); the primary key guards uniqueness. date_part, not
# extract: its double precision is a quarter cheaper than extract's numeric here.
UUID7 = (
    "encode(int8send((floor(date_part('epoch', clock_timestamp()) * 1000)::bigint << 16) | 28672 "
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
    "act_on",
    "phone",
    "email",
    "address",
    "cells",
)
_CREATE_STAGE = """
    CREATE TEMP TABLE ingest_chunk (
        row_number integer, line_number integer, verdict text, field text, reason_it text,
        warnings text[], warnings_it text, fiscal_code text, name text, revenue_type text,
        year integer, act_number text, amount_cents bigint, act_on date, phone text, email text, address text,
        cells text[]
    ) ON COMMIT DROP
"""
# Each chunk goes from the temporary `ingest_chunk` into batch_rows while the next one is judged.
# An accepted row keeps no cells (the file has them); the keys and cells of accepted rows wait in the
# temporary `ingest_held` (no WAL) in case the batch later holds the row back (`_HOLD_BACK`).
HELD_COLUMNS = ("row_number", "fiscal_code", "revenue_type", "year", "act_number", "amount_cents", "cells")
CREATE_HELD = """
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
# for every first occurrence of each amount (the same rule as `domain_verdicts.settle`).
# The windows compare the key's texts as bytes (COLLATE "C"; equality is the same in any
# deterministic collation): sorting by the database's locale took twice as long.
_KEY = ", ".join(name if name == "year" else f'{name} COLLATE "C"' for name in CREDIT_KEY)
SETTLE_HELD = f"""
    SELECT row_number, cells, CASE WHEN nth > 1 THEN 'duplicate' ELSE 'conflict' END AS verdict,
           CASE WHEN nth > 1 THEN NULL ELSE 'amount' END AS field,
           CASE WHEN nth > 1 THEN CAST(:duplicate_reason AS text) ELSE CAST(:conflict_reason AS text) END
               AS reason_it
    FROM (
        SELECT row_number, cells,
               row_number() OVER (PARTITION BY {_KEY}, amount_cents ORDER BY row_number) AS nth,
               min(amount_cents) OVER k AS lo, max(amount_cents) OVER k AS hi
        FROM ingest_held
        WINDOW k AS (PARTITION BY {_KEY})
    ) w
    WHERE nth > 1 OR lo <> hi
"""
_SETTLE = _HOLD_BACK.format(held=SETTLE_HELD)
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
# A new debtor is graded from its rows here (`domain_contacts.grade` of the contacts these rows
# become, `domain_contacts.file_contacts`), which spares a million-row UPDATE; debtors known before are regraded by `clean_batch`.
# The name is the one on the debtor's first row: one sort by (fiscal code, row) serves the window,
# DISTINCT ON and the insert's order (an ordered array_agg per debtor cost a third of this
# statement; the window by fiscal code alone, then DISTINCT ON, sorted twice). The sort compares
# bytes (COLLATE "C": fiscal codes are ASCII, their order the same), not the database's locale.
# The ids of the debtors this batch creates go to a temporary table (see NEW_DEBTOR).
ADDRESS_GRADES = address_grades_sql("warnings")
PEC_GRADES = pec_grades_sql("email")
# A Comune's first batch (no debtor yet, none can appear while it holds SETTLE_LOCK) creates every
# debtor of its rows: no conflict to resolve and no ids to keep (its known debtors are none).
_REGISTER_FIRST_DEBTORS = f"""
    INSERT INTO ingest.debtors (id, tenant_id, fiscal_code, name, grade, graded_at)
    SELECT {UUID7}, :tenant_id, fiscal_code, name,
           CASE WHEN has_phone THEN '{GRADE_PHONE}' WHEN has_address THEN '{GRADE_ADDRESS}' ELSE '{GRADE_NONE}' END,
           now()
    FROM (
        SELECT DISTINCT ON (fiscal_code COLLATE "C") fiscal_code, name,
               bool_or(phone IS NOT NULL) OVER d AS has_phone,
               bool_or((address <> '' AND {ADDRESS_GRADES}) OR {PEC_GRADES}) OVER d AS has_address
        FROM ingest.batch_rows
        WHERE tenant_id = :tenant_id AND batch_id = :batch_id AND verdict = 'accepted'
        WINDOW d AS (PARTITION BY fiscal_code COLLATE "C" ORDER BY row_number
                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        ORDER BY fiscal_code COLLATE "C", row_number
    ) first_rows
    ORDER BY fiscal_code COLLATE "C"
"""
_REGISTER_DEBTORS = f"""
    WITH created AS ({_REGISTER_FIRST_DEBTORS}
        ON CONFLICT ON CONSTRAINT debtors_tenant_fiscal_code DO NOTHING RETURNING id)
    INSERT INTO ingest_new_debtors SELECT id FROM created
"""
# Debtors this batch created have no positions or contacts yet, and the accepted rows of a batch
# have distinct credit keys: their rows need no ON CONFLICT, whose speculative insertion cost more
# than half again as much per row. A debtor known before keeps it: it may have the credit or datum.
NEW_DEBTOR = "EXISTS (SELECT 1 FROM ingest_new_debtors n WHERE n.id = d.id)"
KNOWN_DEBTOR = "NOT EXISTS (SELECT 1 FROM ingest_new_debtors n WHERE n.id = d.id)"
_REGISTER_POSITIONS = f"""
    INSERT INTO ingest.positions
        (id, tenant_id, debtor_id, batch_id, revenue_type, year, act_number, amount_cents, act_on)
    SELECT {UUID7}, :tenant_id, d.id, :batch_id, r.revenue_type, r.year, r.act_number, r.amount_cents, r.act_on
    FROM ingest.batch_rows r
    JOIN ingest.debtors d ON d.tenant_id = r.tenant_id AND d.fiscal_code = r.fiscal_code
    WHERE r.tenant_id = :tenant_id AND r.batch_id = :batch_id AND r.verdict = 'accepted' AND {{debtors}}
    ORDER BY d.id, r.revenue_type, r.year, r.act_number
"""
_REGISTER_NEW_POSITIONS = _REGISTER_POSITIONS.format(debtors=NEW_DEBTOR)
# When every debtor of the batch is new (a Comune's first file), no row needs that test.
_REGISTER_ALL_POSITIONS = _REGISTER_POSITIONS.format(debtors="true")
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
           count(*) FILTER (WHERE verdict = 'accepted' AND cardinality(warnings) > 0) AS warnings,
           count(*) FILTER (WHERE verdict = 'accepted' AND 'limitation' = ANY(warnings)) AS barred,
           coalesce(sum(amount_cents) FILTER (WHERE verdict = 'accepted' AND 'limitation' = ANY(warnings)), 0)
               AS barred_cents,
           count(DISTINCT fiscal_code COLLATE "C") FILTER (WHERE verdict = 'accepted') AS debtors
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
    await uow.execute(sa.text(CREATE_HELD))
    await uow.execute(sa.text("CREATE TEMP TABLE ingest_new_debtors (id uuid PRIMARY KEY) ON COMMIT DROP"))


async def store_chunk(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, data: bytes) -> None:
    """Store a chunk of verdicts (CSV in `STAGE_COLUMNS` order, `columnar.stage_csv`) as rows of
    the batch: COPY into the transaction's temporary table (a table under RLS takes no COPY), then
    into batch_rows with the tenant set explicitly."""
    raw = await (await uow.connection()).get_raw_connection()
    # A buffer, not a file over the bytes (nor the bytes, which asyncpg takes for a path): for a file
    # asyncpg reads 512 kB at a time through the thread pool and builds a reader class per call,
    # whose reference cycle kept each chunk's data (4 MB) until the cycle collector ran: 50 MB and
    # more held while storing.
    await raw.driver_connection.copy_to_table(  # type: ignore[union-attr]
        "ingest_chunk", source=memoryview(data), columns=STAGE_COLUMNS, format="csv"
    )
    await uow.execute(sa.text(_STORE_CHUNK), {"tenant_id": tenant_id, "batch_id": batch_id})
    await uow.execute(sa.text(_HOLD_CELLS))
    await uow.execute(sa.text("TRUNCATE ingest_chunk"))


# A batch of at least this many rows, and at least a quarter as big as the positions table, joins
# its rows to debtors, positions and contacts by hashing: the planner has no statistics for rows this
# transaction wrote (the service's role may not ANALYZE its tables) and would probe an index once per
# row (a third of the time of those joins). Against a much larger table the probes stay cheaper.
HASH_JOINS_FROM_ROWS = 20_000
# Whether the Comune has positions and debtors already (none can appear while the batch holds
# SETTLE_LOCK): a first batch skips the checks against them.
_KNOWN_BEFORE = """
    SELECT EXISTS (SELECT 1 FROM ingest.positions WHERE tenant_id = :tenant_id) AS positions,
           EXISTS (SELECT 1 FROM ingest.debtors WHERE tenant_id = :tenant_id) AS debtors
"""
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
        # Turning nested loops off adds its "disable cost" to every plan's estimate, which then passes
        # every JIT threshold: each big statement was compiled with inlining and optimisation (0.46 s
        # for the contacts' insert). Without it a 50,000-row batch took 0.2-0.7 s less; a million-row
        # batch the same (80.0 and 80.1 s against 84.4 and 76.0 s).
        await uow.execute(sa.text("SET LOCAL jit = off"))
    await uow.execute(sa.text("ANALYZE ingest_held"))  # a temporary table has no statistics else
    known = (await uow.execute(sa.text(_KNOWN_BEFORE), params)).one()
    if known.positions:
        conflicts = {**params, "reason": REGISTERED_CONFLICT_REASON}
        await uow.execute(sa.text(_REGISTERED_CONFLICTS), conflicts)
    clock.lap("registered_conflicts")
    await uow.execute(sa.text(_SETTLE), {**params, **reasons})
    clock.lap("batch_rows")
    register = _REGISTER_DEBTORS if known.debtors else _REGISTER_FIRST_DEBTORS
    new_debtors = (await uow.execute(sa.text(register), params)).rowcount
    await uow.execute(sa.text("ANALYZE ingest_new_debtors"))  # a temporary table has no statistics else
    clock.lap("debtors")
    summary = {k: int(v) for k, v in (await uow.execute(sa.text(_SUMMARY), params)).mappings().one().items()}
    rejected = {r.reason: int(r.n) for r in await uow.execute(sa.text(_REJECTED), params)}
    known_debtors = summary.pop("debtors") - new_debtors
    clock.lap("summary")
    new_positions = _REGISTER_NEW_POSITIONS if known_debtors else _REGISTER_ALL_POSITIONS
    registered = (await uow.execute(sa.text(new_positions), params)).rowcount
    if known_debtors:
        registered += (await uow.execute(sa.text(_REGISTER_KNOWN_POSITIONS), params)).rowcount
    clock.lap("positions")
    log.info("batch settled", extra={"fields": clock.laps})
    return {**summary, "rejected": rejected, "registered": registered}, known_debtors
