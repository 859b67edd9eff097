"""Queries of the c.803 collection charges debtors paid (migration 0013)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.reporting.models_ledger import charges


@dataclass(frozen=True)
class ChargePaid:
    payment_id: uuid.UUID
    plan_id: uuid.UUID
    debtor_id: uuid.UUID
    revenue_type: str
    amount_cents: int
    paid_on: date
    iuv: str
    receipt_ref: str
    flow_id: str


async def record_paid(uow: UnitOfWork, tenant_id: uuid.UUID, paid: ChargePaid) -> None:
    """Once per payment; a revocation that came first left a revoked row, completed here and
    still revoked."""
    values = {"tenant_id": tenant_id, **paid.__dict__}
    stmt = pg_insert(charges).values(values)
    known = ("revenue_type", "amount_cents", "paid_on", "iuv", "receipt_ref", "flow_id")
    stmt = stmt.on_conflict_do_update(
        index_elements=[charges.c.payment_id],
        set_={name: stmt.excluded[name] for name in known},
        where=sa.and_(charges.c.tenant_id == tenant_id, charges.c.revenue_type == ""),
    )
    await uow.execute(stmt)


async def revoke(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    ids: tuple[uuid.UUID, uuid.UUID, uuid.UUID],
    amount_cents: int,
    on: date,
) -> None:
    """The payment (`ids`: payment, plan, debtor) no longer counts from `on`; one not seen yet is
    kept revoked (its `ChargesPaid` fills it in)."""
    payment_id, plan_id, debtor_id = ids
    marked = await uow.execute(
        sa.update(charges)
        .where(charges.c.tenant_id == tenant_id, charges.c.payment_id == payment_id)
        .where(charges.c.revoked_on.is_(None))
        .values(revoked_on=on)
        .returning(charges.c.payment_id)
    )
    if marked.first() is not None:
        return
    placeholder = {
        "tenant_id": tenant_id,
        "payment_id": payment_id,
        "plan_id": plan_id,
        "debtor_id": debtor_id,
        "revenue_type": "",
        "amount_cents": amount_cents,
        "paid_on": on,
        "revoked_on": on,
    }
    await uow.execute(pg_insert(charges).values(placeholder).on_conflict_do_nothing())


async def collected(uow: UnitOfWork, tenant_id: uuid.UUID, start: date, end: date) -> dict[str, int]:
    """Per revenue type, the charges paid in [start, end] and not revoked, in cents."""
    c = charges
    stmt = (
        sa.select(c.c.revenue_type, sa.func.sum(c.c.amount_cents).label("cents"))
        .where(c.c.tenant_id == tenant_id, c.c.paid_on.between(start, end), c.c.revoked_on.is_(None))
        .group_by(c.c.revenue_type)
        .order_by(c.c.revenue_type)
    )
    return {r.revenue_type: int(r.cents) for r in await uow.execute(stmt)}
