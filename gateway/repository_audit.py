"""Queries on the append-only audit log: who did what, when, from where, on which Comune."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gateway.domain import ACTIONS
from gateway.models import audit_log
from services.kernel.db import UnitOfWork

UNSCOPED = {
    "record": "entries are appended for a Comune or for none (failed logins); tenant_id is an argument",
    "all_entries": "platform administrators browse every Comune; the gateway checks the role first",
}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    tenant_id: uuid.UUID | None
    actor_user_id: uuid.UUID | None
    actor_label: str
    action: str
    ip: str | None
    detail: dict[str, Any]


async def record(
    uow: UnitOfWork,
    action: str,
    *,
    actor_label: str,
    tenant_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    await uow.execute(
        sa.insert(audit_log).values(
            tenant_id=tenant_id,
            actor_user_id=actor_user_id,
            actor_label=actor_label,
            action=action,
            ip=ip,
            detail=detail or {},
        )
    )


async def tenant_entries(
    uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """One Comune's entries, newest first (what its comune_admin may browse)."""
    stmt = sa.select(audit_log).where(audit_log.c.tenant_id == tenant_id)
    if before_id is not None:
        stmt = stmt.where(audit_log.c.id < before_id)
    rows = await uow.execute(stmt.order_by(audit_log.c.id.desc()).limit(limit))
    return [AuditEntry(**r._mapping) for r in rows]


async def all_entries(uow: UnitOfWork, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
    """Every entry, newest first: only for platform administrators (the caller checks the role)."""
    rows = await uow.execute(
        sa.text("SELECT * FROM gateway.audit_entries(:n, :b)"),
        {"n": limit, "b": before_id if before_id is not None else 2**62},
    )
    return [AuditEntry(**r._mapping) for r in rows]
