"""Queries of the Ufficio tributi's decisions on a debtor's positions; every function takes the
tenant and filters by it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from services.contact.models import debtor_positions
from services.kernel.db import UnitOfWork


async def acts_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> list[str]:
    """The act numbers of the debtor's positions named, in act order."""
    if not position_ids:
        return []
    p = debtor_positions
    stmt = (
        sa.select(p.c.act_number)
        .where(
            p.c.tenant_id == tenant_id, p.c.debtor_id == debtor_id, p.c.position_id.in_(list(position_ids))
        )
        .order_by(p.c.act_number)
    )
    return [str(a) for a in (await uow.execute(stmt)).scalars()]


async def cancel_positions(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> int:
    """The debtor's positions cancelled (sgravio): owed no more; how many changed."""
    p = debtor_positions
    stmt = (
        sa.update(p)
        .where(
            p.c.tenant_id == tenant_id,
            p.c.debtor_id == debtor_id,
            p.c.position_id.in_(list(position_ids)),
            p.c.state == "open",
        )
        .values(state="cancelled")
        .returning(p.c.position_id)
    )
    return len((await uow.execute(stmt)).all())


async def correct_position(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, position_id: uuid.UUID, amount_cents: int
) -> int:
    """The debtor's position now owes `amount_cents`; the amount before the first correction kept."""
    p = debtor_positions
    stmt = (
        sa.update(p)
        .where(
            p.c.tenant_id == tenant_id,
            p.c.debtor_id == debtor_id,
            p.c.position_id == position_id,
            p.c.state == "open",
        )
        .values(
            original_cents=sa.func.coalesce(p.c.original_cents, p.c.amount_cents), amount_cents=amount_cents
        )
        .returning(p.c.position_id)
    )
    return len((await uow.execute(stmt)).all())
