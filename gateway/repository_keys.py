"""Queries on a Comune's API keys (only their SHA-256 and public prefix are stored)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from gateway.models import api_keys
from services.kernel.db import UnitOfWork


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    label: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def shown(self) -> str:
        """How the key is recognised without being readable: its public beginning."""
        return f"rsk_{self.prefix}_…"


async def tenant_api_keys(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[ApiKey]:
    """The Comune's keys, valid ones first, newest first."""
    rows = await uow.execute(
        sa.select(
            api_keys.c.id, api_keys.c.label, api_keys.c.prefix, api_keys.c.created_at, api_keys.c.revoked_at
        )
        .where(api_keys.c.tenant_id == tenant_id)
        .order_by(api_keys.c.revoked_at.is_not(None), api_keys.c.created_at.desc())
    )
    return [ApiKey(**r._mapping) for r in rows]


async def revoke_api_key(uow: UnitOfWork, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    """Revoke one valid key of the Comune; None if it has no such key (or it was revoked already)."""
    row = (
        await uow.execute(
            sa.update(api_keys)
            .where(
                api_keys.c.tenant_id == tenant_id, api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)
            )
            .values(revoked_at=sa.func.now())
            .returning(
                api_keys.c.id,
                api_keys.c.label,
                api_keys.c.prefix,
                api_keys.c.created_at,
                api_keys.c.revoked_at,
            )
        )
    ).first()
    return ApiKey(**row._mapping) if row is not None else None
