"""Queries of refunds; every function takes the tenant and filters by it (RLS too)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.payments.models import payment_options, payments, plan_positions, positions
from services.payments.models_reconciliation import review_items
from services.payments.models_refunds import refunds

Row = sa.Row[Any]


async def lock_payment(uow: UnitOfWork, tenant_id: uuid.UUID, payment_id: uuid.UUID) -> Row | None:
    """The payment, locked until the transaction ends: two refunds of it are judged one after the
    other, so together they never exceed it."""
    stmt = (
        sa.select(payments)
        .where(payments.c.tenant_id == tenant_id, payments.c.id == payment_id)
        .with_for_update()
    )
    return (await uow.execute(stmt)).first()


async def refunded_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, payment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """What was refunded so far of each payment."""
    if not payment_ids:
        return {}
    stmt = (
        sa.select(refunds.c.payment_id, sa.func.sum(refunds.c.amount_cents).label("total"))
        .where(refunds.c.tenant_id == tenant_id, refunds.c.payment_id.in_(payment_ids))
        .group_by(refunds.c.payment_id)
    )
    return {r.payment_id: int(r.total) for r in await uow.execute(stmt)}


async def insert_refund(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    payment: Row,
    amount_cents: int,
    refunded_on: date,
    reason: str,
    who: tuple[str, str | None],
    idempotency_key: str | None,
) -> uuid.UUID | None:
    """The new refund's id, or None when this form's key already recorded one."""
    refund_id = uuid.uuid4()
    stmt = (
        pg_insert(refunds)
        .values(
            id=refund_id,
            tenant_id=tenant_id,
            payment_id=payment.id,
            position_id=payment.position_id,
            debtor_id=payment.debtor_id,
            amount_cents=amount_cents,
            refunded_on=refunded_on,
            reason=reason,
            recorded_by=who[0],
            recorded_by_name=who[1],
            idempotency_key=idempotency_key,
        )
        .on_conflict_do_nothing(constraint="refunds_once")
        .returning(refunds.c.id)
    )
    inserted: uuid.UUID | None = (await uow.execute(stmt)).scalar()
    return inserted


async def take_from_paid(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, cents: int) -> None:
    """The refunded amount is owed again."""
    p = positions
    await uow.execute(
        sa.update(p)
        .where(p.c.tenant_id == tenant_id, p.c.id == position_id)
        .values(paid_cents=p.c.paid_cents - cents)
    )


async def option_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, option_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, int | None] | None:
    """The plan and installment of the pagoPA notice a payment was made on (None for a manual
    payment); a position's own notice has no plan."""
    if option_id is None:
        return None
    o = payment_options
    stmt = sa.select(o.c.plan_id, o.c.installment).where(o.c.tenant_id == tenant_id, o.c.id == option_id)
    row = (await uow.execute(stmt)).first()
    return (None, None) if row is None else (row.plan_id, row.installment)


async def refunds_of_position(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> list[Row]:
    stmt = (
        sa.select(refunds)
        .where(refunds.c.tenant_id == tenant_id, refunds.c.position_id == position_id)
        .order_by(refunds.c.refunded_on.desc(), refunds.c.recorded_at.desc())
    )
    return list((await uow.execute(stmt)).all())


async def holding_more_than_owed(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int) -> list[Row]:
    """The positions that may hold money not owed (`domain_refunds.money_not_owed` judges each):
    cancelled with something paid, or paid beyond their amount; with `in_plan`, and the largest
    first (at most `limit`)."""
    p, pp = positions, plan_positions
    in_plan = sa.exists().where(pp.c.tenant_id == tenant_id, pp.c.position_id == p.c.id)
    held = sa.case((p.c.state == "cancelled", p.c.paid_cents), else_=p.c.paid_cents - p.c.amount_cents)
    stmt = (
        sa.select(p, in_plan.label("in_plan"))
        .where(p.c.tenant_id == tenant_id, p.c.paid_cents > 0)
        .where(sa.or_(p.c.state == "cancelled", p.c.paid_cents > p.c.amount_cents))
        .order_by(held.desc(), p.c.debtor_name, p.c.id)
        .limit(limit)
    )
    return list((await uow.execute(stmt)).all())


# Review items whose money no debt owes: paid more than the notice, paid twice, an IUV of no
# notice of this Comune, a notice of a position the office cancelled (booking it is refused).
_NOT_OWED_KINDS = ("over", "duplicate", "unknown")


async def receipts_not_owed(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int) -> list[Row]:
    """pagoPA receipts the reconciliation left for review whose money no debt owes, open first,
    each with `not_owed_cents` (for one paid more than its notice, the excess)."""
    ri, o, p = review_items, payment_options, positions
    on_cancelled = sa.exists().where(
        o.c.tenant_id == tenant_id,
        o.c.iuv == ri.c.iuv,
        p.c.tenant_id == tenant_id,
        p.c.id == o.c.position_id,
        p.c.state == "cancelled",
    )
    not_owed = sa.case(
        (ri.c.kind == "over", ri.c.amount_cents - sa.func.coalesce(ri.c.expected_cents, 0)),
        else_=ri.c.amount_cents,
    )
    stmt = (
        sa.select(ri, not_owed.label("not_owed_cents"))
        .where(ri.c.tenant_id == tenant_id)
        .where(sa.or_(ri.c.kind.in_(_NOT_OWED_KINDS), sa.and_(ri.c.kind == "unpayable", on_cancelled)))
        .order_by((ri.c.status == "open").desc(), ri.c.created_at.desc())
        .limit(limit)
    )
    return list((await uow.execute(stmt)).all())
