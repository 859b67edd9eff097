"""Money that reaches a position of an active plan other than through the plan's own notices: a
payment recorded by hand, or the receipt of a notice issued before the plan (still payable: a
debtor may pay the whole debt with it). It pays the plan's installments in due order; when it
leaves nothing owed on the plan's positions it settles the plan as the plan's single notice does
(every installment owed no more, the plan's notices unpayable), since no installment is owed on a
debt already paid. Money of such a payment that goes back (refunded, or revoked: it never arrived)
comes off the installments again (`money_back`)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any

from services.kernel.db import UnitOfWork
from services.payments import (
    domain,
    handlers_lapse,
    repository_bulk,
    repository_notices,
    repository_plans,
    repository_refunds,
)
from services.payments import repository_reconciliation as repo
from services.payments.domain_interest import Owed, interest_spread
from services.payments.domain_lapse import WentBack
from services.payments.domain_refunds import paid_installments


async def after_manual_payment(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, amount_cents: int, interest_cents: int
) -> None:
    """A payment made outside pagoPA (`interest_cents` of it the plan's interest): in a plan it pays
    the plan (`pay_plan`); otherwise the notices whose amount it changed stop being payable (a new
    one is issued for what is left)."""
    if await pay_plan(uow, tenant_id, position_id, amount_cents, interest_cents):
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


async def pay_plan(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, amount_cents: int, interest_cents: int = 0
) -> bool:
    """`amount_cents`, of which `interest_cents` the plan's interest and the rest already added to
    the position, paid into its active plan (False: it has none). When it pays off the plan's debt
    the plan is settled early: its interest goes to the installments' interest in their order, and
    the interest left of the installments not paid is spared (`domain_interest.interest_of`)."""
    plan = await repository_plans.active_plan_of(uow, tenant_id, position_id)
    if plan is None:
        return False
    options = await repository_notices.plan_options(uow, tenant_id, plan.id)
    positions = await repository_plans.plan_positions_of(uow, tenant_id, plan.id)
    if all(domain.residual_cents(p.amount_cents, p.paid_cents) <= 0 for p in positions):
        spread = interest_spread(
            interest_cents, [_owed(r) for r in await repository_plans.plan_schedule(uow, tenant_id, plan.id)]
        )
        await repository_plans.add_installment_paid(
            uow, tenant_id, {(plan.id, n): c for n, c in spread.items()}
        )
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
    await repository_notices.retire_outgrown(uow, tenant_id, [p.id for p in positions])
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


async def owed_installments(
    uow: UnitOfWork, tenant_id: uuid.UUID, pairs: Collection[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], Owed]:
    """The installments (plan, number) `pairs` as a payment finds them (`domain_interest`)."""
    rows = await repository_plans.installments_of(uow, tenant_id, pairs)
    return {(r.plan_id, r.number): _owed(r) for r in rows}


async def plan_owed(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> list[Owed]:
    """The installments of the position's active plan, in due order, as a payment made otherwise
    than through one of the plan's notices (by hand, booked from the review) finds them: it fills
    them in that order (`pay_plan`) and pays each one's interest first (`domain_interest`). None
    without an active plan."""
    plan = await repository_plans.active_plan_of(uow, tenant_id, position_id)
    if plan is None:
        return []
    return [_owed(r) for r in await repository_plans.plan_schedule(uow, tenant_id, plan.id)]


async def money_back(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    payment: Any,
    went: tuple[int, int],
    today: date,
    revoked: bool = False,
) -> dict[int, int]:
    """Money of `payment` that went back, `went` being (the cents, what is left of the payment
    after): if it paid installments of the position's active plan (`paid_installments`: through a
    notice of the plan, or otherwise while the plan was in force), it comes off them, its own
    installment first, then latest first, due again from `today` (`handlers_lapse`: a refund from
    any plan but a lapsed one, a revocation from any). Their notices already paid or made
    unpayable give way, so the plan's next notices ask anew for what is due. Returns what came off
    each installment: none for a position in no active plan, or a payment made before the plan."""
    plan = await repository_plans.active_plan_of(uow, tenant_id, payment.position_id)
    if plan is None:
        return {}
    notice = await repository_refunds.option_of(uow, tenant_id, payment.option_id)
    if not paid_installments(plan.id, plan.created_at, payment.recorded_at, notice):
        return {}
    # Paid through one of the plan's notices: its installment, or (none) the plan's single notice.
    ours = notice is not None and notice[0] == plan.id
    first = notice[1] if ours and notice is not None else None
    went_back = WentBack(went[0], first, all_of_single=ours and first is None and went[1] == 0)
    taken = await handlers_lapse.take_back_installments(uow, tenant_id, plan.id, went_back, today, revoked)
    stale = [
        o.id
        for o in await repository_notices.plan_options(uow, tenant_id, plan.id)
        if o.installment in taken and o.status != "payable"
    ]
    await repository_notices.set_status(uow, tenant_id, stale, "replaced")
    return taken


async def revoked_from_plans(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    revoked: Sequence[Any],
    refunded: Mapping[uuid.UUID, int],
    today: date,
) -> None:
    """Revoked payments (`refunded`: what the Comune had already refunded of each, taken off then)
    come off the installments they paid: those on a plan's notice from that plan, whatever its
    state; those on a notice of the position alone from the plan they paid (`money_back`)."""
    left: dict[uuid.UUID, int] = defaultdict(int)  # per notice paid
    for row in revoked:
        left[row.option_id] += row.amount_cents - refunded.get(row.id, 0)
    for option_id, cents in left.items():
        notice = await repository_refunds.option_of(uow, tenant_id, option_id)
        if cents <= 0 or notice is None:
            continue
        if notice[0] is not None:
            went = WentBack(cents, notice[1], all_of_single=notice[1] is None)
            await handlers_lapse.take_back_installments(uow, tenant_id, notice[0], went, today, revoked=True)
            continue
        for row in (r for r in revoked if r.option_id == option_id):
            went_cents = row.amount_cents - refunded.get(row.id, 0)
            await money_back(uow, tenant_id, row, (went_cents, 0), today, revoked=True)


def _owed(row: Any) -> Owed:
    """An installment's row as a payment finds it (`domain_interest`)."""
    return Owed(row.number, row.principal_cents, row.interest_cents, row.paid_cents)
