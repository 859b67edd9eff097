"""Use cases of the contact service: one plain function each, run in the entrypoint's unit of work."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.contact import domain, domain_conduct, repository, repository_conduct
from services.contact.domain import ContactRecord
from services.contact.repository_conduct import CallLimits
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
    rules: domain_conduct.ConductRules
    # Why the debtor may not be phoned now, if so.
    refusal: str | None


async def work_queue(
    uow: UnitOfWork, tenant_id: uuid.UUID, status: str | None, page_no: int, page_size: int
) -> QueuePage:
    """The queue's counts by status and one page of its debtors."""
    counts = await repository.status_counts(uow, tenant_id)
    offset = domain.page_offset(page_no, page_size)
    rows = await repository.list_debtors(uow, tenant_id, status, page_size + 1, offset)
    return QueuePage(counts, rows[:page_size], len(rows) > page_size)


@dataclass(frozen=True)
class Next:
    """The debtor leased to the operator, or why none: the calling hours are closed (`closed`),
    or nobody may be phoned now."""

    debtor_id: uuid.UUID | None
    closed: str | None = None


async def take_next(uow: UnitOfWork, ident: Identity, now: datetime) -> Next:
    """Lease the next debtor of the queue the conduct rules let be phoned now to this operator."""
    rules = await repository_conduct.rules_of(uow, ident.tenant_id)
    closed = domain_conduct.closed_reason(rules, now)
    if closed is not None:
        return Next(None, closed)
    day_start, week_start = domain_conduct.day_bounds(now)
    limits = CallLimits(day_start, week_start, rules.daily_cap, rules.weekly_cap)
    return Next(await repository.take_next(uow, ident.tenant_id, ident.user_id, limits))


async def debtor_card(uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, now: datetime) -> DebtorCard:
    """Everything the operator sees of a debtor, with whether the conduct rules let them be phoned
    now; the view is recorded in the access log."""
    debtor = await repository.get_debtor(uow, ident.tenant_id, debtor_id)
    if debtor is None:
        raise NotFound()
    rules = await repository_conduct.rules_of(uow, ident.tenant_id)
    held = await repository_conduct.conversations_since(
        uow, ident.tenant_id, debtor_id, domain_conduct.day_bounds(now)[1]
    )
    card = DebtorCard(
        debtor,
        await repository.debtor_positions_of(uow, ident.tenant_id, debtor_id),
        await repository.contact_history(uow, ident.tenant_id, debtor_id),
        await repository.active_contacts(uow, ident.tenant_id, debtor_id),
        rules,
        domain_conduct.refusal(rules, now, held, debtor.do_not_call),
    )
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_card", debtor_id)
    return card


@dataclass(frozen=True)
class Call:
    """What the operator records of a call, as submitted."""

    outcome: domain.Outcome
    note: str
    callback_at: datetime | None
    do_not_call: bool = False
    override_reason: str = ""


async def record_outcome(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, call: Call, now: datetime
) -> uuid.UUID:
    """Record the outcome of a call on a debtor leased to this operator and publish `OutcomeRecorded`.

    The conduct rules judge the call: outside the calling hours, past the debtor's conversations
    of the day or week, or for a debtor who asked not to be phoned, it is refused, unless a
    supervisor records it with a written reason (kept with the call and in the access log)."""
    debtor = await repository.get_debtor(uow, ident.tenant_id, debtor_id, lock=True)
    if debtor is None:
        raise NotFound()
    supervisor = ident.has_role(*SUPERVISORS)
    domain.check_can_record(debtor.assigned_to, debtor.locked_until, ident.user_id, now, supervisor)
    rules = await repository_conduct.rules_of(uow, ident.tenant_id)
    decision = domain.decide_outcome(call.outcome, call.note, call.callback_at, now, rules)
    week_start = domain_conduct.day_bounds(now)[1]
    held = await repository_conduct.conversations_since(uow, ident.tenant_id, debtor_id, week_start)
    refused = domain_conduct.refusal(rules, now, held, debtor.do_not_call)
    override = None
    if refused is not None:
        override = domain_conduct.check_override(refused, call.override_reason, supervisor)
        detail = f"{refused} Motivo: {override}"
        await repository.access.record(
            uow, ident.tenant_id, ident.user_id, "conduct_override", debtor_id, detail
        )
    contact_id = await repository.record_outcome(
        uow, ident.tenant_id, debtor_id, ident.user_id, decision, now, override
    )
    if call.do_not_call:
        await repository_conduct.set_do_not_call(uow, ident.tenant_id, debtor_id)
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
