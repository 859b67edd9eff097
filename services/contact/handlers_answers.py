"""The Ufficio tributi's answers to the cases operators sent it (`CaseAnswered`, from the reporting
service): each joins the debtor's history, and the debtor's calls resume, stay paused or stop."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import sqlalchemy as sa

from services.contact import domain_answers, repository
from services.contact.models import debtors
from services.contracts import CaseAnswered
from services.kernel.db import UnitOfWork

log = logging.getLogger(__name__)


async def office_answered(uow: UnitOfWork, tenant_id: uuid.UUID, event: CaseAnswered, at: datetime) -> None:
    """The answer in the history (once: its id is the answer's), and the debtor's new status; the
    lease, if any, is let go (the operator's card says what the office decided)."""
    debtor_id = uuid.UUID(event.debtor_id)
    entry = {
        "operator": f"Ufficio tributi ({event.answered_by})",
        "outcome": domain_answers.ANSWER_ENTRY,
        "note": domain_answers.answer_note(event.kind, event.answer, event.note, event.corrected_cents),
        "recorded_at": at,
    }
    if not await repository.record_message(uow, tenant_id, uuid.UUID(event.answer_id), debtor_id, entry):
        log.warning("answer %s for debtor %s not applied: debtor unknown here", event.answer_id, debtor_id)
        return
    status = domain_answers.status_after(event.kind, event.answer)
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
