"""Queries of the life of a plan: installments paid, reminder, lapse, extension, charges.

Every function takes the tenant and filters by it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict
from services.payments.domain_lapse import InstallmentState, rome_day
from services.payments.domain_reamount import Reamount
from services.payments.domain_schedule import Installment
from services.payments.models import (
    creditors,
    payment_options,
    plan_installments,
    plan_positions,
    plans,
)
from services.payments.models_reconciliation import messages, plan_extensions

Row = sa.Row[Any]


async def plan_for_update(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> Row | None:
    """The plan, locked until the transaction ends (an extension and the daily run do not cross)."""
    stmt = sa.select(plans).where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id).with_for_update()
    return (await uow.execute(stmt)).first()


async def installments(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID
) -> tuple[InstallmentState, ...]:
    pi = plan_installments
    stmt = sa.select(pi).where(pi.c.tenant_id == tenant_id, pi.c.plan_id == plan_id).order_by(pi.c.number)
    rows = (await uow.execute(stmt)).all()
    return tuple(
        InstallmentState(
            r.number, r.due_date, r.principal_cents, r.interest_cents, r.paid_cents, r.reopened_on
        )
        for r in rows
    )


async def set_installment_paid(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, number: int, paid_cents: int
) -> bool:
    """What is paid of one installment (reconciliation fills it from the pagoPA receipts)."""
    pi = plan_installments
    stmt = (
        sa.update(pi)
        .where(pi.c.tenant_id == tenant_id, pi.c.plan_id == plan_id, pi.c.number == number)
        .values(paid_cents=paid_cents)
    )
    return bool((await uow.execute(stmt)).rowcount)


async def reopen(
    uow: UnitOfWork, tenant_id: uuid.UUID, taken: dict[tuple[uuid.UUID, int], int], on: date
) -> None:
    """Take amounts back from installments (plan, number -> cents, `domain_lapse.take_back`): they
    are due again from `on`, in one statement. One emptied by it owes again the interest an early
    settlement had spared (the settlement undone: a revoked single payment empties them all); one
    still partly paid keeps it spared, since what was paid into it paid its principal alone."""
    if not taken:
        return
    stmt = sa.text(
        "UPDATE payments.plan_installments i SET paid_cents = i.paid_cents - v.taken, reopened_on = :on, "
        "interest_cents = i.interest_cents + CASE WHEN i.paid_cents - v.taken <= 0 "
        "THEN i.spared_interest_cents ELSE 0 END, "
        "spared_interest_cents = CASE WHEN i.paid_cents - v.taken <= 0 THEN 0 ELSE i.spared_interest_cents END "
        "FROM unnest(CAST(:plans AS uuid[]), CAST(:numbers AS int[]), CAST(:taken AS bigint[])) "
        "AS v(plan_id, number, taken) "
        "WHERE i.tenant_id = :tenant_id AND i.plan_id = v.plan_id AND i.number = v.number"
    )
    params = {
        "plans": [k[0] for k in taken],
        "numbers": [k[1] for k in taken],
        "taken": list(taken.values()),
        "tenant_id": tenant_id,
        "on": on,
    }
    await uow.execute(stmt, params)


async def is_extended(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> bool:
    pe = plan_extensions
    stmt = sa.select(sa.func.count()).where(pe.c.tenant_id == tenant_id, pe.c.plan_id == plan_id)
    return bool((await uow.execute(stmt)).scalar_one())


async def extend(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    extension: dict[str, Any],
    kept: Sequence[InstallmentState],
    replaced: Sequence[int],
    schedule: Sequence[Installment],
    unpayable: Sequence[int],
) -> None:
    """Record the extension (once per plan), close the partly paid installments at what was paid,
    replace the unpaid ones with `schedule`, and make the payment options of the installments in
    `unpayable` and the plan's single payment unpayable (status `replaced`)."""
    plan_id = extension["plan_id"]
    try:
        await uow.execute(sa.insert(plan_extensions).values(tenant_id=tenant_id, **extension))
    except sa.exc.IntegrityError as exc:
        if "plan_extensions_once" not in str(exc.orig):
            raise
        raise Conflict(
            "Il piano è già stato prorogato: la legge consente una sola proroga (c. 798)."
        ) from None
    pi = plan_installments
    mine = sa.and_(pi.c.tenant_id == tenant_id, pi.c.plan_id == plan_id)
    for i in kept:
        values = {"principal_cents": i.principal_cents, "interest_cents": i.interest_cents}
        await uow.execute(sa.update(pi).where(mine, pi.c.number == i.number).values(**values))
    await uow.execute(sa.delete(pi).where(mine, pi.c.number.in_(replaced)))
    rows = [
        {"plan_id": plan_id, "tenant_id": tenant_id, "number": i.number, "due_date": i.due_date}
        | {"principal_cents": i.principal_cents, "interest_cents": i.interest_cents}
        for i in schedule
    ]
    await uow.execute(sa.insert(pi), rows)
    po = payment_options
    await uow.execute(
        sa.update(po)
        .where(po.c.tenant_id == tenant_id, po.c.plan_id == plan_id, po.c.status == "payable")
        .where(sa.or_(po.c.installment.is_(None), po.c.installment.in_(unpayable)))
        .where(po.c.kind == "debt")  # the c.803 charges stay owed
        .values(status="replaced")
    )
    await uow.execute(
        sa.update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
        # The new schedule starts afresh: its first missed installment gets a sollecito of its own.
        .values(installments=extension["installments_after"], reminder_sent_at=None)
    )


