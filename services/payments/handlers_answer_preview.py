"""Use case: what an answer of the Ufficio tributi would make of the active plans covering its
positions, shown before the office confirms it (the reporting service's «Conferma la risposta»
embeds it through the gateway). The rules are those the answer applies when it arrives
(`handlers_answers.office_decided`: the corrected amount never below what was paid; a plan whose
every position is cancelled with nothing paid is cancelled; otherwise `handlers_reamount.spread_again`).
Nothing is written but the access log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.payments import handlers_lapse, handlers_reamount, repository, repository_plans
from services.payments.domain import residual_cents
from services.payments.domain_answers import OPEN, Decision, corrected_amount
from services.payments.domain_lapse import InstallmentState
from services.payments.domain_reamount import Reamount


@dataclass(frozen=True)
class PlanAfter:
    """An active plan the answer changes: its installments now, and what they would become
    (`after` None: the plan would be cancelled)."""

    plan: Any
    before: tuple[InstallmentState, ...]
    cut_cents: int
    after: Reamount | None

    @property
    def cancelled(self) -> bool:
        return self.after is None


async def answer_preview(uow: UnitOfWork, ident: Identity, decided: Decision) -> list[PlanAfter]:
    """The active plans the decision would spread again or cancel, each as it would be."""
    tenant_id = ident.tenant_id
    found = {
        p.id: p
        for p in await repository.positions_by_ids(uow, tenant_id, list(decided.position_ids))
        if p.state == OPEN
    }
    amounts = {p: found[p].amount_cents for p in found}
    cuts: dict[uuid.UUID, tuple[Any, int]] = {}
    for position_id in decided.position_ids:
        position = found.get(position_id)
        if position is None:
            continue
        if decided.correct is None:
            cut = residual_cents(position.amount_cents, position.paid_cents)
        else:
            amounts[position_id] = corrected_amount(decided.new_cents, position.paid_cents)
            cut = position.amount_cents - amounts[position_id]
        plan = await repository_plans.active_plan_of(uow, tenant_id, position_id)
        if plan is not None and cut > 0:
            cuts[plan.id] = (plan, cuts.get(plan.id, (plan, 0))[1] + cut)
    shown = [await _plan_after(uow, tenant_id, plan, cut, decided, amounts) for plan, cut in cuts.values()]
    if found:
        detail = "anteprima del piano dopo la risposta"
        await repository.access.record(
            uow, tenant_id, ident.user_id, "view_position", next(iter(found)), detail
        )
    return shown


async def _plan_after(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    plan: Any,
    cut: int,
    decided: Decision,
    amounts: dict[uuid.UUID, int],
) -> PlanAfter:
    state = await handlers_lapse.plan_state(uow, tenant_id, plan)
    covered = await repository_plans.plan_positions_of(uow, tenant_id, plan.id)
    standing = [p for p in covered if p.id not in decided.cancel]
    if not standing and not any(i.paid_cents > 0 for i in state.installments):
        return PlanAfter(plan, state.installments, cut, None)
    owed = sum(residual_cents(amounts.get(p.id, p.amount_cents), p.paid_cents) for p in standing)
    after = await handlers_reamount.spread_again(uow, tenant_id, plan, cut, owed, state)
    return PlanAfter(plan, state.installments, cut, after)
