"""Queries of a Comune's own installment rules, kept with the day each change takes effect."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.payments.models import plan_rules

Row = sa.Row[Any]


async def insert_rules(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await uow.execute(sa.insert(plan_rules).values(tenant_id=tenant_id, **values))


async def rules_in_force(uow: UnitOfWork, tenant_id: uuid.UUID, revenue_type: str, day: date) -> Row | None:
    """The Comune's rules for this revenue type on `day`: the last change that took effect by then."""
    r = plan_rules
    stmt = (
        sa.select(r)
        .where(r.c.tenant_id == tenant_id, r.c.revenue_type == revenue_type, r.c.valid_from <= day)
        .order_by(r.c.valid_from.desc(), r.c.id.desc())
        .limit(1)
    )
    return (await uow.execute(stmt)).first()


async def rules_history(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Row]:
    r = plan_rules
    stmt = sa.select(r).where(r.c.tenant_id == tenant_id).order_by(r.c.revenue_type, r.c.valid_from, r.c.id)
    return list((await uow.execute(stmt)).all())
