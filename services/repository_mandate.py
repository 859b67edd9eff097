"""SQL of the end of a mandate in every service (`services.mandate`): the Comune's closure row
(`kernel.db.closures_table`) and the erasure of a table's rows of one Comune."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork

SET_ERASURE = sa.text("SELECT set_config('app.erasure', :t, true)")


def _closures(uow: UnitOfWork) -> sa.Table:
    table = uow.db.closures
    if table is None:
        raise RuntimeError(f"schema {uow.db.metadata.schema} has no tenant_closures")
    return table


async def record_closure(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    table = _closures(uow)
    await uow.execute(pg_insert(table).values(tenant_id=tenant_id).on_conflict_do_nothing())


async def saved_manifest(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[dict[str, Any]] | None:
    """The stored objects listed by an earlier attempt (the row locked until the caller commits)."""
    table = _closures(uow)
    stmt = sa.select(table.c.objects).where(table.c.tenant_id == tenant_id).with_for_update()
    saved = (await uow.execute(stmt)).scalar_one()
    return None if saved is None else [dict(item) for item in saved]


async def save_manifest(uow: UnitOfWork, tenant_id: uuid.UUID, manifest: list[dict[str, Any]]) -> None:
    table = _closures(uow)
    await uow.execute(sa.update(table).where(table.c.tenant_id == tenant_id).values(objects=manifest))


async def mark_erased(uow: UnitOfWork, tenant_id: uuid.UUID, at: datetime) -> None:
    table = _closures(uow)
    await uow.execute(sa.update(table).where(table.c.tenant_id == tenant_id).values(erased_at=at))


async def allow_access_log_erasure(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """The access log's trigger lets this transaction delete this Comune's rows (`migrate_erasure`)."""
    await uow.execute(SET_ERASURE, {"t": str(tenant_id)})


async def erase_table(uow: UnitOfWork, table: sa.Table, tenant_id: uuid.UUID) -> dict[str, Any]:
    """DELETE the Comune's rows; the count and the SHA-256 of their primary keys (without the
    Comune's id), sorted, one a line."""
    columns = [c for c in table.primary_key.columns if c.name != "tenant_id"] or list(
        table.primary_key.columns
    )
    key = ", ".join(f'"{c.name}"::text' for c in columns)
    statement = sa.text(
        f'WITH gone AS (DELETE FROM "{table.schema}"."{table.name}" WHERE tenant_id = :t'
        f" RETURNING concat_ws('|', {key}) AS k)"
        " SELECT count(*), encode(sha256(convert_to(coalesce(string_agg(k || E'\\n', '' ORDER BY k), ''),"
        " 'UTF8')), 'hex') FROM gone"
    )
    rows, digest = tuple((await uow.execute(statement, {"t": tenant_id})).one())
    return {"table": f"{table.schema}.{table.name}", "rows": int(rows), "sha256": str(digest)}
