"""Use cases of the contact service: one plain function each, run in the entrypoint's unit of work."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.contact import domain, repository
from services.contact.domain import ContactRecord, OutcomeDecision
from services.contracts import OutcomeRecorded, PositionFact
from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.kernel.identity import Identity

SUPERVISORS = ("supervisor", "platform_admin")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuePage:
    counts: dict[str, int]
    debtors: list[Any]
    has_next: bool


@dataclass(frozen=True)
class DebtorCard:
    debtor: Any
    positions: list[Any]
    history: list[Any]
    reachable: list[Any]


async def work_queue(
    uow: UnitOfWork, tenant_id: uuid.UUID, status: str | None, page_no: int, page_size: int
) -> QueuePage:
    """The queue's counts by status and one page of its debtors."""
    counts = await repository.status_counts(uow, tenant_id)
    offset = domain.page_offset(page_no, page_size)
    rows = await repository.list_debtors(uow, tenant_id, status, page_size + 1, offset)
    return QueuePage(counts, rows[:page_size], len(rows) > page_size)


async def take_next(uow: UnitOfWork, ident: Identity) -> uuid.UUID | None:
    """Lease the next debtor of the queue to this operator; None when nobody is waiting."""
    return await repository.take_next(uow, ident.tenant_id, ident.user_id)


async def debtor_card(uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID) -> DebtorCard:
    """Everything the operator sees of a debtor; the view is recorded in the access log."""
    debtor = await repository.get_debtor(uow, ident.tenant_id, debtor_id)
    if debtor is None:
        raise NotFound()
    card = DebtorCard(
        debtor,
        await repository.debtor_positions_of(uow, ident.tenant_id, debtor_id),
        await repository.contact_history(uow, ident.tenant_id, debtor_id),
        await repository.active_contacts(uow, ident.tenant_id, debtor_id),
    )
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_card", debtor_id)
    return card


async def record_outcome(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, decision: OutcomeDecision, now: datetime
) -> uuid.UUID:
    """Record the outcome of a call on a debtor leased to this operator and publish `OutcomeRecorded`."""
    debtor = await repository.get_debtor(uow, ident.tenant_id, debtor_id, lock=True)
    if debtor is None:
        raise NotFound()
    domain.check_can_record(
        debtor.assigned_to, debtor.locked_until, ident.user_id, now, ident.has_role(*SUPERVISORS)
    )
    contact_id = await repository.record_outcome(
        uow, ident.tenant_id, debtor_id, ident.user_id, decision, now
    )
    event = OutcomeRecorded(
        contact_id=str(contact_id),
        debtor_id=str(debtor_id),
        outcome=decision.outcome.value,
        operator=ident.user_id,
        recorded_at=now.isoformat(),
    )
    await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
    return contact_id


async def register_positions(uow: UnitOfWork, tenant_id: uuid.UUID, facts: Sequence[PositionFact]) -> int:
    """Put the registered positions' debtors in the work queue."""
    return await repository.register_positions(uow, tenant_id, facts)


async def register_payment(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    payment: tuple[uuid.UUID, uuid.UUID, uuid.UUID],
    amount_cents: int,
    paid_on: date,
) -> None:
    """What the debtor still owes goes down; a debtor who paid in full leaves the queue."""
    await repository.register_payment(uow, tenant_id, *payment, amount_cents, paid_on)


async def keep_contacts(uow: UnitOfWork, tenant_id: uuid.UUID, records: Sequence[ContactRecord]) -> None:
    """Keep the contact data ingest registered or updated, for the debtor card."""
    await repository.upsert_contacts(uow, tenant_id, records)


async def register_message(
    uow: UnitOfWork, tenant_id: uuid.UUID, message_id: uuid.UUID, debtor_id: uuid.UUID, entry: dict[str, Any]
) -> None:
    """A message the payments service sent to the debtor joins the contact history."""
    if not await repository.record_message(uow, tenant_id, message_id, debtor_id, entry):
        log.warning("message %s for debtor %s not in the history: debtor unknown here", message_id, debtor_id)
