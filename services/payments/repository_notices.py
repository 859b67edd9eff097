"""Queries of pagoPA notices: the Comune's creditor data, its numbering, the payment options."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.payments.models import (
    creditors,
    notice_numbers,
    payment_options,
    payments,
    plan_positions,
    plans,
    positions,
)

Row = sa.Row[Any]


async def creditor(uow: UnitOfWork, tenant_id: uuid.UUID) -> Row | None:
    stmt = sa.select(creditors).where(creditors.c.tenant_id == tenant_id)
    return (await uow.execute(stmt)).first()


async def save_creditor(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    stmt = pg_insert(creditors).values(tenant_id=tenant_id, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[creditors.c.tenant_id], set_={**values, "updated_at": sa.func.now()}
    )
    await uow.execute(stmt)


async def take_notice_bases(uow: UnitOfWork, tenant_id: uuid.UUID, count: int) -> range:
    """`count` notice-number bases of the Comune, never given before (the row stays locked to commit)."""
    insert = pg_insert(notice_numbers).values(tenant_id=tenant_id, next_base=count + 1)
    stmt = insert.on_conflict_do_update(
        index_elements=[notice_numbers.c.tenant_id],
        set_={"next_base": notice_numbers.c.next_base + count},
        where=notice_numbers.c.tenant_id == tenant_id,
    ).returning(notice_numbers.c.next_base)
    following = int((await uow.execute(stmt)).scalar_one())
    return range(following - count, following)


async def payable_option(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, amount_cents: int
) -> Row | None:
    """A notice still payable for this position and amount, to hand out again instead of a new one."""
    o = payment_options
    stmt = sa.select(o).where(
        o.c.tenant_id == tenant_id,
        o.c.position_id == position_id,
        o.c.amount_cents == amount_cents,
        o.c.status == "payable",
    )
    return (await uow.execute(stmt.order_by(o.c.issued_at.desc()).limit(1))).first()


async def insert_option(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await uow.execute(sa.insert(payment_options).values(tenant_id=tenant_id, **values))


async def option_by_nav(uow: UnitOfWork, tenant_id: uuid.UUID, nav: str) -> Row | None:
    """An option with what its notice prints of the position and the debtor (for a plan's option,
    of the plan's first position, with `subject_id` the position the access log records)."""
    o, p, pp = payment_options, positions, plan_positions
    covered = sa.func.coalesce(o.c.position_id, pp.c.position_id)
    stmt = (
        sa.select(
            o,
            covered.label("subject_id"),
            p.c.fiscal_code,
            p.c.debtor_name,
            p.c.revenue_type,
            p.c.year,
            p.c.act_number,
        )
        .outerjoin(pp, sa.and_(pp.c.tenant_id == o.c.tenant_id, pp.c.plan_id == o.c.plan_id))
        .join(p, sa.and_(p.c.tenant_id == o.c.tenant_id, p.c.id == covered))
        .where(o.c.tenant_id == tenant_id, o.c.nav == nav)
        .order_by(p.c.year, p.c.act_number)
        .limit(1)
    )
    return (await uow.execute(stmt)).first()


async def options_of(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> list[Row]:
    o = payment_options
    stmt = (
        sa.select(o).where(o.c.tenant_id == tenant_id, o.c.position_id == position_id).order_by(o.c.issued_at)
    )
    return list((await uow.execute(stmt)).all())


async def plan_options(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> list[Row]:
    """The plan's options still in force (payable, paid or made unpayable), newest per installment;
    not the notice of its c.803 charges, a debt of its own (`charges_option`)."""
    o = payment_options
    stmt = (
        sa.select(o)
        .where(o.c.tenant_id == tenant_id, o.c.plan_id == plan_id, o.c.status != "replaced")
        .where(o.c.kind == "debt")
        .order_by(o.c.installment.nulls_first(), o.c.issued_at)
    )
    return list((await uow.execute(stmt)).all())


async def charges_option(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> Row | None:
    """The notice of the plan's c.803 charges still in force, if one was issued."""
    o = payment_options
    stmt = (
        sa.select(o)
        .where(o.c.tenant_id == tenant_id, o.c.plan_id == plan_id, o.c.kind == "charges")
        .where(o.c.status != "replaced")
        .order_by(o.c.issued_at.desc())
        .limit(1)
    )
    return (await uow.execute(stmt)).first()


async def set_status(
    uow: UnitOfWork, tenant_id: uuid.UUID, option_ids: Sequence[uuid.UUID], status: str
) -> None:
    o = payment_options
    stmt = sa.update(o).where(o.c.tenant_id == tenant_id, o.c.id.in_(option_ids)).values(status=status)
    await uow.execute(stmt)


async def retire_outgrown(uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]) -> None:
    """The notices of these positions issued outside a plan, still payable, that ask for more than
    the position now owes (an installment of its plan was paid since): replaced, as a partial
    payment replaces them; a payment on one goes to the review queue, not onto the position."""
    if not position_ids:
        return
    o, p = payment_options, positions
    owed = (
        sa.select(p.c.amount_cents - p.c.paid_cents)
        .where(p.c.tenant_id == tenant_id, p.c.id == o.c.position_id)
        .scalar_subquery()
    )
    stmt = (
        sa.update(o)
        .where(o.c.tenant_id == tenant_id, o.c.position_id.in_(position_ids), o.c.plan_id.is_(None))
        .where(o.c.kind == "debt", o.c.status == "payable", o.c.amount_cents > owed)
        .values(status="replaced")
    )
    await uow.execute(stmt)


async def options_in_force(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, plan_id: uuid.UUID | None
) -> list[Row]:
    """The notices of a position and of its active plan, not replaced by a newer one (a replaced one
    that was paid stays listed: its payment and IUV are on record; `received` says so), the c.803
    charges notice of any plan it is or was in (owed after a lapse too), and the notices of a plan
    the Ufficio tributi cancelled (listed as no longer payable)."""
    o, pp = payment_options, plan_positions
    plans_of = sa.select(pp.c.plan_id).where(pp.c.tenant_id == tenant_id, pp.c.position_id == position_id)
    cancelled = sa.select(plans.c.id).where(
        plans.c.tenant_id == tenant_id, plans.c.status == "cancelled", plans.c.id.in_(plans_of)
    )
    owner = sa.or_(
        o.c.position_id == position_id,
        sa.and_(o.c.kind == "charges", o.c.plan_id.in_(plans_of)),
        o.c.plan_id.in_(cancelled),
    )
    if plan_id is not None:
        owner = sa.or_(owner, o.c.plan_id == plan_id)
    received = sa.exists().where(
        payments.c.tenant_id == tenant_id, payments.c.option_id == o.c.id, payments.c.state != "REVOKED"
    )
    stmt = (
        sa.select(o, received.label("received"))
        .where(o.c.tenant_id == tenant_id, owner, sa.or_(o.c.status != "replaced", received))
        .order_by(o.c.plan_id.nulls_first(), o.c.installment.nulls_first(), o.c.issued_at)
    )
    return list((await uow.execute(stmt)).all())


async def any_replaced(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> bool:
    """Whether a notice of the position was issued and then replaced by a newer one."""
    o = payment_options
    stmt = sa.select(
        sa.exists().where(
            o.c.tenant_id == tenant_id, o.c.position_id == position_id, o.c.status == "replaced"
        )
    )
    return bool((await uow.execute(stmt)).scalar_one())
