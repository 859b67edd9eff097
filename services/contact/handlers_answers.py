"""The Ufficio tributi's answers to the cases operators sent it (`CaseAnswered`, from the reporting
service): each joins the debtor's history; a cancellation (sgravio) or a correction changes the
positions it names, so what the debtor owes, the card and the queue's order follow; the debtor's
calls resume, stay paused or stop."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import sqlalchemy as sa

from services.contact import domain_answers, repository, repository_answers
from services.contact.domain_messages import act_note
from services.contact.models import debtors, limitation_acts
from services.contracts import CaseAnswered, LimitationInterrupted
from services.kernel.db import UnitOfWork
from services.kernel.repository_limitation import keep_act

log = logging.getLogger(__name__)


async def _decide_positions(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, event: CaseAnswered
) -> bool | None:
    """Apply a cancellation or a correction to the positions it names; whether the debtor still
    owes anything (None: the answer names no position)."""
    ids = [uuid.UUID(p) for p in event.position_ids]
    if not ids or event.answer not in ("cancelled", "corrected"):
        return None
    if event.answer == "cancelled":
        await repository_answers.cancel_positions(uow, tenant_id, debtor_id, ids)
    else:
        await repository_answers.correct_position(uow, tenant_id, debtor_id, ids[0], event.corrected_cents)
    await repository.refresh_totals(uow, tenant_id, [debtor_id])
    row = await repository.get_debtor(uow, tenant_id, debtor_id)
    return row is not None and row.total_due_cents > 0


async def office_answered(uow: UnitOfWork, tenant_id: uuid.UUID, event: CaseAnswered, at: datetime) -> None:
    """The answer in the history (once: its id is the answer's), its positions changed, and the
    debtor's new status; the lease, if any, is let go (the operator's card says what the office
    decided)."""
    debtor_id = uuid.UUID(event.debtor_id)
    acts = await repository_answers.acts_of(
        uow, tenant_id, debtor_id, [uuid.UUID(p) for p in event.position_ids]
    )
    note = domain_answers.answer_note(
        event.kind, event.answer, event.note, event.corrected_cents, acts, len(event.position_ids)
    )
    entry = {
        "operator": f"Ufficio tributi ({event.answered_by})",
        "outcome": domain_answers.ANSWER_ENTRY,
        "note": note,
        "recorded_at": at,
    }
    if not await repository.record_message(uow, tenant_id, uuid.UUID(event.answer_id), debtor_id, entry):
        log.warning("answer %s for debtor %s not applied: debtor unknown here", event.answer_id, debtor_id)
        return
    still_owed = await _decide_positions(uow, tenant_id, debtor_id, event)
    status = domain_answers.status_after(event.kind, event.answer, still_owed)
    await uow.execute(
        sa.update(debtors)
        .where(debtors.c.tenant_id == tenant_id, debtors.c.id == debtor_id)
        .values(
            status=status.value,
            assigned_to=None,
            assigned_name=None,
            locked_until=None,
            callback_at=None,
            callback_for=None,
            updated_at=at,
        )
    )


async def office_interrupted(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, event: LimitationInterrupted, at: datetime
) -> None:
    """The Ufficio tributi recorded an act that interrupted the limitation of the debtor's
    positions, or took it back: the debtor's limitation days, what the card says of each position
    and the queue's order follow, and the history says so (once each: the entry's id is the act's,
    or derived from it for the withdrawal)."""
    act_id, position_ids, served_on = event.parsed()
    await keep_act(uow, limitation_acts, tenant_id, act_id, position_ids, served_on, event.withdrawn)
    await repository.refresh_totals(uow, tenant_id, [debtor_id])
    acts = await repository_answers.acts_of(uow, tenant_id, debtor_id, list(position_ids))
    entry = {
        "operator": "Ufficio tributi",
        "outcome": "atto_interruttivo_annullato" if event.withdrawn else "atto_interruttivo",
        "note": act_note(event.kind, served_on, acts),
        "recorded_at": at,
    }
    entry_id = uuid.uuid5(act_id, "withdrawn") if event.withdrawn else act_id
    await repository.record_message(uow, tenant_id, entry_id, debtor_id, entry)
