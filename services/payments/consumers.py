"""Event handlers of the payments service."""

from __future__ import annotations

import uuid

from services.contracts import ContactFact, ContactsRegistered, DebtorContactUpdated, PositionsRegistered
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.messaging import Consumer
from services.payments import handlers
from services.payments.repository_emails import EMAIL_KINDS, EmailRecord, keep_emails


async def on_positions_registered(uow: UnitOfWork, envelope: Envelope) -> None:
    """Open a balance for every newly registered position."""
    event = PositionsRegistered.from_envelope(envelope)
    await handlers.register_positions(uow, envelope.tenant_id, event.positions)


balances = Consumer(
    name="payments.balances",
    handlers={PositionsRegistered.routing_key(): on_positions_registered},
)


async def on_contacts_registered(uow: UnitOfWork, envelope: Envelope) -> None:
    """Keep the e-mail and PEC addresses a batch brought in."""
    event = ContactsRegistered.from_envelope(envelope)
    records = [_email(f) for f in event.contacts if f.kind in EMAIL_KINDS]
    await keep_emails(uow, envelope.tenant_id, records)


async def on_debtor_contact_updated(uow: UnitOfWork, envelope: Envelope) -> None:
    """An address added by tracing or by hand, or marked wrong (inactive) in ingest."""
    event = DebtorContactUpdated.from_envelope(envelope)
    if event.kind in EMAIL_KINDS:
        await keep_emails(uow, envelope.tenant_id, [_email(event)])


def _email(datum: ContactFact | DebtorContactUpdated) -> EmailRecord:
    try:
        contact_id, debtor_id = uuid.UUID(datum.contact_id), uuid.UUID(datum.debtor_id)
    except ValueError as exc:
        raise UndecodableMessage(f"bad contact datum: {exc}") from exc
    return EmailRecord(contact_id, debtor_id, datum.kind, datum.value.strip(), datum.active)


emails = Consumer(
    name="payments.emails",
    handlers={
        ContactsRegistered.routing_key(): on_contacts_registered,
        DebtorContactUpdated.routing_key(): on_debtor_contact_updated,
    },
)
