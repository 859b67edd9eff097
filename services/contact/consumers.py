"""Event handlers of the contact service."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from services.contact import handlers, handlers_answers, handlers_plans, handlers_search
from services.contact.domain import (
    CONTACT_KINDS,
    ROME,
    ContactRecord,
    parse_found_on,
)
from services.contact.domain_messages import message_note
from services.contact.domain_plans import lapse_note, plan_note, reamount_note
from services.contact.repository_reversals import TakenBack
from services.contracts import (
    CaseAnswered,
    ContactFact,
    ContactsRegistered,
    DebtorContactUpdated,
    LimitationInterrupted,
    NoticeIssued,
    NoticeSent,
    PaymentReceived,
    PaymentRefunded,
    PaymentRevoked,
    PaymentsReceived,
    PlanCreated,
    PlanLapsed,
    PlanReamounted,
    PositionsRegistered,
)
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.messaging import Consumer


async def on_positions_registered(uow: UnitOfWork, envelope: Envelope) -> None:
    """Put the registered positions' debtors in the work queue."""
    event = PositionsRegistered.from_envelope(envelope)
    await handlers.register_positions(uow, envelope.tenant_id, event.positions)


async def on_payment_received(uow: UnitOfWork, envelope: Envelope) -> None:
    """What the debtor still owes goes down; a debtor who paid in full leaves the queue."""
    event = PaymentReceived.from_envelope(envelope)
    try:
        payment = (uuid.UUID(event.payment_id), uuid.UUID(event.debtor_id), uuid.UUID(event.position_id))
        paid_on = date.fromisoformat(event.paid_on)
    except ValueError as exc:
        raise UndecodableMessage(f"bad payment event: {exc}") from exc
    await handlers.register_payment(
        uow, envelope.tenant_id, payment, event.amount_cents, paid_on, interest_cents=event.interest_cents
    )


async def on_payments_received(uow: UnitOfWork, envelope: Envelope) -> None:
    """The payments of a reconciliation import, each as a single payment."""
    event = PaymentsReceived.from_envelope(envelope)
    try:
        payments = [
            (
                (uuid.UUID(f.payment_id), uuid.UUID(f.debtor_id), uuid.UUID(f.position_id)),
                f.amount_cents,
                date.fromisoformat(f.paid_on),
                f.interest_cents,
            )
            for f in event.payments
        ]
    except ValueError as exc:
        raise UndecodableMessage(f"bad payment fact: {exc}") from exc
    promised = await handlers.debtors_with_open_promises(uow, envelope.tenant_id, [p[0][1] for p in payments])
    for payment, amount_cents, paid_on, interest in payments:
        await handlers.register_payment(
            uow, envelope.tenant_id, payment, amount_cents, paid_on, promised, interest_cents=interest
        )


async def on_payment_refunded(uow: UnitOfWork, envelope: Envelope) -> None:
    """The Comune gave back part of a payment: that amount is owed again."""
    event = PaymentRefunded.from_envelope(envelope)
    try:
        fact = TakenBack(
            "refund",
            uuid.UUID(event.refund_id),
            uuid.UUID(event.payment_id),
            uuid.UUID(event.debtor_id),
            uuid.UUID(event.position_id),
            event.amount_cents,
            date.fromisoformat(event.refunded_on),
        )
    except ValueError as exc:
        raise UndecodableMessage(f"bad refund event: {exc}") from exc
    await handlers.take_back_payment(uow, envelope.tenant_id, fact)


async def on_payment_revoked(uow: UnitOfWork, envelope: Envelope) -> None:
    """A reporting flow revoked a pagoPA payment: it is owed again (dated the event's day, Rome)."""
    event = PaymentRevoked.from_envelope(envelope)
    try:
        payment_id = uuid.UUID(event.payment_id)
        fact = TakenBack(
            "revocation",
            payment_id,
            payment_id,
            uuid.UUID(event.debtor_id),
            uuid.UUID(event.position_id),
            event.amount_cents,
            envelope.occurred_at.astimezone(ROME).date(),
        )
    except ValueError as exc:
        raise UndecodableMessage(f"bad revocation event: {exc}") from exc
    await handlers.take_back_payment(uow, envelope.tenant_id, fact)


