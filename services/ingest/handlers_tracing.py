"""Use cases of debtors and their contacts: the debtor page, an operator's entries, a tracing
provider's file, the tracing queue and the cleaning report. One plain function each, run in the unit
of work of its entrypoint (which commits)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.contracts import DebtorContactUpdated
from services.ingest import repository, repository_cleaning, repository_tracing
from services.ingest.dates import today
from services.ingest.domain import UnreadableFile
from services.ingest.domain_tracing import manual_contact, read_tracing_file
from services.ingest.exports import CleaningReport
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.identity import Identity

EVENTS_PER_WRITE = 5_000
UNREACHABLE_LIMIT = 100_000


@dataclass(frozen=True)
class DebtorView:
    """A debtor with its contacts (active first) and its positions."""

    debtor: Any
    contacts: list[Any]
    positions: list[Any]
    # The contact an operator just added, as stored.
    added: Any = None


@dataclass(frozen=True)
class TracingState:
    """The debtors' grade counts and a page of the tracing queue (debtors without a usable phone)."""

    queue: list[Any]
    grades: dict[str, int]
    offset: int


@dataclass(frozen=True)
class TracingImport:
    """What a tracing file did: contacts added, the rows refused (line, Italian reason), its rows."""

    added: int
    errors: list[tuple[int, str]]
    rows: int


# ---------------------------------------------------------------- debtors


