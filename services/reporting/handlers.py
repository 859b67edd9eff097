"""Use cases of the reporting service: projections of the other services' events, the dashboard and
the settings (the relazione di scarico: `handlers_relazione`). Each runs in the unit of work its
entrypoint owns."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.contracts import NOT_CONVERSATIONS, PositionFact
from services.kernel.db import UnitOfWork
from services.reporting import domain, handlers_aggio_contract, repository_cases, repository_portal
from services.reporting import repository as repo
from services.reporting import repository_ledger as ledger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dashboard:
    summary: repo.Summary
    by_type: list[domain.GroupTotals]
    # The aggio contract's on what was collected since it began (None: no contract yet).
    aggio: handlers_aggio_contract.DashboardAggio | None
    # The cases waiting for the office's final answer.
    cases_waiting: int = 0
    # Of the residual, what is already time-barred (positions, cents): it stays in «Residuo».
    barred: tuple[int, int] = (0, 0)


# --- projections ---------------------------------------------------------------------------------


async def register_positions(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    batch_id: str,
    facts: tuple[PositionFact, ...],
    registered_at: datetime | None = None,
) -> None:
    """New positions add to the assigned amount; positions already known are ignored. The debtors'
    grades come with them (the relazione's tracing result: «Irreperibile» for none usable)."""
    await ledger.note_grades(
        uow, tenant_id, {uuid.UUID(f.debtor_id): f.debtor_grade for f in facts if f.debtor_grade}
    )
    inserted = set(await repo.insert_positions(uow, tenant_id, batch_id, facts, registered_at))
    if not inserted:
        return
    assigned = sum(f.amount_cents for f in facts if uuid.UUID(f.position_id) in inserted)
    await repo.catch_up_collected(uow, tenant_id, sorted(inserted))
    await repo.bump_totals(uow, tenant_id, assigned_cents=assigned, positions=len(inserted))


async def register_payment(uow: UnitOfWork, tenant_id: uuid.UUID, payment: domain.Payment) -> None:
    """A payment counts once, keyed by its payment id, even if redelivered in a new envelope."""
    if not await repo.insert_payment(uow, tenant_id, payment):
        return
    await repo.credit_position(uow, tenant_id, payment.position_id, payment.debt_cents)
    await repo.bump_totals(uow, tenant_id, collected_cents=payment.debt_cents, payments=1)
    # No service announces a position paid off: reporting sees it reach its amount.
    await ledger.settle_if_paid(uow, tenant_id, payment.position_id, payment.paid_on)


async def register_flow(
    uow: UnitOfWork, tenant_id: uuid.UUID, flow_id: str, payment_ids: list[uuid.UUID]
) -> None:
    """Payments known from their receipts, reported by the flow `flow_id`: their flow is shown
    from now on (the portal, the debtor's file, the relazione's receipts and flows annex)."""
    await repo.set_flow(uow, tenant_id, flow_id, payment_ids)


async def register_outcome(uow: UnitOfWork, tenant_id: uuid.UUID, outcome: domain.Outcome) -> None:
    """An outcome counts once, for the debtor too (attempts, conversations, last outcome); the
    debtors contacted are counted from those rows (`repo.debtors_worked`)."""
    if not await repo.insert_outcome(uow, tenant_id, outcome):
        return
    answered = outcome.outcome not in NOT_CONVERSATIONS
    await ledger.note_outcome(
        uow, tenant_id, outcome.debtor_id, outcome.outcome, outcome.recorded_at, answered
    )
    await repo.bump_totals(uow, tenant_id, outcomes=1)


async def register_batch(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Keep a completed batch's counts for the dashboard."""
    await repo.insert_batch(uow, tenant_id, values)


# --- dashboard and settings ------------------------------------------------------------------------


async def dashboard(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> Dashboard:
    """The campaign's totals, by revenue type and the aggio of the contract as the rendiconti
    invoice it (the relazioni: `handlers_relazione`)."""
    return Dashboard(
        await repo.summary(uow, tenant_id),
        await repo.totals_by_type(uow, tenant_id),
        await handlers_aggio_contract.dashboard_aggio(uow, tenant_id, today),
        await repository_cases.waiting_count(uow, tenant_id),
        await repository_portal.barred_residual(uow, tenant_id, today),
    )
