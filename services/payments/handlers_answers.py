"""The Ufficio tributi's answers (`CaseAnswered`, from the reporting service) in payments: a
cancelled position (sgravio) is no longer due and its notices no longer payable; a corrected
position is due for its new amount, its notices for the old one replaced. Idempotent: the inbox
runs each message once, and a position already cancelled or re-amounted to the same figure is left
as it is."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from services.kernel.db import UnitOfWork
from services.payments import domain_answers, handlers_gpd, repository_answers
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
        ids = [p for p in decided.cancel if p in found]
        await repository_answers.cancel(uow, tenant_id, ids, at)
        await repository_answers.retire_payable_options(uow, tenant_id, ids, domain_answers.CANCELLED_NOTICE)
        await repository_answers.retire_plan_charges(uow, tenant_id, ids, domain_answers.CANCELLED_NOTICE)
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
