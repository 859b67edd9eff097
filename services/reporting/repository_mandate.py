"""SQL of the end of a mandate (`models_mandate`)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.reporting.models import batches
from services.reporting.models_mandate import mandate_erasures, mandate_files, mandates
from services.reporting.repository import access


async def get(uow: UnitOfWork, tenant_id: uuid.UUID, lock: bool = False) -> sa.Row[Any] | None:
    stmt = sa.select(mandates).where(mandates.c.tenant_id == tenant_id)
    return (await uow.execute(stmt.with_for_update() if lock else stmt)).first()


async def create(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await uow.execute(sa.insert(mandates).values(tenant_id=tenant_id, state="closing", **values))


async def update(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await uow.execute(sa.update(mandates).where(mandates.c.tenant_id == tenant_id).values(**values))


async def package_downloads(uow: UnitOfWork, tenant_id: uuid.UUID, since: date) -> list[sa.Row[Any]]:
    """Who downloaded the package's files (the handover ZIP, a relazione) from the day of the closure:
    the firm's admin sees whether the Comune took it before asking for the erasure."""
    log = access.table
    stmt = (
        sa.select(log.c.user_name, log.c.at, log.c.action, log.c.detail)
        .where(
            log.c.tenant_id == tenant_id,
            log.c.action.in_(("download_handover", "download_relazione")),
            log.c.at >= sa.func.make_date(since.year, since.month, since.day),
        )
        .order_by(log.c.at)
    )
    return list((await uow.execute(stmt)).all())


async def first_batch_day(uow: UnitOfWork, tenant_id: uuid.UUID) -> date | None:
    stmt = sa.select(sa.func.min(batches.c.accepted_at)).where(batches.c.tenant_id == tenant_id)
    first = (await uow.execute(stmt)).scalar_one()
    return None if first is None else first.date()


async def add_files(uow: UnitOfWork, tenant_id: uuid.UUID, service: str, files: list[dict[str, Any]]) -> None:
    rows = [
        {
            "tenant_id": tenant_id,
            "service": service,
            "object_key": f["key"],
            "name": f["name"],
            "media_type": f["media_type"],
            "sha256": f["sha256"],
            "size": int(f["size"]),
        }
        for f in files
    ]
    if rows:
        await uow.execute(pg_insert(mandate_files).values(rows).on_conflict_do_nothing())


async def files(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    stmt = sa.select(mandate_files).where(mandate_files.c.tenant_id == tenant_id)
    return list((await uow.execute(stmt.order_by(mandate_files.c.service, mandate_files.c.name))).all())


async def file(uow: UnitOfWork, tenant_id: uuid.UUID, sha256: str) -> sa.Row[Any] | None:
    stmt = sa.select(mandate_files).where(
        mandate_files.c.tenant_id == tenant_id, mandate_files.c.sha256 == sha256
    )
    return (await uow.execute(stmt)).first()


async def add_erasure(uow: UnitOfWork, tenant_id: uuid.UUID, service: str, report: dict[str, Any]) -> None:
    stmt = pg_insert(mandate_erasures).values(tenant_id=tenant_id, service=service, report=report)
    await uow.execute(stmt.on_conflict_do_nothing())


async def erasures(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    stmt = sa.select(mandate_erasures.c.service, mandate_erasures.c.report).where(
        mandate_erasures.c.tenant_id == tenant_id
    )
    return {r.service: dict(r.report) for r in await uow.execute(stmt)}
