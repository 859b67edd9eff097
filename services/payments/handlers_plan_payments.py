"""Money that reaches a position of an active plan other than through the plan's own notices: a
payment recorded by hand, or the receipt of a notice issued before the plan (still payable: a
debtor may pay the whole debt with it). It pays the plan's installments in due order; when it
leaves nothing owed on the plan's positions it settles the plan as the plan's single notice does
(every installment owed no more, the plan's notices unpayable), since no installment is owed on a
debt already paid."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from services.kernel.db import UnitOfWork
from services.payments import domain, repository_bulk, repository_notices, repository_plans
from services.payments import repository_reconciliation as repo


async def after_manual_payment(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, amount_cents: int
) -> None:
    """A payment made outside pagoPA: in a plan it pays the plan (`pay_plan`); otherwise the
    notices whose amount it changed stop being payable (a new one is issued for what is left)."""
    if await pay_plan(uow, tenant_id, position_id, amount_cents):
        return
    stale = [
        o.id
        for o in await repository_notices.options_in_force(uow, tenant_id, position_id, None)
        if o.status == "payable" and o.plan_id is None
    ]
    await repository_notices.set_status(uow, tenant_id, stale, "replaced")


async def after_outside_payments(
    uow: UnitOfWork, tenant_id: uuid.UUID, paid: Mapping[uuid.UUID, int]
) -> None:
    """Receipts of notices outside any plan, per position (cents, already on the positions): those
    of positions in an active plan pay it; one statement finds them."""
    positions = [k for k, v in paid.items() if v]
    for position_id in (
        await repository_plans.positions_in_active_plans(uow, tenant_id, positions) if positions else []
    ):
        await pay_plan(uow, tenant_id, position_id, paid[position_id])


async def after_plain_payments(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """The same for the receipts reconciliation applied set-based (`repository_bulk.apply_plain`),
    whose positions in an active plan the same statement finds."""
    for position_id, cents in (await repository_bulk.plain_in_plans(uow, tenant_id)).items():
        await pay_plan(uow, tenant_id, position_id, cents)


async def pay_plan(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, amount_cents: int) -> bool:
    """`amount_cents`, already added to the position, paid into its active plan (False: it has none)."""
    plan = await repository_plans.active_plan_of(uow, tenant_id, position_id)
    if plan is None:
        return False
    options = await repository_notices.plan_options(uow, tenant_id, plan.id)
    positions = await repository_plans.plan_positions_of(uow, tenant_id, plan.id)
    if all(domain.residual_cents(p.amount_cents, p.paid_cents) <= 0 for p in positions):
        await repo.settle_plan_installments(uow, tenant_id, [plan.id])
        payable = [o.id for o in options if o.status == "payable"]
        await repository_notices.set_status(uow, tenant_id, payable, "unpayable")
        return True
    left, paid = amount_cents, {}
    for row in await repository_plans.plan_schedule(uow, tenant_id, plan.id):
        share = min(left, row.principal_cents + row.interest_cents - row.paid_cents)
        if share > 0:
            paid[row.number] = (share, share == row.principal_cents + row.interest_cents - row.paid_cents)
            left -= share
    await repository_plans.add_installment_paid(
        uow, tenant_id, {(plan.id, n): s for n, (s, _) in paid.items()}
    )
    covered = [
        o.id for o in options if o.status == "payable" and o.installment in paid and paid[o.installment][1]
    ]
    stale = [
        o.id
        for o in options
        if o.status == "payable" and o.id not in covered and (o.installment is None or o.installment in paid)
    ]
    await repository_notices.set_status(uow, tenant_id, covered, "unpayable")
    await repository_notices.set_status(uow, tenant_id, stale, "replaced")
    return True
