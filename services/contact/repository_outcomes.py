"""Queries of what an outcome does beyond the call: a phone found wrong, a debtor back from tracing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from services.contact.domain import Status
from services.contact.models import debtor_contacts, debtor_payments, debtor_positions, debtors
from services.kernel.db import UnitOfWork


async def invalidate_phone(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, contact_id: uuid.UUID
) -> bool:
    """The debtor's phone marked wrong on the card at once (ingest, told by event, does the same
    and regrades); False when it is not an active phone of this debtor."""
    return await invalidate_datum(uow, tenant_id, debtor_id, contact_id, only_phone=True) is not None


async def invalidate_datum(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    contact_id: uuid.UUID,
    only_phone: bool = False,
) -> str | None:
    """An active contact datum of the debtor marked wrong on the card; its kind, or None."""
    dc = debtor_contacts
    stmt = sa.update(dc).where(
        dc.c.tenant_id == tenant_id, dc.c.contact_id == contact_id, dc.c.debtor_id == debtor_id, dc.c.active
    )
    if only_phone:
        stmt = stmt.where(dc.c.kind == "phone")
    row = (
        await uow.execute(stmt.values(active=False, updated_at=sa.func.now()).returning(dc.c.kind))
    ).first()
    return None if row is None else str(row.kind)


async def has_active_phone(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> bool:
    dc = debtor_contacts
    stmt = sa.select(
        sa.exists().where(
            dc.c.tenant_id == tenant_id, dc.c.debtor_id == debtor_id, dc.c.kind == "phone", dc.c.active
        )
    )
    return bool((await uow.execute(stmt)).scalar_one())


async def traced_again(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID]) -> None:
    """Debtors waiting for tracing who now have an active phone go back to the queue."""
    d, dc = debtors, debtor_contacts
    phone = sa.exists().where(
        dc.c.tenant_id == d.c.tenant_id, dc.c.debtor_id == d.c.id, dc.c.kind == "phone", dc.c.active
    )
    stmt = (
        sa.update(d)
        .where(
            d.c.tenant_id == tenant_id,
            d.c.id.in_(list(debtor_ids)),
            d.c.status == Status.DA_RINTRACCIARE.value,
            phone,
        )
        .values(status=Status.DA_LAVORARE.value, updated_at=sa.func.now())
    )
    await uow.execute(stmt)


async def set_status(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, status: Status) -> None:
    d = debtors
    stmt = sa.update(d).where(d.c.tenant_id == tenant_id, d.c.id == debtor_id).values(status=status.value)
    await uow.execute(stmt)


async def mark_plan(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, position_ids: Sequence[uuid.UUID], status: str
) -> None:
    """The positions of a payments plan, with its state (active, lapsed)."""
    p = debtor_positions
    stmt = (
        sa.update(p)
        .where(p.c.tenant_id == tenant_id, p.c.position_id.in_(list(position_ids)))
        .values(plan_id=plan_id, plan_status=status)
    )
    await uow.execute(stmt)


async def mark_plan_status(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, status: str) -> None:
    """Every position of the plan gets its new state (`cancelled`: it no longer shows as in a plan)."""
    p = debtor_positions
    await uow.execute(
        sa.update(p).where(p.c.tenant_id == tenant_id, p.c.plan_id == plan_id).values(plan_status=status)
    )


async def payments_of(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[sa.Row[Any]]:
    """The payments the payments service reported for the debtor, newest first (the card's history)."""
    return list((await uow.execute(PAYMENTS, {"tenant": tenant_id, "debtor": debtor_id})).all())


PAYMENTS = (
    sa.select(
        debtor_payments.c.payment_id,
        debtor_payments.c.amount_cents,
        debtor_payments.c.paid_on,
        debtor_payments.c.kind,
        debtor_payments.c.position_id,
        debtor_payments.c.of_payment,
    )
    .where(
        debtor_payments.c.tenant_id == sa.bindparam("tenant", type_=sa.Uuid),
        debtor_payments.c.debtor_id == sa.bindparam("debtor", type_=sa.Uuid),
    )
    .order_by(debtor_payments.c.paid_on.desc())
)
