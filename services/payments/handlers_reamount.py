"""Use case: an active plan after the Ufficio tributi corrects the amount of one of its positions or
cancels some of them (sgravio) (`domain_reamount`). The plan is locked, its open installments
spread again over the same dates on what is left, its notices for the old figures replaced and,
when the plan's notices had been issued, issued anew for the new ones; `PlanReamounted` is
published (the `payments.gpd` consumer withdraws the plan's old publication from pagoPA, the
reporting service counts the installments). A plan whose every position was cancelled before
anything was paid on it is left with no installment: it is cancelled."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from services.contracts import PlanReamounted
from services.kernel.db import UnitOfWork
from services.payments import (
    handlers_lapse,
    handlers_notices,
    handlers_rules,
    repository_lapse,
    repository_legal_rates,
    repository_notices,
    repository_plans,
)
from services.payments.domain import owed_by, residual_cents
from services.payments.domain_answers import CANCELLED_NOTICE
from services.payments.domain_lapse import PlanState
from services.payments.domain_reamount import Reamount, reamount

log = logging.getLogger(__name__)


async def after_correction(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, cut_cents: int
) -> Reamount | None:
    """The active plan covering the corrected position, `cut_cents` lighter; None when the
    position is in no active plan."""
    active = await repository_plans.active_plan_of(uow, tenant_id, position_id)
    if active is None or cut_cents <= 0:
        return None
    return await _reamount(uow, tenant_id, active.id, position_id, cut_cents)


async def after_cancellation(
    uow: UnitOfWork, tenant_id: uuid.UUID, cancelled: Sequence[Any]
) -> dict[uuid.UUID, Reamount]:
    """Each active plan covering some of the `cancelled` positions (as they were before the
    sgravio), lighter by what was still due on them, spread again once; a plan whose every
    position is cancelled before anything was paid on it is cancelled. The plans spread again."""
    cuts: dict[uuid.UUID, tuple[uuid.UUID, int]] = {}
    for position in cancelled:
        active = await repository_plans.active_plan_of(uow, tenant_id, position.id)
        if active is not None:
            first, cut = cuts.get(active.id, (position.id, 0))
            cuts[active.id] = (first, cut + residual_cents(position.amount_cents, position.paid_cents))
    done: dict[uuid.UUID, Reamount] = {}
    for plan_id, (first, cut) in cuts.items():
        if await _cancel_if_nothing_stands(uow, tenant_id, plan_id, first, cut):
            continue
        reamounted = await _reamount(uow, tenant_id, plan_id, first, cut) if cut > 0 else None
        if reamounted is not None:
            done[plan_id] = reamounted
    return done


async def _cancel_if_nothing_stands(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, position_id: uuid.UUID, cut_cents: int
) -> bool:
    """A plan whose every position is cancelled, with nothing paid on it, is cancelled: its notices
    no longer payable, its installments kept as they were agreed; `PlanReamounted` with no
    installment left says so. False (nothing done) when something stands or was paid."""
    plan = await repository_lapse.plan_for_update(uow, tenant_id, plan_id)
    if plan is None or plan.status != "active":
        return False
    standing = await repository_plans.plan_positions_of(uow, tenant_id, plan_id)
    paid = any(i.paid_cents > 0 for i in await repository_lapse.installments(uow, tenant_id, plan_id))
    if paid or standing:
        return False
    await repository_lapse.cancel_plan(uow, tenant_id, plan_id, CANCELLED_NOTICE)
    event = PlanReamounted(
        plan_id=str(plan_id),
        debtor_id=str(plan.debtor_id),
        position_id=str(position_id),
        cut_cents=cut_cents,
        residual_principal_cents=0,
        installments_after=0,
    )
    await uow.publish([event.envelope(tenant_id, uow.correlation_id)])
    log.info("plan %s cancelled: the office cancelled every position it covered", plan_id)
    return True


async def spread_again(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    plan: Any,
    cut_cents: int,
    owed_cents: int,
    state: PlanState | None = None,
) -> Reamount:
    """What `domain_reamount.reamount` makes of the plan `cut_cents` lighter, its positions owing
    `owed_cents`: at the plan's own rate or the legal rates, as the plan was made. Nothing written.
    `state`: the plan's installments when the caller read them already."""
    if state is None:
        state = await handlers_lapse.plan_state(uow, tenant_id, plan)
    rules = await handlers_rules.rules_for(uow, tenant_id, plan.revenue_type, plan.plan_date)
    rates = await repository_legal_rates.rate_table(uow)
    return reamount(state, cut_cents, plan.plan_date, rules.interest_rate, rates, owed_cents)


async def _reamount(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, position_id: uuid.UUID, cut_cents: int
) -> Reamount | None:
    """The plan spread again `cut_cents` lighter (`position_id`: the position that says why)."""
    plan = await repository_lapse.plan_for_update(uow, tenant_id, plan_id)
    if plan is None or plan.status != "active":
        return None
    covered = await repository_plans.plan_positions_of(uow, tenant_id, plan.id)
    # What is still due on the positions that stand (`plan_positions_of`: a cancelled one owes nothing).
    done = await spread_again(uow, tenant_id, plan, cut_cents, owed_by(covered))
    replaced = await repository_lapse.reamount(uow, tenant_id, plan.id, done)
    if replaced and done.new and await repository_notices.creditor(uow, tenant_id) is not None:
        # The debtor held notices for the old installments: the new ones are ready to be sent.
        await handlers_notices.issue_plan_notices(uow, handlers_notices.system_identity(tenant_id), plan.id)
    event = PlanReamounted(
        plan_id=str(plan.id),
        debtor_id=str(plan.debtor_id),
        position_id=str(position_id),
        cut_cents=cut_cents,
        residual_principal_cents=done.residual_principal_cents,
        installments_after=done.installments,
    )
    await uow.publish([event.envelope(tenant_id, uow.correlation_id)])
    log.info(
        "plan %s: %d cents off, residual principal %d", plan.id, cut_cents, done.residual_principal_cents
    )
    return done
