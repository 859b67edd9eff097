"""Use cases of the contact service: one plain function each, run in the entrypoint's unit of work."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from services.contact import (
    domain,
    domain_conduct,
    domain_evidence,
    domain_lists,
    domain_promises,
    handlers_outcomes,
    handlers_scripts,
    repository,
    repository_card,
    repository_conduct,
    repository_lease,
    repository_lists,
    repository_outcomes,
    repository_promises,
    repository_queue,
    repository_reversals,
)
from services.contact.domain import ContactRecord
from services.contact.repository_conduct import CallLimits
from services.contracts import OutcomeRecorded, PositionFact, PromiseBroken, PromiseKept, PromiseMade
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.errors import NotFound
from services.kernel.identity import Identity

SUPERVISORS = ("supervisor", "platform_admin")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuePage:
    counts: dict[str, int]
    debtors: list[Any]
    has_next: bool
    # The debtors of the page whose every due position is time-barred (not to be phoned).
    time_barred: frozenset[uuid.UUID] = frozenset()
    # How many of the Comune's debtors are so (the counts by status include them).
    barred_count: int = 0


@dataclass(frozen=True)
class DebtorCard:
    debtor: Any
    positions: list[Any]
    history: list[Any]
    reachable: list[Any]
    rules: domain_conduct.ConductRules
    # Why the debtor may not be phoned now, if so.
    refusal: str | None
    promises: list[Any]
    script: dict[str, Any]
    labels: dict[str, str]
    # The files attached to each «Dice di aver già pagato» call, by the call's id.
    claims: dict[uuid.UUID, list[Any]]
    # The name of the debtor worked just before (the card names them after «Registra e passa al
    # prossimo»); when the Comune's mandate ended, if it did.
    previous_name: str | None
    closed_at: datetime | None = None
    barred: dict[Any, date] | None = None  # each position's first time-barred day (`domain.position_barred`)


async def work_queue(
    uow: UnitOfWork, ident: Identity, status: str | None, page_no: int, page_size: int, now: datetime
) -> QueuePage:
    """The queue's counts by status and one page of its debtors in the order the operator would be
    given them at `now` (`repository_queue.queue_page`), those time-barred that day marked."""
    offset = domain.page_offset(page_no, page_size)
    stored = await _list_of(uow, ident, now)
    viewer = (ident.user_id, stored.work_list if stored else None)
    counts, barred_count = await repository_queue.status_counts(uow, ident.tenant_id, viewer, now)
    rows = await repository_queue.queue_page(uow, ident.tenant_id, status, viewer, now, page_size + 1, offset)
    today = now.astimezone(domain.ROME).date()
    barred = frozenset(r.id for r in rows if domain.time_barred(r.barred_on, today))
    return QueuePage(counts, rows[:page_size], len(rows) > page_size, barred, barred_count)


@dataclass(frozen=True)
class Next:
    """The debtor leased to the operator, or why none: the calling hours are closed (`closed`),
    or nobody may be phoned now."""

    debtor_id: uuid.UUID | None
    closed: str | None = None


async def take_next(uow: UnitOfWork, ident: Identity, now: datetime) -> Next:
    """Lease the next debtor of the queue the conduct rules let be phoned now to this operator."""
    rules = await repository_conduct.rules_of(uow, ident.tenant_id)
    closed = domain_conduct.closed_notice(rules, now)
    if closed is not None:
        return Next(None, closed)
    day_start, week_start = domain_conduct.day_bounds(now)
    limits = CallLimits(now, day_start, week_start, rules.daily_cap, rules.weekly_cap)
    leased = await repository_lease.take_next(uow, ident.tenant_id, ident.user_id, limits, ident.display_name)
    return Next(leased)


def _id_or_none(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw or "")
    except ValueError:
        return None


async def debtor_card(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, now: datetime, previous: str | None = None
) -> DebtorCard:
    """Everything the operator sees of a debtor, with whether the conduct rules let them be phoned
    now; the view is recorded in the access log. `previous` (as the page's address gives it) names
    the debtor of this Comune worked just before, if any."""
    # One statement for the debtor, positions, history, payments, contacts, promises, this week's
    # conversations, the claims' receipts, the previous name, the Comune's settings and the access
    # log (`repository_card`).
    since = domain_conduct.day_bounds(now)[1]
    read = await repository_card.card_reads(
        uow, ident.tenant_id, debtor_id, since, ident.user_id, _id_or_none(previous)
    )
    if read is None:
        raise NotFound()
    rules = await repository_conduct.rules_of(uow, ident.tenant_id)
    debtor = read.debtor
    return DebtorCard(
        debtor,
        read.positions,
        domain.timeline(read.history, read.payments),
        read.contacts,
        rules,
        domain.call_refusal(rules, now, read.conversations, debtor.do_not_call, debtor.barred_on),
        read.promises,
        await handlers_scripts.card_script(uow, ident, [p.revenue_type for p in read.positions]),
        await handlers_scripts.labels(uow, ident),
        domain_evidence.by_call(read.evidence),
        read.previous_name,
        read.closed_at,
        domain.position_barred(read.positions, read.payments, read.acts),
    )


@dataclass(frozen=True)
class Call:
    """What the operator records of a call, as submitted."""

    outcome: domain.Outcome
    note: str
    callback_at: datetime | None
    do_not_call: bool = False
    override_reason: str = ""
    # A promise to pay: the amount and the day, as typed.
    promise_amount: str = ""
    promise_due: str = ""
    # The phone a wrong-number outcome names (its contact id, as chosen on the card).
    datum_id: str = ""
    # The callback is for this operator (else for anyone).
    callback_mine: bool = False
    # The id the card's form gave this call: the same form sent twice records it once.
    attempt: uuid.UUID | None = None


async def record_outcome(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, call: Call, now: datetime
) -> uuid.UUID:
    """Record the outcome of a call on a debtor leased to this operator and publish `OutcomeRecorded`.

    The conduct rules judge the call: outside the calling hours, past the debtor's conversations
    of the day or week, or for a debtor who asked not to be phoned, it is refused, unless a
    supervisor records it with a written reason (kept with the call and in the access log)."""
    debtor, promised = await repository_card.locked_debtor(uow, ident.tenant_id, debtor_id, call.attempt)
    if debtor is None:
        raise NotFound()
    supervisor = ident.has_role(*SUPERVISORS)
    held = (debtor.assigned_to, debtor.assigned_name, debtor.locked_until)
    domain_lists.check_can_record(held, ident.user_id, now, supervisor)
    rules = await repository_conduct.rules_of(uow, ident.tenant_id)
    decision = domain_promises.awaiting_promise(
        domain.decide_outcome(call.outcome, call.note, call.callback_at, now, rules), promised
    )
    phone = handlers_outcomes.phone_of(call.outcome, call.datum_id)
    promise = None
    if call.outcome is domain.Outcome.PROMESSA_PAGAMENTO:
        today = now.astimezone(domain.ROME).date()
        promise = domain_promises.check_promise(
            call.promise_amount, call.promise_due, today, rules.promise_days, debtor.total_due_cents
        )
    override = await _judge(uow, ident, debtor, rules, call.override_reason, now)
    await handlers_outcomes.check_phone(uow, ident, debtor_id, phone)
    callback_for = ident.user_id if call.callback_mine else None
    contact_id = await repository.record_outcome(
        uow,
        ident.tenant_id,
        debtor_id,
        ident.user_id,
        decision,
        now,
        override,
        callback_for,
        ident.display_name,
        call.attempt,
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
    events = [event.envelope(ident.tenant_id, uow.correlation_id)]
    if promise is not None:
        events.append(await _promise(uow, ident, debtor_id, contact_id, promise, now))
    events += await handlers_outcomes.side_effects(
        uow, ident, debtor_id, call.outcome, decision.note, contact_id, phone, now
    )
    await uow.publish(events)
    return contact_id


async def _judge(
    uow: UnitOfWork,
    ident: Identity,
    debtor: Any,
    rules: domain_conduct.ConductRules,
    reason: str,
    now: datetime,
) -> str | None:
    """The conduct rules (and the limitation: all owed time-barred) on this call: None when allowed; a supervisor's written reason (audited)
    when they refuse it; refused in Italian otherwise."""
    week_start = domain_conduct.day_bounds(now)[1]
    held = await repository_conduct.conversations_since(uow, ident.tenant_id, debtor.id, week_start)
    refused = domain.call_refusal(rules, now, held, debtor.do_not_call, debtor.barred_on)
    if refused is None:
        return None
    override = domain_conduct.check_override(refused, reason, ident.has_role(*SUPERVISORS))
    detail = f"{refused} Motivo: {override}"
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "conduct_override", debtor.id, detail)
    return override


async def _promise(
    uow: UnitOfWork,
    ident: Identity,
    debtor_id: uuid.UUID,
    contact_id: uuid.UUID,
    promise: domain_promises.Promise,
    now: datetime,
) -> Envelope:
    promise_id = await repository_promises.insert_promise(
        uow, ident.tenant_id, debtor_id, contact_id, ident.user_id, promise, now, ident.display_name
    )
    made = PromiseMade(
        promise_id=str(promise_id),
        debtor_id=str(debtor_id),
        contact_id=str(contact_id),
        amount_cents=promise.amount_cents,
        due_on=promise.due_on.isoformat(),
        operator=ident.user_id,
        made_at=now.isoformat(),
    )
    return made.envelope(ident.tenant_id, uow.correlation_id)


async def register_positions(uow: UnitOfWork, tenant_id: uuid.UUID, facts: Sequence[PositionFact]) -> int:
    """Put the registered positions' debtors in the work queue."""
    return await repository.register_positions(uow, tenant_id, facts)


async def take_back_payment(
    uow: UnitOfWork, tenant_id: uuid.UUID, fact: repository_reversals.TakenBack
) -> None:
    """A payment refunded by the Comune or revoked in a reporting flow is owed again: the debtor's
    total grows and, owing again, the debtor is back in the queue."""
    if await repository_reversals.take_back(uow, tenant_id, fact):
        await repository.refresh_totals(uow, tenant_id, [fact.debtor_id])


async def register_payment(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    payment: tuple[uuid.UUID, uuid.UUID, uuid.UUID],
    amount_cents: int,
    paid_on: date,
    promised: set[uuid.UUID] | None = None,
    interest_cents: int = 0,
) -> None:
    """What the debtor still owes goes down by what the payment paid of the debt (a plan's interest
    is owed on top of it; a debtor who paid in full leaves the queue), and the whole payment counts
    towards the debtor's open promises: those it completes are kept. `promised`: the debtors known
    to have open promises (a batch of payments asks once), None to look."""
    debt = amount_cents - interest_cents
    if not await repository.register_payment(uow, tenant_id, *payment, debt, paid_on):
        return
    debtor_id = payment[1]
    if promised is not None and debtor_id not in promised:
        return
    open_ = await repository_promises.open_promises(uow, tenant_id, debtor_id)
    applied = domain_promises.apply_payment(open_, amount_cents, paid_on)
    kept = await repository_promises.apply(uow, tenant_id, applied, paid_on)
    if not kept:
        return
    await repository_promises.back_to_queue(uow, tenant_id, [debtor_id])
    events = [
        PromiseKept(
            promise_id=str(row.id),
            debtor_id=str(row.debtor_id),
            amount_cents=row.amount_cents,
            paid_cents=row.paid_cents,
            kept_on=paid_on.isoformat(),
        ).envelope(tenant_id, uow.correlation_id)
        for row in kept
    ]
    await uow.publish(events)


async def debtors_with_open_promises(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    return await repository_promises.with_open(uow, tenant_id, debtor_ids)


async def run_daily(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> int:
    """The contact daily run of a Comune: cards left open before the day began back to the pool,
    broken promises, then every debtor's queue score for the new day (the nearness of the limitation
    date moves); how many promises broke."""
    day_began = datetime.combine(today, time(0), tzinfo=domain.ROME)
    await repository_lease.release_lapsed(uow, tenant_id, day_began)
    broken = await break_overdue_promises(uow, tenant_id, today)
    await repository_queue.refresh_scores(uow, tenant_id, None, today)
    return broken


async def break_overdue_promises(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> int:
    """The daily step: promises whose day has passed unpaid are broken (their debtors come back
    to the queue first); `PromiseBroken` for each."""
    broken = await repository_promises.break_overdue(uow, tenant_id, today)
    if broken:
        await repository_promises.back_to_queue(uow, tenant_id, sorted({r.debtor_id for r in broken}))
    events = [
        PromiseBroken(
            promise_id=str(row.id),
            debtor_id=str(row.debtor_id),
            amount_cents=row.amount_cents,
            paid_cents=row.paid_cents,
            due_on=row.due_on.isoformat(),
        ).envelope(tenant_id, uow.correlation_id)
        for row in broken
    ]
    await uow.publish(events)
    return len(broken)


async def keep_contacts(uow: UnitOfWork, tenant_id: uuid.UUID, records: Sequence[ContactRecord]) -> None:
    """Keep the contact data ingest registered or updated, for the debtor card; a debtor waiting
    for tracing who now has a working phone goes back to the queue."""
    await repository.upsert_contacts(uow, tenant_id, records)
    phoned = sorted({r.debtor_id for r in records if r.kind == "phone"})
    await repository_queue.refresh_best_phone(uow, tenant_id, phoned)
    traced = sorted({r.debtor_id for r in records if r.kind == "phone" and r.active})
    if traced:
        await repository_outcomes.traced_again(uow, tenant_id, traced)


async def register_message(
    uow: UnitOfWork, tenant_id: uuid.UUID, message_id: uuid.UUID, debtor_id: uuid.UUID, entry: dict[str, Any]
) -> None:
    """A message the payments service sent to the debtor joins the contact history."""
    if not await repository.record_message(uow, tenant_id, message_id, debtor_id, entry):
        log.warning("message %s for debtor %s not in the history: debtor unknown here", message_id, debtor_id)


async def queue_summary(uow: UnitOfWork, ident: Identity, now: datetime) -> dict[str, Any]:
    """The Comune's line on the operator's home: what waits, and whether calls are open now."""
    today = now.astimezone(domain.ROME).date()
    rules = await repository_conduct.rules_of(uow, ident.tenant_id)
    stored = await _list_of(uow, ident, now)
    work_list = stored.work_list if stored else None
    counts = await repository_promises.queue_summary(
        uow, ident.tenant_id, now, today, work_list, ident.user_id
    )
    return {**counts, "closed": domain_conduct.closed_notice(rules, now)}


async def _list_of(uow: UnitOfWork, ident: Identity, now: datetime) -> repository_lists.StoredList | None:
    """The operator's work list; an operator opening the Comune's queue is noted (`note_seen`)."""
    if ident.has_role("operator"):
        await repository_lists.note_seen(
            uow, ident.tenant_id, (ident.user_id, ident.display_name or None), now
        )
    return await repository_lists.list_of(uow, ident.tenant_id, ident.user_id)
