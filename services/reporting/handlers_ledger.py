"""Projections of the payments and contact services' later events into the reporting ledger:
revocations and refunds (collected goes down), settled positions, plans, and each debtor's
promises and tracing (attempts and conversations: `handlers.register_outcome`). Each runs in the consumer's unit of work."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from services.kernel.db import UnitOfWork
from services.reporting import repository as repo
from services.reporting import repository_charges
from services.reporting import repository_ledger as ledger


async def revoke_payment(uow: UnitOfWork, tenant_id: uuid.UUID, fact: ledger.Revocation) -> None:
    """A revoked payment stops counting as collected, once; what was refunded of it already came
    off when refunded."""
    amount = await ledger.revoke_payment(uow, tenant_id, fact)
    if amount is None:
        return
    taken = max(0, amount - await ledger.refunded_of(uow, tenant_id, fact.payment_id))
    await repo.credit_position(uow, tenant_id, fact.position_id, -taken)
    await repo.bump_totals(uow, tenant_id, collected_cents=-taken)
    await ledger.unsettle(uow, tenant_id, fact.position_id)


async def refund_payment(uow: UnitOfWork, tenant_id: uuid.UUID, refund: ledger.Refund) -> None:
    """A refund takes its amount off what was collected, once (keyed by its id); the refund of a
    payment revoked already is kept but takes nothing more off."""
    if not await ledger.insert_refund(uow, tenant_id, refund):
        return
    if await ledger.is_revoked(uow, tenant_id, refund.payment_id):
        return
    taken = refund.amount_cents
    split = await ledger.interest_of(uow, tenant_id, refund.payment_id)
    if split is not None:  # the debt first, the plan's interest last (as payments gives it back)
        before = await ledger.refunded_of(uow, tenant_id, refund.payment_id) - refund.amount_cents
        taken = min(taken, max(0, split[0] - split[1] - before))
    await repo.credit_position(uow, tenant_id, refund.position_id, -taken)
    await repo.bump_totals(uow, tenant_id, collected_cents=-taken)
    await ledger.unsettle(uow, tenant_id, refund.position_id)


async def settle_position(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, on: date) -> None:
    await ledger.settle_position(uow, tenant_id, position_id, on)


async def create_plan(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await ledger.insert_plan(uow, tenant_id, values)


async def extend_plan(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, installments: int) -> None:
    await ledger.extend_plan(uow, tenant_id, plan_id, installments)


async def reamount_plan(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, installments: int, cut_cents: int
) -> None:
    await ledger.reamount_plan(uow, tenant_id, plan_id, installments, cut_cents)


async def lapse_plan(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, lapsed_on: date, residual_cents: int
) -> None:
    await ledger.lapse_plan(uow, tenant_id, plan_id, lapsed_on, residual_cents)


async def note_promise(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, state: str, cents: int, due_on: date | None
) -> None:
    await ledger.note_promise(uow, tenant_id, debtor_id, state, cents, due_on)


async def note_notice(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    """A pagoPA notice issued to the debtor: the portal's search finds them by its code from now
    on, and their page lists it."""
    await ledger.note_notice(uow, tenant_id, values)


async def note_contact(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, grade: str, active: bool
) -> None:
    await ledger.note_contact(uow, tenant_id, debtor_id, grade, active)


async def charges_paid(uow: UnitOfWork, tenant_id: uuid.UUID, paid: repository_charges.ChargePaid) -> None:
    """The c.803 charges a debtor paid: apart from the positions' payments (never their balance)."""
    await repository_charges.record_paid(uow, tenant_id, paid)


async def charges_revoked(
    uow: UnitOfWork, tenant_id: uuid.UUID, ids: tuple[uuid.UUID, uuid.UUID, uuid.UUID], cents: int, on: date
) -> None:
    await repository_charges.revoke(uow, tenant_id, ids, cents, on)