async def debtor_view(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> DebtorView:
    """A debtor of the Comune with its contacts and positions; NotFound otherwise."""
    debtor = await repository_tracing.get_debtor(uow, tenant_id, debtor_id)
    if debtor is None:
        raise NotFound("Debitore non trovato.")
    return DebtorView(
        debtor,
        await repository_tracing.debtor_contacts(uow, tenant_id, debtor_id),
        await repository_tracing.debtor_positions(uow, tenant_id, debtor_id),
    )


async def read_debtor(uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, action: str) -> DebtorView:
    """A debtor as a page or the API shows it, its reading recorded as `action`."""
    view = await debtor_view(uow, ident.tenant_id, debtor_id)
    await repository.access.record(uow, ident.tenant_id, ident.user_id, action, debtor_id)
    return view


# ---------------------------------------------------------------- contacts


async def _contact_changed(uow: UnitOfWork, tenant: uuid.UUID, debtor: Any, contact: Any) -> None:
    await _contacts_changed(uow, tenant, {debtor.id: debtor}, [contact])


async def _contacts_changed(
    uow: UnitOfWork, tenant: uuid.UUID, debtors: dict[uuid.UUID, Any], changed: list[Any]
) -> None:
    """Regrade the debtors of the changed contacts and tell the other services, one event per
    contact (with its debtor's grade and active phones after all the changes), in the caller's
    transaction; a few thousand events are built at a time (a tracing file may add 200,000)."""
    ids = list({c.debtor_id for c in changed})
    grades = await repository_cleaning.regrade_some(uow, tenant, ids)
    phones = await repository_tracing.active_phones_of(uow, tenant, ids)
    for start in range(0, len(changed), EVENTS_PER_WRITE):
        events = [
            DebtorContactUpdated(
                debtor_id=str(contact.debtor_id),
                fiscal_code=debtors[contact.debtor_id].fiscal_code,
                contact_id=str(contact.id),
                kind=contact.kind,
                value=contact.value,
                source=contact.source,
                active=contact.active,
                grade=grades[contact.debtor_id],
                active_phones=tuple(phones.get(contact.debtor_id, ())),
                found_on=contact.found_on.isoformat(),
                confidence=contact.confidence,
            ).envelope(tenant, uow.correlation_id)
            for contact in changed[start : start + EVENTS_PER_WRITE]
        ]
        await uow.publish(events)


async def add_contact(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, fields: Mapping[str, str]
) -> DebtorView:
    """An operator's manual entry (the form's `domain_tracing.MANUAL_FIELDS`), with its provenance;
    the debtor is regraded and the other services told."""
    entry = manual_contact(fields, today())
    debtor = await repository_tracing.get_debtor(uow, ident.tenant_id, debtor_id)
    if debtor is None:
        raise NotFound("Debitore non trovato.")
    contact = await repository_tracing.add_contact(
        uow,
        ident.tenant_id,
        debtor_id,
        entry.datum,
        entry.source,
        entry.found_on,
        ident.display_name,
        entry.confidence,
    )
    if contact is None:
        raise Conflict("Questo recapito è già registrato per il debitore (anche se segnalato errato).")
    await _contact_changed(uow, ident.tenant_id, debtor, contact)
    return replace(await debtor_view(uow, ident.tenant_id, debtor_id), added=contact)


async def mark_wrong(uow: UnitOfWork, ident: Identity, contact_id: uuid.UUID) -> DebtorView:
    """An operator marks a contact wrong: it is deactivated, its debtor regraded, the others told."""
    debtor_id = await _deactivate(uow, ident.tenant_id, contact_id, ident.display_name)
    if debtor_id is None:
        raise NotFound("Recapito non trovato o già disattivato.")
    return await debtor_view(uow, ident.tenant_id, debtor_id)


async def invalidate_by_call(
    uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID, operator: str
) -> bool:
    """A phone an operator found wrong in a call (the contact service's event): deactivated, its
    debtor regraded (into the tracing queue when no phone is left), the others told; False when
    it was already inactive (a repeated event changes nothing)."""
    return await _deactivate(uow, tenant_id, contact_id, f"operatore {operator} (telefonata)") is not None


async def _deactivate(
    uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID, by: str
) -> uuid.UUID | None:
    contact = await repository_tracing.deactivate_contact(uow, tenant_id, contact_id, by)
    if contact is None:
        return None
    debtor = await repository_tracing.get_debtor(uow, tenant_id, contact.debtor_id)
    await _contact_changed(uow, tenant_id, debtor, contact)
    debtor_id: uuid.UUID = contact.debtor_id
    return debtor_id


# ---------------------------------------------------------------- tracing


async def tracing_state(uow: UnitOfWork, ident: Identity, offset: int) -> TracingState:
    """The grade counts and a page of the tracing queue, whose reading is recorded (personal data)."""
    queue = await repository_tracing.tracing_queue(uow, ident.tenant_id, offset=offset)
    grades = await repository_tracing.grade_counts(uow, ident.tenant_id)
    detail = f"dalla posizione {offset + 1}" if offset else "prima pagina"
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_tracing_queue", None, detail)
    return TracingState(queue, grades, offset)


async def import_tracing(uow: UnitOfWork, ident: Identity, data: bytes) -> TracingImport:
    """A tracing provider's CSV: its contacts are added with their provenance, all or nothing.

    A file with any unusable row changes nothing and lists every such row, so the provider's file can
    be corrected and sent again as a whole (nothing is half-imported, nothing is imported twice).
    """
    try:
        traced = read_tracing_file(data, today())
    except UnreadableFile as exc:
        raise DomainError(exc.message, field="file") from exc
    errors = list(traced.errors)
    codes = [t.fiscal_code for _, t in traced.traced]
    known = await repository_tracing.debtors_by_fiscal_code(uow, ident.tenant_id, codes)
    for line, row in traced.traced:
        if row.fiscal_code not in known:
            errors.append((line, f"Contribuente {row.fiscal_code} non presente tra i debitori."))
    added = 0
    if not errors:
        new = [
            repository_tracing.NewContact(
                known[row.fiscal_code].id, datum, row.source, row.found_on, row.confidence
            )
            for _, row in traced.traced
            for datum in row.contacts
        ]
        inserted = await repository_tracing.add_contacts(uow, ident.tenant_id, ident.display_name, new)
        await _contacts_changed(uow, ident.tenant_id, {d.id: d for d in known.values()}, inserted)
        added = len(inserted)
    return TracingImport(added, sorted(errors), traced.rows)


async def cleaning_report(uow: UnitOfWork, ident: Identity, action: str) -> CleaningReport:
    """What the cleaning did for the Comune (corrected, traced, still unreachable), downloaded: `action`."""
    tid = ident.tenant_id
    queue = await repository_tracing.tracing_queue(uow, tid, limit=UNREACHABLE_LIMIT)
    report = CleaningReport(
        comune=ident.tenant_name,
        generated_on=today(),
        normalised_phones=await repository_tracing.normalised_phone_count(uow, tid),
        warnings=await repository_tracing.warning_counts(uow, tid),
        grades=await repository_tracing.grade_counts(uow, tid),
        contact_counts=await repository_tracing.contact_counts(uow, tid),
        traced=await repository_tracing.traced_contacts(uow, tid),
        unreachable=[d for d in queue if d.grade == "none"],
    )
    await repository.access.record(uow, tid, ident.user_id, action)
    return report
