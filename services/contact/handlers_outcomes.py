"""What an outcome does beyond the call: a phone found wrong goes to ingest's tracing, a case
goes to the Ufficio tributi, a death stops the calls. Events, in the call's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.contact import repository, repository_outcomes, repository_queue
from services.contact.domain import WRONG_NUMBER, Outcome, Status
from services.contracts import (
    AlreadyPaidClaimed,
    ContactDatumInvalidated,
    DebtorDeceased,
    DisputeOpened,
    HardshipFlagged,
)
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity

CASES = {
    Outcome.CONTESTAZIONE: DisputeOpened,
    Outcome.GIA_PAGATO: AlreadyPaidClaimed,
    Outcome.DIFFICOLTA: HardshipFlagged,
    Outcome.DECEDUTO: DebtorDeceased,
}


def phone_of(outcome: Outcome, raw: str) -> uuid.UUID | None:
    """The phone a wrong-number outcome names (the card's choice); refused in Italian if missing."""
    if outcome not in WRONG_NUMBER:
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise DomainError("Indica quale numero era sbagliato.", field="datum_id") from None


async def check_phone(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, phone: uuid.UUID | None
) -> None:
    """The named phone is an active phone of the debtor, and is now marked wrong on the card."""
    if phone is None:
        return
    if not await repository_outcomes.invalidate_phone(uow, ident.tenant_id, debtor_id, phone):
        raise DomainError("Il numero indicato non è un telefono attivo del contribuente.", field="datum_id")
    await repository_queue.refresh_best_phone(uow, ident.tenant_id, [debtor_id])


async def side_effects(
    uow: UnitOfWork,
    ident: Identity,
    debtor_id: uuid.UUID,
    outcome: Outcome,
    note: str,
    contact_id: uuid.UUID,
    phone: uuid.UUID | None,
    now: datetime,
) -> list[Envelope]:
    """The events of the outcome beyond `OutcomeRecorded`, and the debtor's status where the
    outcome alone cannot tell it (a wrong number with another phone left stays in the queue)."""
    events: list[Envelope] = []
    case = CASES.get(outcome)
    if case is not None:
        opened = case(str(contact_id), str(debtor_id), note, ident.user_id, now.isoformat())
        events.append(opened.envelope(ident.tenant_id, uow.correlation_id))
    if phone is not None:
        invalid = ContactDatumInvalidated(
            str(phone), str(debtor_id), outcome.value, ident.user_id, now.isoformat()
        )
        events.append(invalid.envelope(ident.tenant_id, uow.correlation_id))
        if await repository_outcomes.has_active_phone(uow, ident.tenant_id, debtor_id):
            await repository_outcomes.set_status(uow, ident.tenant_id, debtor_id, Status.DA_LAVORARE)
    return events


async def mark_wrong(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, contact_id: uuid.UUID, now: datetime
) -> None:
    """An operator marks a contact datum on the card wrong, outside a call: deactivated here at once
    and, by `ContactDatumInvalidated`, in ingest (regraded, traced); a debtor left without a phone
    waits for tracing. Audited."""
    kind = await repository_outcomes.invalidate_datum(uow, ident.tenant_id, debtor_id, contact_id)
    if kind is None:
        raise NotFound("Recapito non trovato tra quelli attivi del contribuente.")
    if kind == "phone":
        await repository_queue.refresh_best_phone(uow, ident.tenant_id, [debtor_id])
        if not await repository_outcomes.has_active_phone(uow, ident.tenant_id, debtor_id):
            await repository_outcomes.set_status(uow, ident.tenant_id, debtor_id, Status.DA_RINTRACCIARE)
    invalid = ContactDatumInvalidated(
        str(contact_id), str(debtor_id), "segnalato_errato", ident.user_id, now.isoformat()
    )
    await uow.publish([invalid.envelope(ident.tenant_id, uow.correlation_id)])
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "mark_contact_wrong", debtor_id, kind)
