"""Use case: a pagoPA receipt the reconciliation could not apply (`review_items`), booked on its
position by whoever checks it. Money that reached the Comune for a notice, less than the notice's
amount or on a notice no longer payable (replaced after a correction, or its debt paid another
way), is still the debtor's payment: it is recorded as a payment of the position the notice
belongs to (a plan's installments are paid in due order, the notices it changes replaced, as for a
payment recorded by hand: `handlers.record_payment`), tied to its receipt (a revocation in a later
flow takes it back, the flow's report marks it), and the item is resolved with the note. Refused
in Italian for the kinds that are not the debtor's payment of what is due (paid twice, more than
due, an unknown IUV, a c.803 charges notice) and when it exceeds what is still due."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from services.contracts import PaymentFact, PaymentsReceived
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.money import format_euro
from services.payments import handlers, repository
from services.payments import repository_reconciliation as repo
from services.payments.domain_reconciliation import BOOKABLE, check_review_note
from services.payments.models import payments

ROME = ZoneInfo("Europe/Rome")


async def book(uow: UnitOfWork, ident: Identity, item_id: uuid.UUID, note: object) -> dict[str, Any]:
    """Book the review item's receipt on its position and resolve the item (see the module)."""
    text = check_review_note(note)
    tenant = ident.tenant_id
    item = await repo.open_review(uow, tenant, item_id)
    if item is None:
        raise NotFound("Elemento da verificare non trovato o già risolto.")
    if item.kind not in BOOKABLE or item.position_id is None:
        raise DomainError(
            "Si registra sulla posizione solo un pagamento inferiore all'importo dell'avviso o di un "
            "avviso non più pagabile; questo va risolto con una nota (ad es. dopo un rimborso).",
            field="note",
        )
    receipt = await repo.receipt(uow, tenant, item.iuv, item.receipt_ref)
    if receipt is None or receipt.applied:
        raise Conflict("La ricevuta risulta già registrata: risolvi l'elemento con una nota.")
    values = {
        "amount_cents": item.amount_cents,
        "paid_on": receipt.paid_at.astimezone(ROME).date().isoformat(),
        "reason": f"Ricevuta pagoPA IUV {item.iuv}, n. {item.receipt_ref}",
    }
    position_id = uuid.UUID(item.position_id)
    recorded = await handlers.record_payment(uow, ident, position_id, values, announce=False)
    tied = {"receipt_id": receipt.id, "option_id": receipt.option_id, "source": receipt.source}
    await uow.execute(
        sa.update(payments)
        .where(payments.c.tenant_id == tenant, payments.c.id == uuid.UUID(recorded["payment_id"]))
        .values(**tied, state=receipt.state)
    )
    await repo.mark_receipts(uow, tenant, [receipt.id], {"applied": True})
    # Announced as the receipt's payment (its IUV and flow reach the portal and the debtor's file).
    fact = PaymentFact(
        payment_id=recorded["payment_id"],
        position_id=str(position_id),
        debtor_id=recorded["debtor_id"],
        amount_cents=recorded["amount_cents"],
        paid_on=recorded["paid_on"],
        source=receipt.source,
        iuv=item.iuv,
        receipt_ref=item.receipt_ref,
        flow_id=receipt.flow_id or "",
        settled=recorded["residual_cents"] <= 0,
        interest_cents=recorded["interest_cents"],
    )
    event = PaymentsReceived(batch_id=str(item_id), chunk=1, chunks=1, payments=(fact,))
    await uow.publish([event.envelope(tenant, uow.correlation_id)])
    resolved = f"Registrato sulla posizione ({format_euro(recorded['amount_cents'])}): {text}"
    await repo.resolve_review(uow, tenant, item_id, resolved, ident.user_id, ident.display_name)
    await repository.access.record(
        uow, tenant, ident.user_id, "book_review", item_id, f"{item.kind} {item.iuv}"
    )
    return {"id": str(item_id), "status": "resolved", "payment": recorded}


async def overview(uow: UnitOfWork, ident: Identity) -> dict[str, Any]:
    """The review queue and what waits for the other half of the pagoPA chain."""
    waiting = await repo.awaiting(uow, ident.tenant_id)
    resolved = await repo.resolved_reviews(uow, ident.tenant_id)
    return {"reviews": await repo.open_reviews(uow, ident.tenant_id), "resolved": resolved, **waiting}


async def open_reviews(uow: UnitOfWork, ident: Identity) -> list[dict[str, Any]]:
    return [
        {
            "id": str(r.id),
            "kind": r.kind,
            "iuv": r.iuv,
            "receipt_ref": r.receipt_ref,
            "amount_cents": r.amount_cents,
            "expected_cents": r.expected_cents,
            "source": r.source,
            "detail": r.detail,
            "position_id": r.position_id,
        }
        for r in await repo.open_reviews(uow, ident.tenant_id)
    ]


async def resolve(uow: UnitOfWork, ident: Identity, item_id: uuid.UUID, note: object) -> dict[str, Any]:
    """An operator closes a review item with a note; who and when are kept, and audited."""
    text = check_review_note(note)
    row = await repo.resolve_review(uow, ident.tenant_id, item_id, text, ident.user_id, ident.display_name)
    if row is None:
        raise NotFound("Elemento da verificare non trovato o già risolto.")
    await repository.access.record(
        uow, ident.tenant_id, ident.user_id, "resolve_review", row.id, f"{row.kind} {row.iuv}"
    )
    return {"id": str(row.id), "status": row.status, "note": row.note, "resolved_by": row.resolved_by}
