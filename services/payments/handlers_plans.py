"""Use cases of installment plans: granting one to a debtor for some of its positions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.contracts import PlanCreated
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.identity import Identity
from services.payments import (
    domain,
    handlers_lapse,
    handlers_positions,
    handlers_rules,
    repository_lapse,
    repository_legal_rates,
    repository_plans,
)
from services.payments.domain_plans import range_reason
from services.payments.domain_schedule import Installment, check_first_due, month_end, schedule
from services.payments.domain_simulation import (
    PlanRequest,
    allowed_for,
    check_installments,
    check_plan_installments,
)


@dataclass(frozen=True)
class CreatedPlan:
    plan_id: uuid.UUID
    amount_cents: int
    revenue_type: str
    allowed: tuple[int, int]
    schedule: list[Installment]
    # c.803 collection charges, when the Comune applies them.
    charges_cents: int = 0


async def _positions(
    uow: UnitOfWork, tenant_id: uuid.UUID, ids: tuple[uuid.UUID, ...], today: date
) -> list[Any]:
    """The positions of one debtor and one revenue type, each with something still due, in no plan,
    none time-barred."""
    positions = await handlers_positions.positions_or_404(uow, tenant_id, ids)
    if len({p.debtor_id for p in positions}) > 1:
        raise DomainError("Un piano riguarda le posizioni di un solo contribuente.", field="position_ids")
    if len({p.revenue_type for p in positions}) > 1:
        raise DomainError("Un piano riguarda posizioni di un solo tipo di entrata.", field="position_ids")
    settled = [p for p in positions if domain.residual_cents(p.amount_cents, p.paid_cents) <= 0]
    if settled:
        raise Conflict(f"La posizione {settled[0].act_number} è già saldata.")
    if await repository_plans.positions_in_active_plans(uow, tenant_id, ids):
        raise Conflict("Una delle posizioni è già in un piano di rateizzazione attivo.")
    await handlers_lapse.refuse_lapsed(uow, tenant_id, positions)
    await handlers_positions.refuse_time_barred(uow, tenant_id, positions, today)
    return positions


async def create_plan(uow: UnitOfWork, ident: Identity, request: PlanRequest, today: date) -> CreatedPlan:
    """Grant a plan dated today within what the rules allow; its schedule is kept and
    `PlanCreated` published. All or nothing."""
    positions = await _positions(uow, ident.tenant_id, request.position_ids, today)
    amount = sum(domain.residual_cents(p.amount_cents, p.paid_cents) for p in positions)
    revenue_type = positions[0].revenue_type
    rules = await handlers_rules.rules_for(uow, ident.tenant_id, revenue_type, today)
    allowed = allowed_for(amount, revenue_type, request.income_declared, rules)
    why = range_reason(amount, revenue_type, rules)
    installments = check_installments(check_plan_installments(request.installments), allowed, why)
    first_due = request.first_due or month_end(today, 1)
    check_first_due(today, first_due)
    rates = await repository_legal_rates.rate_table(uow)
    plan = schedule(amount, installments, today, first_due, rules.interest_rate, rates=rates)
    plan_id = uuid.uuid4()
    values = {
        "id": plan_id,
        "debtor_id": positions[0].debtor_id,
        "revenue_type": revenue_type,
        "amount_cents": amount,
        "installments": installments,
        "plan_date": today,
        "first_due_date": first_due,
        "income_declared": request.income_declared,
        "created_by": ident.user_id,
    }
    await repository_plans.insert_plan(uow, ident.tenant_id, values, request.position_ids, plan)
    charges = await handlers_lapse.add_charges(
        uow, ident.tenant_id, plan_id, request.position_ids, amount, today
    )
    event = PlanCreated(
        plan_id=str(plan_id),
        debtor_id=str(positions[0].debtor_id),
        position_ids=tuple(str(p) for p in request.position_ids),
        revenue_type=revenue_type,
        amount_cents=amount,
        installments=installments,
        first_due_date=first_due.isoformat(),
        created_by=ident.user_id,
        created_by_name=ident.display_name,
    )
    await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
    return CreatedPlan(plan_id, amount, revenue_type, allowed, plan, charges)


async def sendable_plan(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID
) -> tuple[Any, uuid.UUID, int, tuple[Any, ...]]:
    """An active plan whose notices can be sent, with its first position (its page), what its
    positions still owe (0: settled, nothing left to send) and its installments as they are now
    (the card shows them on a callback: what is paid, what is due next)."""
    plan = await repository_plans.plan(uow, tenant_id, plan_id)
    if plan is None or plan.status != "active":
        raise NotFound("Piano di rate non trovato o non più attivo.")
    positions = await repository_plans.plan_positions_of(uow, tenant_id, plan_id)
    if not positions:  # every position cancelled by the office: nothing of it to send
        raise NotFound("Piano di rate non trovato o non più attivo.")
    installments = await repository_lapse.installments(uow, tenant_id, plan_id)
    return plan, positions[0].id, domain.owed_by(positions), installments