async def reamount(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    plan_id: uuid.UUID,
    done: Reamount,
) -> int:
    """A correction's new schedule of the plan (`domain_reamount.reamount`): the partly paid
    installments closed at what was paid, the unpaid ones replaced by `done.new`, the payment
    options of both and the plan's single payment `replaced`; how many options were."""
    pi = plan_installments
    mine = sa.and_(pi.c.tenant_id == tenant_id, pi.c.plan_id == plan_id)
    for i in done.kept:
        if i.number in done.closed:
            values = {"principal_cents": i.principal_cents, "interest_cents": i.interest_cents}
            await uow.execute(sa.update(pi).where(mine, pi.c.number == i.number).values(**values))
    await uow.execute(sa.delete(pi).where(mine, pi.c.number.in_(done.removed)))
    if done.new:
        rows = [
            {"plan_id": plan_id, "tenant_id": tenant_id, "number": i.number, "due_date": i.due_date}
            | {"principal_cents": i.principal_cents, "interest_cents": i.interest_cents}
            | {"reopened_on": i.reopened_on}
            for i in done.new
        ]
        await uow.execute(sa.insert(pi), rows)
    po = payment_options
    stmt = (
        sa.update(po)
        .where(po.c.tenant_id == tenant_id, po.c.plan_id == plan_id, po.c.status == "payable")
        .where(sa.or_(po.c.installment.is_(None), po.c.installment.in_((*done.removed, *done.closed))))
        .where(po.c.kind == "debt")  # the c.803 charges: `handlers_answers`
        .values(status="replaced")
        .returning(po.c.id)
    )
    replaced = len((await uow.execute(stmt)).all())
    await uow.execute(
        sa.update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
        .values(installments=done.installments)
    )
    return replaced


async def active_plans_with_missed(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> list[Row]:
    """Active plans with an installment due before `today` and not fully paid, oldest first."""
    pi = plan_installments
    late = (
        sa.select(pi.c.plan_id)
        .where(pi.c.tenant_id == tenant_id, pi.c.due_date < today)
        .where(pi.c.paid_cents < pi.c.principal_cents + pi.c.interest_cents)
    )
    stmt = (
        sa.select(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.status == "active", plans.c.id.in_(late))
        .order_by(plans.c.plan_date, plans.c.id)
        .with_for_update(skip_locked=True)
    )
    return list((await uow.execute(stmt)).all())


async def creditor(uow: UnitOfWork, tenant_id: uuid.UUID) -> Row | None:
    stmt = sa.select(creditors).where(creditors.c.tenant_id == tenant_id)
    return (await uow.execute(stmt)).first()


async def mark_reminder_sent(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, at: datetime) -> None:
    stmt = (
        sa.update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
        .values(reminder_sent_at=at)
    )
    await uow.execute(stmt)


async def record_message(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> uuid.UUID:
    message_id = uuid.uuid4()
    await uow.execute(sa.insert(messages).values(id=message_id, tenant_id=tenant_id, **values))
    return message_id


async def lapse(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, today: date) -> list[uuid.UUID]:
    """The plan lapses today; its positions leave it (they may no longer be put in a plan)."""
    await uow.execute(
        sa.update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
        .values(status="lapsed", lapsed_on=today)
    )
    pp = plan_positions
    stmt = (
        sa.update(pp)
        .where(pp.c.tenant_id == tenant_id, pp.c.plan_id == plan_id)
        .values(active=False)
        .returning(pp.c.position_id)
    )
    return sorted((await uow.execute(stmt)).scalars())


async def cancel_plan(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, status: str) -> None:
    """The plan is cancelled: the office cancelled every position it covered before anything was
    paid on it (`handlers_reamount.after_cancellation`). Its positions leave it; its notices still
    payable (installments, single payment) get `status`."""
    await uow.execute(
        sa.update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
        .values(status="cancelled")
    )
    pp, po = plan_positions, payment_options
    await uow.execute(
        sa.update(pp).where(pp.c.tenant_id == tenant_id, pp.c.plan_id == plan_id).values(active=False)
    )
    await uow.execute(
        sa.update(po)
        .where(
            po.c.tenant_id == tenant_id,
            po.c.plan_id == plan_id,
            po.c.kind == "debt",
            po.c.status == "payable",
        )
        .values(status=status)
    )


async def positions_in_lapsed_plans(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    pp = plan_positions
    stmt = (
        sa.select(pp.c.position_id)
        .join(plans, sa.and_(plans.c.tenant_id == pp.c.tenant_id, plans.c.id == pp.c.plan_id))
        .where(pp.c.tenant_id == tenant_id, plans.c.status == "lapsed", pp.c.position_id.in_(position_ids))
    )
    return list((await uow.execute(stmt)).scalars())


async def set_charges(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, charges_cents: int) -> None:
    stmt = (
        sa.update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
        .values(charges_cents=charges_cents)
    )
    await uow.execute(stmt)


async def first_notice_day(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> date | None:
    """The day the first pagoPA notice of these positions was issued, if any was."""
    po = payment_options
    stmt = sa.select(sa.func.min(po.c.issued_at)).where(
        po.c.tenant_id == tenant_id, po.c.position_id.in_(position_ids)
    )
    first: datetime | None = (await uow.execute(stmt)).scalar_one()
    return None if first is None else rome_day(first)
