"""The Ufficio tributi's answers (`CaseAnswered`, from the reporting service) in payments: a
cancelled position (sgravio) is no longer due and its notices no longer payable; a corrected
position is due for its new amount, its notices for the old one replaced, and the c.803 charges of
a plan it is or was in computed again on what stands. Idempotent: the inbox runs each message once,
and a position already cancelled or re-amounted to the same figure is left as it is."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from services.contracts import ChargesRecomputed
from services.kernel.db import UnitOfWork
from services.payments import (
    domain_answers,
    handlers_gpd,
    handlers_notices,
    handlers_reamount,
    repository_answers,
    repository_lapse,
    repository_notices,
    repository_plans,
)
from services.payments.domain import residual_cents
from services.payments.domain_answers import Decision

log = logging.getLogger(__name__)


async def office_decided(uow: UnitOfWork, tenant_id: uuid.UUID, decided: Decision, at: datetime) -> None:
    """Apply the office's decision to the positions still open here (unknown ones are logged:
    their registration has not arrived, or they belong to no one here)."""
    found = {p.id: p for p in await repository_answers.open_positions(uow, tenant_id, decided.position_ids)}
    missing = [p for p in decided.position_ids if p not in found]
    if missing:
        log.warning("office decision on positions not open here: %s", ", ".join(map(str, missing)))
    if decided.cancel:
        await _cancel(uow, tenant_id, [found[p] for p in decided.cancel if p in found], at)
        return
    position = found.get(decided.correct) if decided.correct else None
    if position is None:
        return
    amount = domain_answers.corrected_amount(decided.new_cents, position.paid_cents)
    if amount == position.amount_cents:
        return
    if amount != decided.new_cents:
        log.warning(
            "position %s corrected to %d, kept at the %d already paid", position.id, decided.new_cents, amount
        )
    await repository_answers.set_amount(uow, tenant_id, position.id, amount, at)
    await repository_answers.retire_payable_options(
        uow, tenant_id, [position.id], domain_answers.CORRECTED_NOTICE
    )
    cut = position.amount_cents - amount
    await _charges_after_correction(uow, tenant_id, position.id, cut)
    await handlers_reamount.after_correction(uow, tenant_id, position.id, cut)


async def _cancel(uow: UnitOfWork, tenant_id: uuid.UUID, cancelled: list[Any], at: datetime) -> None:
    """Positions cancelled (sgravio): their own notices no longer payable, the c.803 charges of a
    plan left with no position retired, or computed again on what its other positions leave, and
    each active plan covering them spread again on what is left (`handlers_reamount`)."""
    ids = [p.id for p in cancelled]
    await repository_answers.cancel(uow, tenant_id, ids, at)
    await repository_answers.retire_payable_options(uow, tenant_id, ids, domain_answers.CANCELLED_NOTICE)
    await repository_answers.retire_plan_charges(uow, tenant_id, ids, domain_answers.CANCELLED_NOTICE)
    for position in cancelled:
        owed = residual_cents(position.amount_cents, position.paid_cents)
        if owed > 0 and await repository_plans.active_plan_of(uow, tenant_id, position.id) is not None:
            await _charges_after_correction(uow, tenant_id, position.id, owed)
    await handlers_reamount.after_cancellation(uow, tenant_id, cancelled)
    await repository_answers.leave_plans(uow, tenant_id, ids)


async def _charges_after_correction(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, cut_cents: int
) -> None:
    """The c.803 charges of each plan the position is or was in, on what the corrections leave
    (`domain_answers.charges_after_correction`). A charges notice still payable for the old figure
    is replaced by one for the new; `ChargesRecomputed` says so (the `payments.gpd` consumer then
    withdraws the old notice from pagoPA). Charges already paid stay as paid."""
    for plan in await repository_answers.plans_of(uow, tenant_id, position_id):
        corrected = plan.corrected_cents + cut_cents
        option = (
            await repository_notices.charges_option(uow, tenant_id, plan.id) if plan.charges_cents else None
        )
        charges = await _charges_now(uow, tenant_id, plan, corrected, option)
        await repository_answers.set_plan_correction(uow, tenant_id, plan.id, corrected, charges)
        if charges == plan.charges_cents:
            continue
        nav = ""
        if option is not None:
            await repository_notices.set_status(uow, tenant_id, [option.id], "replaced")
            creditor = await repository_notices.creditor(uow, tenant_id)
            fresh = await repository_lapse.plan_for_update(uow, tenant_id, plan.id)
            if creditor is not None and fresh is not None and charges > 0:
                system = handlers_notices.system_identity(tenant_id)
                nav = "".join(
                    o.nav for o in await handlers_notices.charges_notice(uow, system, fresh, creditor)
                )
        event = ChargesRecomputed(
            plan_id=str(plan.id),
            debtor_id=str(plan.debtor_id),
            corrected_cents=corrected,
            charges_before_cents=plan.charges_cents,
            charges_cents=charges,
            nav=nav,
        )
        await uow.publish([event.envelope(tenant_id, uow.correlation_id)])


async def _charges_now(uow: UnitOfWork, tenant_id: uuid.UUID, plan: Any, corrected: int, option: Any) -> int:
    """The plan's charges once `corrected` is off its positions; as they are when none apply or
    their notice (`option`) is no longer payable (paid: the Comune refunds any excess)."""
    if plan.charges_cents <= 0:
        return int(plan.charges_cents)
    if option is not None and option.status != "payable":
        return int(plan.charges_cents)
    covered = [p.id for p in await repository_plans.plan_positions_of(uow, tenant_id, plan.id)]
    notice_day = await repository_lapse.first_notice_day(uow, tenant_id, covered) or plan.plan_date
    return domain_answers.charges_after_correction(plan.amount_cents, corrected, notice_day, plan.plan_date)


async def withdraw_from_pagopa(uow: UnitOfWork, tenant_id: uuid.UUID, decided: Decision) -> int:
    """What was published on pagoPA GPD of the positions decided no longer stands: invalidated."""
    why = (
        "posizione annullata dall'Ufficio tributi (sgravio)"
        if decided.cancel
        else "importo corretto dall'Ufficio tributi"
    )
    subjects = list(decided.position_ids)
    if decided.cancel:  # and the c.803 charges of a plan whose every position is cancelled
        subjects += await repository_answers.cancelled_plan_charges(uow, tenant_id, decided.position_ids)
    return await handlers_gpd.invalidate_replaced(uow, tenant_id, subjects, why)


async def withdraw_replaced_charges(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> int:
    """A plan's c.803 charges got a new notice (computed again after a correction): what was
    published on pagoPA GPD of the notices it replaced is invalidated."""
    replaced = await repository_answers.replaced_charges(uow, tenant_id, plan_id)
    why = "oneri di riscossione ricalcolati dopo una correzione dell'importo: sostituiti da un nuovo avviso"
    return await handlers_gpd.invalidate_replaced(uow, tenant_id, replaced, why)