async def on_notice_sent(uow: UnitOfWork, envelope: Envelope) -> None:
    """A message the payments service sent (or, in development, only kept) joins the debtor's history."""
    event = NoticeSent.from_envelope(envelope)
    try:
        message_id, debtor_id = uuid.UUID(event.message_id), uuid.UUID(event.debtor_id)
        sent_at = datetime.fromisoformat(event.sent_at)
    except ValueError as exc:
        raise UndecodableMessage(f"bad notice-sent event: {exc}") from exc
    if sent_at.tzinfo is None or event.channel not in ("email", "sms"):
        raise UndecodableMessage("notice-sent event: naive sent_at or unknown channel")
    entry = {
        "operator": event.sent_by,
        # The payments service's own messages (reminders) are the system's.
        "operator_name": event.sent_by_name or ("Sistema" if event.sent_by == "sistema" else None),
        "outcome": f"messaggio_{event.channel}",
        "note": message_note(event.kind, event.delivered, event.installment, event.recipient),
        "recorded_at": sent_at,
    }
    await handlers.register_message(uow, envelope.tenant_id, message_id, debtor_id, entry)


async def on_contacts_registered(uow: UnitOfWork, envelope: Envelope) -> None:
    """Keep the contact data a batch brought in, for the debtor card."""
    event = ContactsRegistered.from_envelope(envelope)
    records = [_record(f, f.found_on, f.confidence, f.active) for f in event.contacts]
    await handlers.keep_contacts(uow, envelope.tenant_id, records)


async def on_debtor_contact_updated(uow: UnitOfWork, envelope: Envelope) -> None:
    """A datum added by tracing or by hand, or marked wrong (inactive) in ingest."""
    event = DebtorContactUpdated.from_envelope(envelope)
    # Events from before their provenance was added carry neither date found nor confidence (""
    # and -1): the card then shows when the datum was received.
    confidence = None if event.confidence == -1 else event.confidence
    record = _record(event, event.found_on, confidence, event.active)
    await handlers.keep_contacts(uow, envelope.tenant_id, [record])


def _record(
    datum: ContactFact | DebtorContactUpdated, found_on: str, confidence: int | None, active: bool
) -> ContactRecord:
    """The contact service's copy of a datum; a malformed one is undecodable (dead-lettered at once)."""
    if confidence is not None and not 0 <= confidence <= 100:
        raise UndecodableMessage(f"confidence out of range: {confidence}")
    if datum.kind not in CONTACT_KINDS:
        raise UndecodableMessage(f"unknown contact kind {datum.kind!r}")
    try:
        return ContactRecord(
            contact_id=uuid.UUID(datum.contact_id),
            debtor_id=uuid.UUID(datum.debtor_id),
            kind=datum.kind,
            value=datum.value,
            source=datum.source,
            found_on=parse_found_on(found_on),
            confidence=confidence,
            active=active,
        )
    except ValueError as exc:
        raise UndecodableMessage(f"bad contact datum: {exc}") from exc


def _plan_ids(
    plan_id: str, debtor_id: str, position_ids: tuple[str, ...]
) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    try:
        return uuid.UUID(plan_id), uuid.UUID(debtor_id), [uuid.UUID(p) for p in position_ids]
    except ValueError as exc:
        raise UndecodableMessage(f"bad plan event: {exc}") from exc


async def on_plan_created(uow: UnitOfWork, envelope: Envelope) -> None:
    """A plan granted: its positions show it on the card, the history says so."""
    event = PlanCreated.from_envelope(envelope)
    try:
        first_due = date.fromisoformat(event.first_due_date)
    except ValueError as exc:
        raise UndecodableMessage(f"bad plan event: {exc}") from exc
    entry = {
        "operator": event.created_by,
        "operator_name": event.created_by_name or None,
        "outcome": "piano_creato",
        "note": plan_note(event.installments, event.amount_cents, first_due),
        "recorded_at": envelope.occurred_at,
    }
    plan = _plan_ids(event.plan_id, event.debtor_id, event.position_ids)
    await handlers_plans.register_plan(uow, envelope.tenant_id, plan, "active", entry)


