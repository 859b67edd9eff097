"""Use case: an active plan after the Ufficio tributi corrects the amount of one of its positions
(`domain_reamount`). The plan is locked, its open installments spread again over the same dates,
its notices for the old figures replaced and, when the plan's notices had been issued, issued anew
for the new ones; `PlanReamounted` is published (the `payments.gpd` consumer withdraws the plan's
old publication from pagoPA, the reporting service counts the installments)."""

from __future__ import annotations

import logging
import uuid

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
from services.payments.domain import residual_cents
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
    plan = await repository_lapse.plan_for_update(uow, tenant_id, active.id)
    if plan is None or plan.status != "active":
        return None
    state = await handlers_lapse.plan_state(uow, tenant_id, plan)
    rules = await handlers_rules.rules_for(uow, tenant_id, plan.revenue_type, plan.plan_date)
    rates = await repository_legal_rates.rate_table(uow)
    covered = await repository_plans.plan_positions_of(uow, tenant_id, plan.id)
    owed = sum(residual_cents(p.amount_cents, p.paid_cents) for p in covered)
    done = reamount(state, cut_cents, plan.plan_date, rules.interest_rate, rates, owed)
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
