"""Queries of the c.803 collection charges' payments (migration 0018)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.payments.models import plans
from services.payments.models_charges import charge_payments

Row = sa.Row[Any]


async def plan_heads(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Row]:
    """The debtor and revenue type of these plans, by id."""
    stmt = sa.select(plans.c.id, plans.c.debtor_id, plans.c.revenue_type).where(
        plans.c.tenant_id == tenant_id, plans.c.id.in_(list(plan_ids))
    )
    return {r.id: r for r in (await uow.execute(stmt)).all()}


async def insert(uow: UnitOfWork, tenant_id: uuid.UUID, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await uow.execute(sa.insert(charge_payments), [{**r, "tenant_id": tenant_id} for r in rows])


async def revoke(uow: UnitOfWork, tenant_id: uuid.UUID, receipt_ids: Collection[uuid.UUID]) -> list[Row]:
    """The charges paid by these receipts, revoked now (those already revoked are left)."""
    c = charge_payments
    stmt = (
        sa.update(c)
        .where(c.c.tenant_id == tenant_id, c.c.receipt_id.in_(list(receipt_ids)), c.c.state != "REVOKED")
        .values(state="REVOKED")
        .returning(c.c.id, c.c.plan_id, c.c.debtor_id, c.c.amount_cents)
    )
    return list((await uow.execute(stmt)).all())


async def of_plan(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> list[Row]:
    """The plan's charges payments, oldest first."""
    c = charge_payments
    stmt = (
        sa.select(c)
        .where(c.c.tenant_id == tenant_id, c.c.plan_id == plan_id)
        .order_by(c.c.paid_on, c.c.recorded_at)
    )
    return list((await uow.execute(stmt)).all())