async def on_plan_lapsed(uow: UnitOfWork, envelope: Envelope) -> None:
    """A plan lapsed: the residue is due at once; the card and the history say so."""
    event = PlanLapsed.from_envelope(envelope)
    entry = {
        "operator": "sistema",
        "outcome": "piano_decaduto",
        "note": lapse_note(event.residual_cents),
        "recorded_at": envelope.occurred_at,
    }
    plan = _plan_ids(event.plan_id, event.debtor_id, event.position_ids)
    await handlers_plans.register_plan(uow, envelope.tenant_id, plan, "lapsed", entry)


async def on_plan_reamounted(uow: UnitOfWork, envelope: Envelope) -> None:
    """An office's decision spread a plan again, or cancelled it: the history says so, and a
    cancelled plan no longer shows on the card."""
    event = PlanReamounted.from_envelope(envelope)
    try:
        plan_id, debtor_id = uuid.UUID(event.plan_id), uuid.UUID(event.debtor_id)
    except ValueError as exc:
        raise UndecodableMessage(f"bad plan event: {exc}") from exc
    cancelled = event.installments_after == 0
    entry = {
        "operator": "Ufficio tributi",
        "outcome": "piano_annullato" if cancelled else "piano_ricalcolato",
        "note": reamount_note(event.cut_cents, event.installments_after),
        "recorded_at": envelope.occurred_at,
    }
    # Once per decision, however often delivered: the entry's id is the decision's figures'.
    key = f"reamounted {event.position_id} {event.cut_cents} {event.installments_after}"
    await handlers_plans.plan_reamounted(uow, envelope.tenant_id, (plan_id, debtor_id), cancelled, key, entry)


async def on_case_answered(uow: UnitOfWork, envelope: Envelope) -> None:
    """The Ufficio tributi answered a case an operator sent it."""
    event = CaseAnswered.from_envelope(envelope)
    try:
        uuid.UUID(event.answer_id), uuid.UUID(event.debtor_id)
        [uuid.UUID(p) for p in event.position_ids]
        answered_at = datetime.fromisoformat(event.answered_at)
    except ValueError as exc:
        raise UndecodableMessage(f"bad case-answered event: {exc}") from exc
    if answered_at.tzinfo is None:
        raise UndecodableMessage("case-answered event: naive answered_at")
    await handlers_answers.office_answered(uow, envelope.tenant_id, event, answered_at)


async def on_notice_issued(uow: UnitOfWork, envelope: Envelope) -> None:
    """A pagoPA notice for the debtor: the operator's search finds them by its code."""
    event = NoticeIssued.from_envelope(envelope)
    try:
        debtor_id = uuid.UUID(event.debtor_id)
    except ValueError as exc:
        raise UndecodableMessage(f"bad notice event: {exc}") from exc
    await handlers_search.notice_issued(uow, envelope.tenant_id, event.iuv, event.nav, debtor_id)


async def on_limitation_interrupted(uow: UnitOfWork, envelope: Envelope) -> None:
    """The Ufficio tributi recorded (or took back) an act interrupting the debtor's limitation."""
    event = LimitationInterrupted.from_envelope(envelope)
    try:
        event.parsed()
        debtor_id = uuid.UUID(event.debtor_id)
    except ValueError as exc:
        raise UndecodableMessage(f"bad limitation-interrupted event: {exc}") from exc
    await handlers_answers.office_interrupted(uow, envelope.tenant_id, debtor_id, event, envelope.occurred_at)


queue_builder = Consumer(
    name="contact.queue_builder",
    handlers={
        PositionsRegistered.routing_key(): on_positions_registered,
        ContactsRegistered.routing_key(): on_contacts_registered,
        DebtorContactUpdated.routing_key(): on_debtor_contact_updated,
        PaymentReceived.routing_key(): on_payment_received,
        PaymentsReceived.routing_key(): on_payments_received,
        PaymentRefunded.routing_key(): on_payment_refunded,
        PaymentRevoked.routing_key(): on_payment_revoked,
        NoticeSent.routing_key(): on_notice_sent,
        NoticeIssued.routing_key(): on_notice_issued,
        PlanCreated.routing_key(): on_plan_created,
        PlanLapsed.routing_key(): on_plan_lapsed,
        PlanReamounted.routing_key(): on_plan_reamounted,
        CaseAnswered.routing_key(): on_case_answered,
        LimitationInterrupted.routing_key(): on_limitation_interrupted,
    },
    # A payment may race its debtor's positions: totals are recomputed from both, one at a time.
    serialize_per_tenant=True,
)
