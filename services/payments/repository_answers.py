"""Queries of the Ufficio tributi's decisions on positions; every function takes the tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.payments.domain_answers import CANCELLED, OPEN
from services.payments.models import payment_options, plan_positions, plans, positions

Row = sa.Row[Any]


async def open_positions(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> list[Row]:
    """These positions while still open, locked to the end of the transaction."""
    p = positions
    stmt = (
        sa.select(p)
        .where(p.c.tenant_id == tenant_id, p.c.id.in_(list(position_ids)), p.c.state == OPEN)
        .with_for_update()
    )
    return list((await uow.execute(stmt)).all())


async def cancel(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID], at: datetime
) -> None:
    p = positions
    await uow.execute(
        sa.update(p)
        .where(p.c.tenant_id == tenant_id, p.c.id.in_(list(position_ids)), p.c.state == OPEN)
        .values(state=CANCELLED, decided_at=at)
    )


async def leave_plans(uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]) -> None:
    """Cancelled positions leave the plans they were in (their pages no longer offer its notices)."""
    pp = plan_positions
    await uow.execute(
        sa.update(pp)
        .where(pp.c.tenant_id == tenant_id, pp.c.position_id.in_(list(position_ids)))
        .values(active=False)
    )


async def set_amount(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, amount_cents: int, at: datetime
) -> None:
    """The position's new amount; the amount before its first correction is kept."""
    p = positions
    await uow.execute(
        sa.update(p)
        .where(p.c.tenant_id == tenant_id, p.c.id == position_id, p.c.state == OPEN)
        .values(
            original_cents=sa.func.coalesce(p.c.original_cents, p.c.amount_cents),
            amount_cents=amount_cents,
            decided_at=at,
        )
    )


async def retire_payable_options(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID], status: str
) -> int:
    """The positions' own notices still payable get `status`; how many."""
    o = payment_options
    stmt = (
        sa.update(o)
        .where(o.c.tenant_id == tenant_id, o.c.position_id.in_(list(position_ids)), o.c.status == "payable")
        .values(status=status)
        .returning(o.c.id)
    )
    return len((await uow.execute(stmt)).all())


def _charges_of_cancelled_plans(tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]) -> Any:
    """The c.803 charges notices of the plans these positions are in, when the office cancelled
    every position of the plan (charges on a credit that no longer stands are not owed)."""
    o, pp, p = payment_options, plan_positions, positions
    theirs = sa.select(pp.c.plan_id).where(
        pp.c.tenant_id == tenant_id, pp.c.position_id.in_(list(position_ids))
    )
    standing = (
        sa.select(pp.c.plan_id)
        .join(p, sa.and_(p.c.tenant_id == pp.c.tenant_id, p.c.id == pp.c.position_id))
        .where(pp.c.tenant_id == tenant_id, pp.c.plan_id == o.c.plan_id, p.c.state != CANCELLED)
    )
    return sa.and_(
        o.c.tenant_id == tenant_id, o.c.kind == "charges", o.c.plan_id.in_(theirs), ~standing.exists()
    )


async def retire_plan_charges(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID], status: str
) -> int:
    """`_charges_of_cancelled_plans` still payable get `status`; how many."""
    o = payment_options
    stmt = (
        sa.update(o)
        .where(_charges_of_cancelled_plans(tenant_id, position_ids), o.c.status == "payable")
        .values(status=status)
        .returning(o.c.id)
    )
    return len((await uow.execute(stmt)).all())


async def cancelled_plan_charges(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """The ids of `_charges_of_cancelled_plans` (what pagoPA must no longer offer)."""
    stmt = sa.select(payment_options.c.id).where(_charges_of_cancelled_plans(tenant_id, position_ids))
    return list((await uow.execute(stmt)).scalars())


async def plans_of(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> list[Row]:
    """The plans this position is or was in (active, lapsed or paid), locked to the end of the
    transaction (their charges notice is replaced at most once at a time)."""
    pp = plan_positions
    theirs = sa.select(pp.c.plan_id).where(pp.c.tenant_id == tenant_id, pp.c.position_id == position_id)
    stmt = (
        sa.select(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.id.in_(theirs))
        .order_by(plans.c.created_at)
        .with_for_update()
    )
    return list((await uow.execute(stmt)).all())


async def set_plan_correction(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, corrected_cents: int, charges_cents: int
) -> None:
    stmt = (
        sa.update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
        .values(corrected_cents=corrected_cents, charges_cents=charges_cents)
    )
    await uow.execute(stmt)


async def replaced_charges(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> list[uuid.UUID]:
    """The ids of the plan's c.803 charges notices replaced by a newer one."""
    o = payment_options
    stmt = sa.select(o.c.id).where(
        o.c.tenant_id == tenant_id, o.c.plan_id == plan_id, o.c.kind == "charges", o.c.status == "replaced"
    )
    return list((await uow.execute(stmt)).scalars())
