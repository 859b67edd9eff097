"""Queries of delivery to the taxpayer: the messages sent, the notices and schedule a public link
shows, the installments whose reminder is due. Every function filters by tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.payments.models import (
    creditors,
    payment_options,
    plan_installments,
    plan_positions,
    plans,
    positions,
)
from services.payments.models_reconciliation import messages

Row = sa.Row[Any]
# Options superseded by a newer one for the same amount due are not shown to the taxpayer.
HIDDEN_STATUSES = ("replaced",)


async def insert_message(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await uow.execute(sa.insert(messages).values(tenant_id=tenant_id, **values))


async def plan(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> Row | None:
    stmt = sa.select(plans).where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
    return (await uow.execute(stmt)).first()


def _options_with_payee() -> sa.Select[Any]:
    """Options with what their notice prints of the position (a plan's: of its first position)."""
    o, p, pp = payment_options, positions, plan_positions
    first = sa.alias(positions, "first_position")
    plans_first = (
        sa.select(pp.c.position_id)
        .select_from(
            pp.join(first, sa.and_(first.c.tenant_id == pp.c.tenant_id, first.c.id == pp.c.position_id))
        )
        .where(pp.c.tenant_id == o.c.tenant_id, pp.c.plan_id == o.c.plan_id)
        .order_by(first.c.year, first.c.act_number, first.c.id)
        .limit(1)
        .correlate(o)
        .scalar_subquery()
    )
    covered = sa.func.coalesce(o.c.position_id, plans_first)
    joined = o.join(p, sa.and_(p.c.tenant_id == o.c.tenant_id, p.c.id == covered))
    columns = (p.c.fiscal_code, p.c.debtor_name, p.c.revenue_type, p.c.year, p.c.act_number)
    return sa.select(o, *columns).select_from(joined)


async def shown_options(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    position_ids: Sequence[uuid.UUID],
    plan_id: uuid.UUID | None,
) -> list[Row]:
    """The debtor's notices of these positions, or of this plan, with what they print; a plan's
    single payment first, then by installment and due date, the notice of its c.803 charges last.
    The positions' notices come with the c.803 charges still payable of a lapsed plan they were
    in: owed whatever else is, and no longer sent with the plan's notices."""
    o = payment_options
    owned = o.c.plan_id == plan_id if plan_id is not None else _positions_and_charges(position_ids)
    stmt = (
        _options_with_payee()
        .where(o.c.tenant_id == tenant_id, o.c.debtor_id == debtor_id, owned)
        .where(o.c.status.not_in(HIDDEN_STATUSES))
        .order_by(o.c.kind.desc(), o.c.installment.nulls_first(), o.c.due_date, o.c.issued_at, o.c.nav)
    )
    return list((await uow.execute(stmt)).all())


def _positions_and_charges(position_ids: Sequence[uuid.UUID]) -> Any:
    o, pp, pl = payment_options, plan_positions, plans
    lapsed = (
        sa.select(pp.c.plan_id)
        .join(pl, sa.and_(pl.c.tenant_id == pp.c.tenant_id, pl.c.id == pp.c.plan_id))
        .where(pp.c.tenant_id == o.c.tenant_id, pp.c.position_id.in_(position_ids), pl.c.status == "lapsed")
    )
    charges = sa.and_(o.c.kind == "charges", o.c.status == "payable", o.c.plan_id.in_(lapsed))
    return sa.or_(o.c.position_id.in_(position_ids), charges)


async def debtors_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """The debtors of these positions (unknown ones left out)."""
    p = positions
    stmt = (
        sa.select(p.c.debtor_id).where(p.c.tenant_id == tenant_id, p.c.id.in_(list(position_ids))).distinct()
    )
    return list((await uow.execute(stmt)).scalars())


async def schedule(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> list[Row]:
    pi = plan_installments
    stmt = sa.select(pi).where(pi.c.tenant_id == tenant_id, pi.c.plan_id == plan_id).order_by(pi.c.number)
    return list((await uow.execute(stmt)).all())


async def creditor(uow: UnitOfWork, tenant_id: uuid.UUID) -> Row | None:
    stmt = sa.select(creditors).where(creditors.c.tenant_id == tenant_id)
    return (await uow.execute(stmt)).first()


async def reminders_due(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> list[Row]:
    """Unpaid installments of active plans falling due within the Comune's `reminder_days` from
    `today` (and not before it) whose reminder has not gone out."""
    pi, pl, c = plan_installments, plans, creditors
    window_end = sa.cast(sa.literal(today), sa.Date) + c.c.reminder_days
    stmt = (
        sa.select(pi, pl.c.debtor_id, pl.c.revenue_type)
        .join(pl, sa.and_(pl.c.tenant_id == pi.c.tenant_id, pl.c.id == pi.c.plan_id))
        .join(c, c.c.tenant_id == pi.c.tenant_id)
        .where(pi.c.tenant_id == tenant_id, pl.c.status == "active", pi.c.reminded_at.is_(None))
        .where(pi.c.due_date >= today, pi.c.due_date <= window_end)
        .where(pi.c.paid_cents < pi.c.principal_cents + pi.c.interest_cents)
        .order_by(pi.c.due_date, pi.c.plan_id, pi.c.number)
    )
    return list((await uow.execute(stmt)).all())


async def claim_reminder(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, number: int, at: datetime
) -> bool:
    """Mark the installment reminded; False if another run did it first (it then sends nothing)."""
    pi = plan_installments
    stmt = (
        sa.update(pi)
        .where(pi.c.tenant_id == tenant_id, pi.c.plan_id == plan_id, pi.c.number == number)
        .where(pi.c.reminded_at.is_(None))
        .values(reminded_at=at)
        .returning(pi.c.number)
    )
    return (await uow.execute(stmt)).first() is not None


async def release_reminder(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, number: int) -> None:
    """Undo a claim whose e-mail could not be sent, so the next run tries again."""
    pi = plan_installments
    stmt = (
        sa.update(pi)
        .where(pi.c.tenant_id == tenant_id, pi.c.plan_id == plan_id, pi.c.number == number)
        .values(reminded_at=None)
    )
    await uow.execute(stmt)
