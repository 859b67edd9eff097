"""Queries of installment plans."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict
from services.payments.domain_answers import CANCELLED
from services.payments.domain_schedule import Installment
from services.payments.models import plan_installments, plan_positions, plans, positions

Row = sa.Row[Any]


async def positions_in_active_plans(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    pp = plan_positions
    stmt = sa.select(pp.c.position_id).where(
        pp.c.tenant_id == tenant_id,
        pp.c.active,
        pp.c.position_id == sa.any_(sa.bindparam(None, list(position_ids), type_=ARRAY(sa.Uuid))),
    )
    return list((await uow.execute(stmt)).scalars())


async def insert_plan(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    values: dict[str, Any],
    position_ids: Sequence[uuid.UUID],
    schedule: Sequence[Installment],
) -> None:
    """The plan, its positions and its installments."""
    plan_id = values["id"]
    await uow.execute(sa.insert(plans).values(tenant_id=tenant_id, **values))
    covered = [{"plan_id": plan_id, "position_id": p, "tenant_id": tenant_id} for p in position_ids]
    try:
        await uow.execute(sa.insert(plan_positions), covered)
    except sa.exc.IntegrityError as exc:  # a concurrent plan took one of the positions first
        if "plan_positions_active" not in str(exc.orig):
            raise
        raise Conflict("Una delle posizioni è già in un piano di rateizzazione attivo.") from None
    rows = [
        {
            "plan_id": plan_id,
            "tenant_id": tenant_id,
            "number": i.number,
            "due_date": i.due_date,
            "principal_cents": i.principal_cents,
            "interest_cents": i.interest_cents,
        }
        for i in schedule
    ]
    await uow.execute(sa.insert(plan_installments), rows)


async def plan_schedule(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> list[Row]:
    pi = plan_installments
    stmt = sa.select(pi).where(pi.c.tenant_id == tenant_id, pi.c.plan_id == plan_id).order_by(pi.c.number)
    return list((await uow.execute(stmt)).all())


async def active_plan_of(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> Row | None:
    """The active plan that covers a position, if any."""
    pp = plan_positions
    stmt = (
        sa.select(plans)
        .join(pp, sa.and_(pp.c.tenant_id == plans.c.tenant_id, pp.c.plan_id == plans.c.id))
        .where(plans.c.tenant_id == tenant_id, pp.c.position_id == position_id, pp.c.active)
    )
    return (await uow.execute(stmt)).first()


async def plan(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> Row | None:
    stmt = sa.select(plans).where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
    return (await uow.execute(stmt)).first()


async def plan_positions_of(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> list[Row]:
    """The positions a plan covers that still stand, oldest first (the order payments are allocated
    in): one the Ufficio tributi cancelled (sgravio) owes nothing and takes no payment."""
    pp, p = plan_positions, positions
    stmt = (
        sa.select(p)
        .join(pp, sa.and_(pp.c.tenant_id == p.c.tenant_id, pp.c.position_id == p.c.id))
        .where(p.c.tenant_id == tenant_id, pp.c.plan_id == plan_id, p.c.state != CANCELLED)
        .order_by(p.c.year, p.c.act_number, p.c.id)
    )
    return list((await uow.execute(stmt)).all())


async def add_installment_paid(
    uow: UnitOfWork, tenant_id: uuid.UUID, deltas: dict[tuple[uuid.UUID, int], int]
) -> None:
    if not deltas:
        return
    stmt = sa.text(
        "UPDATE payments.plan_installments i SET paid_cents = i.paid_cents + v.delta "
        "FROM unnest(CAST(:plans AS uuid[]), CAST(:numbers AS int[]), CAST(:deltas AS bigint[])) "
        "AS v(plan_id, number, delta) "
        "WHERE i.tenant_id = :tenant_id AND i.plan_id = v.plan_id AND i.number = v.number"
    )
    params = {
        "plans": [k[0] for k in deltas],
        "numbers": [k[1] for k in deltas],
        "deltas": list(deltas.values()),
        "tenant_id": tenant_id,
    }
    await uow.execute(stmt, params)


async def installments_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, pairs: Collection[tuple[uuid.UUID, int]]
) -> list[Row]:
    """The installments (plan, number) `pairs`, as they are now."""
    if not pairs:
        return []
    pi = plan_installments
    wanted = sa.tuple_(pi.c.plan_id, pi.c.number).in_([sa.tuple_(p, n) for p, n in pairs])
    return list((await uow.execute(sa.select(pi).where(pi.c.tenant_id == tenant_id, wanted))).all())
