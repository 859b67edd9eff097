"""Ordinary ingest queries: batches, their rows, mappings and progress, and the access log.

Every function takes the tenant explicitly and filters by it (RLS also does). The bulk SQL of a
batch is apart: `repository_settle` (staging and settling), `repository_cleaning` (its contacts and
grades), `repository_events` (its events); debtors and contacts are in `repository_tracing`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.ingest.models import access_log, batch_progress, batch_rows, batches, mappings, positions
from services.ingest.models import debtors as ingest_debtors
from services.kernel.access_log import AccessLog
from services.kernel.db import UnitOfWork
from services.kernel.storage import StoredObject


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
    """The latest batches, each with the positions it registered (`new_positions`: a file loaded
    again registers only the credits not yet known)."""
    created = (
        sa.select(sa.func.count())
        .where(positions.c.tenant_id == tenant_id, positions.c.batch_id == batches.c.id)
        .scalar_subquery()
    )
    stmt = (
        sa.select(batches, created.label("new_positions"))
        .where(batches.c.tenant_id == tenant_id)
        .order_by(batches.c.created_at.desc())
        .limit(limit)
    )
    return list((await uow.execute(stmt)).all())


async def same_file_before(uow: UnitOfWork, tenant_id: uuid.UUID, batch: Any) -> sa.Row[Any] | None:
    """The first earlier batch of the same file (same SHA-256), if the Comune loaded it before (one
    discarded or that could not be read does not count: nothing of it was registered)."""
    b = batches
    stmt = (
        sa.select(b.c.id, b.c.filename, b.c.created_at)
        .where(
            b.c.tenant_id == tenant_id,
            b.c.raw_sha256 == batch.raw_sha256,
            b.c.created_at < batch.created_at,
            b.c.status.not_in(("discarded", "failed")),
        )
        .order_by(b.c.created_at)
        .limit(1)
    )
    return (await uow.execute(stmt)).first()


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


async def mark_discarded(uow: UnitOfWork, tenant_id: uuid.UUID, batch_id: uuid.UUID, who: str) -> bool:
    """Discard a batch waiting for its columns (its sample rows go with it); False if it was not
    waiting."""
    result = await uow.execute(
        sa.update(batches)
        .where(
            batches.c.tenant_id == tenant_id, batches.c.id == batch_id, batches.c.status == "needs_mapping"
        )
        .values(status="discarded", layout=None, discarded_by=who, discarded_at=sa.func.now())
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


async def list_rows(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    batch_id: uuid.UUID,
    verdict: str | None = None,
    after: int = 0,
    limit: int = 500,
) -> list[sa.Row[Any]]:
    """Rows of a batch in file order; `verdict` may be a verdict, "rejected", "problem" (rejected
    or in conflict: the errors report) or "warning" (registered with warnings: a row not
    registered is in the errors report, with its cells as they were)."""
    stmt = sa.select(batch_rows).where(
        batch_rows.c.tenant_id == tenant_id,
        batch_rows.c.batch_id == batch_id,
        batch_rows.c.row_number > after,
    )
    if verdict == "rejected":
        stmt = stmt.where(batch_rows.c.verdict.startswith("rejected:"))
    elif verdict == "warning":
        stmt = stmt.where(batch_rows.c.verdict == "accepted", sa.func.cardinality(batch_rows.c.warnings) > 0)
    elif verdict == "problem":
        stmt = stmt.where(
            batch_rows.c.verdict.in_(("conflict",)) | batch_rows.c.verdict.startswith("rejected:")
        )
    elif verdict:
        stmt = stmt.where(batch_rows.c.verdict == verdict)
    return list((await uow.execute(stmt.order_by(batch_rows.c.row_number).limit(limit))).all())


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


access = AccessLog(access_log)
# What names a record of the register of accesses (`web_access.subject_names`): a file loaded by
# its name, a debtor by name and fiscal code.
ACCESS_NAMES = [
    (batches, "id", batches.c.filename),
    (ingest_debtors, "id", ingest_debtors.c.name + " · " + ingest_debtors.c.fiscal_code),
]
