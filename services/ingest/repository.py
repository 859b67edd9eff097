"""All ingest queries. Every function takes the tenant explicitly and filters by it (RLS also does)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from services.ingest.domain import Credit, RowVerdict
from services.ingest.models import batch_rows, batches, debtors, positions
from services.kernel.db import UnitOfWork
from services.kernel.storage import StoredObject

CHUNK = 1000


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


_INSERT_DEBTORS = sa.text(
    """
    INSERT INTO ingest.debtors (id, tenant_id, fiscal_code, name)
    SELECT gen_random_uuid(), :tenant_id, u.fiscal_code, u.name
    FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[])) AS u(fiscal_code, name)
    ON CONFLICT ON CONSTRAINT debtors_tenant_fiscal_code DO NOTHING
    """
)
_INSERT_POSITIONS = sa.text(
    """
    INSERT INTO ingest.positions
        (id, tenant_id, debtor_id, batch_id, revenue_type, year, act_number, amount_cents)
    SELECT u.id, :tenant_id, u.debtor_id, :batch_id, u.revenue_type, u.year, u.act_number, u.amount_cents
    FROM unnest(CAST(:ids AS uuid[]), CAST(:debtor_ids AS uuid[]), CAST(:revenue_types AS text[]),
                CAST(:years AS integer[]), CAST(:act_numbers AS text[]), CAST(:amounts AS bigint[]))
         AS u(id, debtor_id, revenue_type, year, act_number, amount_cents)
    ON CONFLICT ON CONSTRAINT positions_credit_key DO NOTHING
    RETURNING id
    """
)
ARRAY_CHUNK = 20_000


async def upsert_debtors(
    uow: UnitOfWork, tenant_id: uuid.UUID, credits: Sequence[Credit]
) -> dict[str, uuid.UUID]:
    """Debtor id per fiscal code: new debtors are created, a known one keeps its id and name."""
    names: dict[str, str] = {}
    for credit in credits:
        names.setdefault(credit.fiscal_code, credit.name)
    ids: dict[str, uuid.UUID] = {}
    for chunk in _chunks(list(names.items()), ARRAY_CHUNK):
        codes = [code for code, _ in chunk]
        await uow.execute(
            _INSERT_DEBTORS, {"tenant_id": tenant_id, "codes": codes, "names": [n for _, n in chunk]}
        )
        found = await uow.execute(
            sa.select(debtors.c.id, debtors.c.fiscal_code).where(
                debtors.c.tenant_id == tenant_id, debtors.c.fiscal_code == sa.func.any(sa.bindparam("codes"))
            ),
            {"codes": codes},
        )
        ids.update({row.fiscal_code: row.id for row in found})
    return ids


async def insert_new_positions(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> set[uuid.UUID]:
    """Insert positions not yet registered for the tenant; returns the ids actually inserted."""
    inserted: set[uuid.UUID] = set()
    for chunk in _chunks(rows, ARRAY_CHUNK):
        params = {
            "tenant_id": tenant_id,
            "batch_id": batch_id,
            "ids": [r["id"] for r in chunk],
            "debtor_ids": [r["debtor_id"] for r in chunk],
            "revenue_types": [r["revenue_type"] for r in chunk],
            "years": [r["year"] for r in chunk],
            "act_numbers": [r["act_number"] for r in chunk],
            "amounts": [r["amount_cents"] for r in chunk],
        }
        inserted.update(r.id for r in await uow.execute(_INSERT_POSITIONS, params))
    return inserted


async def insert_batch_rows(
    uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, verdicts: Sequence[RowVerdict]
) -> None:
    for chunk in _chunks(verdicts, 5000):
        await uow.execute(
            sa.insert(batch_rows),
            [
                {
                    "tenant_id": tenant_id,
                    "batch_id": batch_id,
                    "row_number": v.row_number,
                    "line_number": v.line_number,
                    "verdict": v.verdict,
                    "field": v.field,
                    "reason_it": v.reason_it,
                }
                for v in chunk
            ],
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
